"""Typer commands: thin. Parse, build context, call one core function, render."""
