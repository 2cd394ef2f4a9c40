"""Embedded demo: procedural interactions, the shipped model and the demo orchestration."""
