"""quadlib.glmm: generalized linear mixed models fitted with quadlib's integrators.

Not built yet: the GLMM layer arrives with its own issue. Importing it works so that the package
layout (core below, statistics on top) is visible from the start.
"""
__all__ = []
