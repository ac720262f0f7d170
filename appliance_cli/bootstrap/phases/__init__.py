"""Bootstrap phases 0–5, one module each; the order is one literal list in the engine."""
