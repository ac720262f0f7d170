"""Day-2 release changes: ``appliance upgrade``, ``backup`` and ``restore`` (docs/upgrade.md)."""
