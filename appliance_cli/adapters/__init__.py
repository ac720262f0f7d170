"""Adapters: the only code that knows whether it faces the lab or a real machine.

talosctl, kubernetes (client, server-side apply, waits), flux, OCI registry, git.
"""
