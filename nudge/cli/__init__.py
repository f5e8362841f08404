"""The ``nudge`` command-line interface.

Every command that produces a result accepts ``--json`` and then prints exactly
one JSON object on stdout; messages and warnings go to stderr. Errors raised on
purpose by nudge end the command with exit code 2 and one readable message.
"""

from __future__ import annotations

import typer

from nudge.cli import _content, _data, _placement, _plan, _registry
from nudge.cli._common import run_app

app = typer.Typer(
    name="nudge",
    help="Plan banner and exhibition sites from OpenStreetMap, rotate content, log installations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (_data, _placement, _plan, _content, _registry):
    _module.register(app)


def main() -> None:
    """Run the CLI (entry point of the ``nudge`` script)."""
    run_app(app)


__all__ = ["app", "main"]
