"""Run the CLI with ``python -m nudge``."""

from nudge.cli import main

main()
