"""Generators of tiny synthetic RAW datasets in each official raw format, for the tests:
``make_<dataset>(root, ...)`` writes the download layout under ``root`` and returns what a
correct preparation must yield. Motion is smooth and class-dependent, so it can be learnt."""
from .asb import make_asb
from .h2o import make_h2o
from .ntu import make_ntu
from .sbu import make_sbu

__all__ = ["make_asb", "make_h2o", "make_ntu", "make_sbu"]
