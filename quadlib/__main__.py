"""``python -m quadlib``: the same as the ``quadlib`` console script."""
import sys

from ._cli import main

sys.exit(main())
