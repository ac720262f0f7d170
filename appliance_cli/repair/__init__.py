"""`appliance repair`: from the top blocker to a safe, verified fix (see docs/repair.md)."""
