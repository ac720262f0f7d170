"""Alga PSA appliance CLI: install and watch a single-node Talos Linux appliance."""

__version__ = "0.1.0"
