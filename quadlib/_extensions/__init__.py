"""Compiled kernels (Cython). Private: the Python layer validates input before calling in here."""
