"""CLI commands for city datasets (``nudge load``, ``nudge info``)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
