"""The ``nudge`` command-line interface.

Every command that produces a result accepts ``--json`` and then prints exactly
one JSON object on stdout; messages and warnings go to stderr. Errors raised on
purpose by nudge end the command with exit code 2 and one readable message.
Imports end with 0 when every row is kept, 1 when some rows were refused and
2 when none was kept (`nudge.cli._common.import_exit_code`).

Each topic registers its commands from its own module. ``nudge <command>``
imports only the module of that command, so a command starts without loading
the whole library; ``nudge --help`` and ``nudge.cli.app`` have them all.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer

from nudge.cli._common import run_app

MODULES = (
    "_data",
    "_placement",
    "_plan",
    "_content",
    "_registry",
    "_evaluation",
    "_field",
    "_survey",
)
# The module that registers each top-level command (a test keeps this complete).
COMMANDS = {
    "load": "_data",
    "info": "_data",
    "datasets": "_data",
    "score": "_placement",
    "validate": "_placement",
    "plan": "_plan",
    "content": "_content",
    "rotate": "_content",
    "db": "_registry",
    "user": "_registry",
    "registry": "_registry",
    "report": "_registry",
    "evaluate": "_evaluation",
    "rollout": "_evaluation",
    "field": "_field",
    "survey": "_survey",
    "plans": "_survey",
}


def build_app(modules: Sequence[str] = MODULES) -> typer.Typer:
    """Return the CLI application with the commands of the given modules."""
    cli = typer.Typer(
        name="nudge",
        help="Plan banner and exhibition sites from OpenStreetMap, rotate content, "
        "log installations.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @cli.callback()
    def _root() -> None:
        """Plan sites from OpenStreetMap, rotate content, log installations."""

    for name in modules:
        importlib.import_module(f"nudge.cli.{name}").register(cli)
    return cli


def _modules_for(args: Sequence[str]) -> Sequence[str]:
    first = next((a for a in args if not a.startswith("-")), None)
    module = COMMANDS.get(first or "")
    return (module,) if module else MODULES


def main() -> None:
    """Run the CLI (entry point of the ``nudge`` script)."""
    run_app(build_app(_modules_for(sys.argv[1:])))


def __getattr__(name: str) -> Any:
    if name == "app":
        return build_app()
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = ["COMMANDS", "MODULES", "build_app", "main"]
