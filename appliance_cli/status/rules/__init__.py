"""Blocker rules: one small function per blocker code."""
