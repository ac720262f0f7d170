"""Bootstrap: the phase engine, the journal, one module per phase."""
