"""Shared library of the ModelZoo inference bundle: everything not specific to one model."""
