"""Campaign settings of the content: language rule, duplicate threshold, formats.

The defaults ship in ``nudge/content/data/campaign.toml``; a user file with the
same layout overrides any value. The settings are one frozen object that
callers pass explicitly.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from nudge._errors import InputFileError, ProfileError
from nudge.settings import Settings


@dataclass(frozen=True, slots=True)
class TextFormat:
    """A display format (banner, city-light, exhibition caption) and its text limits."""

    key: str
    label: str
    site_kinds: tuple[str, ...]
    item_kinds: tuple[str, ...]
    max_words: int
    max_chars: int


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    """Settings of one campaign's content checks.

    Attributes
    ----------
    require_russian
        Whether every entry needs a Russian text next to the Kazakh one.
    near_duplicate_threshold
        Trigram cosine similarity from which two texts are near duplicates.
    formats
        Formats by key, in the order of the file.
    """

    require_russian: bool
    near_duplicate_threshold: float
    formats: dict[str, TextFormat]

    def format_for_site_kind(self, site_kind: str) -> TextFormat | None:
        """Return the default format of a plan's site kind (None when no format lists it)."""
        for fmt in self.formats.values():
            if site_kind in fmt.site_kinds:
                return fmt
        return None

    def formats_for_item_kind(self, item_kind: str) -> list[TextFormat]:
        """Return the formats an entry of `item_kind` may go on."""
        return [f for f in self.formats.values() if item_kind in f.item_kinds]


def default_campaign_path() -> Path:
    """Return the path of the shipped default campaign settings."""
    return Path(str(resources.files("nudge.content").joinpath("data/campaign.toml")))


def campaign_from_file(path: Path | str | None = None) -> CampaignSettings:
    """Read the campaign settings: the shipped defaults, overridden by `path` if given.

    Parameters
    ----------
    path
        A user TOML file with any of the keys of the default file. A missing
        file is an error; pass None for the defaults alone.

    Returns
    -------
    CampaignSettings
    """
    data = _read_toml(default_campaign_path())
    if path is not None:
        data = _merge(data, _read_toml(Path(path)))
    return campaign_from_mapping(data)


def campaign_for_settings(settings: Settings, path: Path | str | None = None) -> CampaignSettings:
    """Read the campaign settings of a data folder.

    `path` wins when given; otherwise ``<data_dir>/content/campaign.toml``
    overrides the defaults when it exists.
    """
    if path is None:
        user = settings.data_dir / "content" / "campaign.toml"
        path = user if user.is_file() else None
    return campaign_from_file(path)


def campaign_from_mapping(data: Mapping[str, Any]) -> CampaignSettings:
    """Build the campaign settings from a parsed mapping (the layout of ``campaign.toml``)."""
    where: list[str] = []  # the settings keys at fault, for the translated message
    formats = {}
    for key, raw in dict(data.get("formats", {})).items():
        try:
            formats[key] = TextFormat(
                key=key,
                label=str(raw.get("label", key)),
                site_kinds=tuple(raw.get("site_kinds", ())),
                item_kinds=tuple(raw.get("item_kinds", ())),
                max_words=int(raw["max_words"]),
                max_chars=int(raw["max_chars"]),
            )
        except (KeyError, TypeError, ValueError):
            where.append(f"formats.{key}")
            continue
        if formats[key].max_words < 1 or formats[key].max_chars < 1:
            where.append(f"formats.{key}")
    threshold = float(dict(data.get("duplicates", {})).get("near_threshold", 0.85))
    if not 0 < threshold <= 1:
        where.append("duplicates.near_threshold")
    if not formats:
        where.append("formats")
    if where:
        raise ProfileError(code="content_campaign_invalid", where=", ".join(where))
    language = dict(data.get("language", {}))
    return CampaignSettings(
        require_russian=bool(language.get("require_russian", False)),
        near_duplicate_threshold=threshold,
        formats=formats,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(code="content_settings_missing", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(
            code="content_settings_bad_toml", path=str(path), reason=str(exc)
        ) from None


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
