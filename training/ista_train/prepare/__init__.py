"""`ista-train prepare <dataset>`: raw datasets -> the official pipeline's prepared files.

Each preparer module exposes ``add_arguments(parser)`` and ``prepare(args)``; it is imported
only when the ``prepare`` sub-command is built, and its heavy imports (torch) stay inside
``prepare``. User-fixable problems raise :class:`PrepareError` (one sentence naming the file).
"""
from __future__ import annotations

import argparse
import importlib

from .common import PrepareError

PREPARERS = {
    "ntu120": "ista_train.prepare.ntu",
    "sbu": "ista_train.prepare.sbu",
    "h2o": "ista_train.prepare.h2o",
    "asb": "ista_train.prepare.asb",
    "interactions": "ista_train.prepare.interactions",
    "bags": "ista_train.prepare.bags",
}

__all__ = ["PREPARERS", "PrepareError", "add_prepare_parser", "load_preparer"]


def load_preparer(name: str):
    """The preparer module registered under ``name``."""
    return importlib.import_module(PREPARERS[name])


def add_prepare_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``prepare`` with one sub-parser per dataset; each sets ``func=<module>.prepare``."""
    parser = subparsers.add_parser(
        "prepare", help="convert a raw dataset into prepared files",
        description="Convert a raw dataset into the files the official ISTA-Net pipeline reads.")
    datasets = parser.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    for name, module_path in PREPARERS.items():
        try:
            module = importlib.import_module(module_path)
        except ModuleNotFoundError as exc:
            if exc.name != module_path:  # a broken dependency is a real error
                raise
            continue  # a preparer not written yet is simply not offered
        doc = (module.__doc__ or name).strip().splitlines()[0]
        sub = datasets.add_parser(name, help=doc, description=doc)
        module.add_arguments(sub)
        sub.set_defaults(func=module.prepare)
    return parser
