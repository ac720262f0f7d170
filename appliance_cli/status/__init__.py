"""Status: canonical model, snapshot collector, readiness and blocker rules, rollup, render."""
