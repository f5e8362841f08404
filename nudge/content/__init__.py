"""Content of the campaign: proverbs, labour dynasties and contest winners."""

from __future__ import annotations
