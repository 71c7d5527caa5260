"""Nebula: the Python SDK for StellarStream."""

__version__ = "0.1.0"
