"""Campaign options the Admin page edits, kept in ``<data_dir>/content/campaign.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from nudge._errors import InputFileError
from nudge.settings import Settings

DEFAULT_FLIGHT_WEEKS = 4


DEFAULT_EXCLUSION_BUFFER_M = 50.0


@dataclass(frozen=True, slots=True)
class CampaignOptions:
    """The campaign options the Admin page edits.

    ``require_russian`` is the content rule of `nudge.content.campaign`; the
    flight length and exclusion buffer are the defaults of the Content and
    Plan pages. All three live in ``<data_dir>/content/campaign.toml``, next to
    any other overrides of the campaign file, which are kept.
    """

    require_russian: bool = False
    flight_weeks: int = DEFAULT_FLIGHT_WEEKS
    exclusion_buffer_m: float = DEFAULT_EXCLUSION_BUFFER_M


def campaign_file(settings: Settings) -> Path:
    """Return the path of the campaign overrides of a data folder."""
    return settings.data_dir / "content" / "campaign.toml"


def _read_overrides(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"The campaign settings file {path} is not valid TOML: {exc}."
        raise InputFileError(
            msg, code="campaign_settings_invalid", path=str(path), reason=str(exc)
        ) from None


def campaign_options(settings: Settings) -> CampaignOptions:
    """Read the campaign options of a data folder (defaults when the file is missing)."""
    from nudge.content.campaign import campaign_for_settings

    raw = _read_overrides(campaign_file(settings))
    return CampaignOptions(
        require_russian=campaign_for_settings(settings).require_russian,
        flight_weeks=int(raw.get("rotation", {}).get("flight_weeks", DEFAULT_FLIGHT_WEEKS)),
        exclusion_buffer_m=float(
            raw.get("placement", {}).get("exclusion_buffer_m", DEFAULT_EXCLUSION_BUFFER_M)
        ),
    )


def save_campaign_options(settings: Settings, options: CampaignOptions) -> Path:
    """Write the campaign options, keeping every other override in the file.

    Raises
    ------
    InputFileError
        When the flight length is not 1–52 weeks or the buffer not 0–1000 m.
    """
    if not 1 <= options.flight_weeks <= 52 or not 0 <= options.exclusion_buffer_m <= 1000:
        weeks, buffer = options.flight_weeks, f"{options.exclusion_buffer_m:g}"
        msg = (
            f"A flight lasts 1–52 weeks (got {weeks}) and the exclusion buffer "
            f"is 0–1000 m (got {buffer})."
        )
        raise InputFileError(msg, code="campaign_options_out_of_range", weeks=weeks, buffer=buffer)
    path = campaign_file(settings)
    data = _read_overrides(path)
    data.setdefault("language", {})["require_russian"] = bool(options.require_russian)
    data.setdefault("rotation", {})["flight_weeks"] = int(options.flight_weeks)
    data.setdefault("placement", {})["exclusion_buffer_m"] = float(options.exclusion_buffer_m)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(path)
    return path
