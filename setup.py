"""Build the compiled kernels under quadlib/_extensions with Cython and numpy's C API."""
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        f"quadlib._extensions.{path.stem}",
        [str(path)],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for path in sorted(Path("quadlib/_extensions").glob("*.pyx"))
]

setup(ext_modules=cythonize(extensions, language_level=3))
