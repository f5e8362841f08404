"""Scoring profiles: signal weights per placement kind, from a readable TOML file.

The shipped file is ``nudge/placement/data/profiles.toml``. A user file may
override any part of it: the weights of one profile (``[profiles.banner]
weights = {...}`` or just a top-level ``[weights]`` table), the decay, or the
category weights inside a signal.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from nudge._errors import ProfileError
from nudge.placement._options import KINDS

SIGNALS = (
    "transit_service",
    "built_intensity",
    "destinations",
    "poi_gravity",
    "transit_access",
    "centrality",
    "road_class",
    "dwell",
    "land_use_mix",
)
DECAY_FUNCTIONS = ("exponential", "gaussian")


@dataclass(frozen=True)
class Profile:
    """Everything that turns signals into a score for one kind of site."""

    name: str
    weights: dict[str, float]
    description: str = ""
    decay: str = "exponential"
    scale_m: float = 400.0
    cutoff_m: float = 1200.0
    centrality_cutoff_m: float = 800.0
    poi_categories: dict[str, float] = field(default_factory=dict)
    transit_categories: dict[str, float] = field(default_factory=dict)
    dwell_categories: dict[str, float] = field(default_factory=dict)
    road_class: dict[str, float] = field(default_factory=dict)
    near_scale_m: float = 400.0
    near_cutoff_m: float = 1200.0
    transit_radius_m: float = 50.0
    transit_min_coverage: float = 0.5
    transit_modes: dict[str, float] = field(default_factory=dict)
    destination_categories: dict[str, float] = field(default_factory=dict)

    def near(self) -> Profile:
        """Return this profile with the near reach as its decay (built intensity, destinations)."""
        return replace(self, scale_m=self.near_scale_m, cutoff_m=self.near_cutoff_m)

    def with_weights(self, weights: Mapping[str, float]) -> Profile:
        """Return a copy with some weights changed (for sliders and calibration)."""
        merged = {**self.weights, **{k: float(v) for k, v in weights.items()}}
        _check_weights(merged, where=f"profile {self.name!r}")
        return replace(self, weights=merged)

    def as_toml(self) -> str:
        """Return the profile as a TOML text that `profile_from_file` reads back."""
        lines = [
            f"# nudge scoring profile {self.name!r}",
            "[decay]",
            f'function = "{self.decay}"',
            f"scale_m = {self.scale_m}",
            f"cutoff_m = {self.cutoff_m}",
            "",
            f"[profiles.{self.name}]",
            f"description = {_quote(self.description)}",
            "weights = { "
            + ", ".join(f"{k} = {round(v, 6)}" for k, v in self.weights.items())
            + " }",
        ]
        return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_SHIPPED = "the shipped profiles"


def _source(where: str) -> str:
    """Return `where` as a file name for a translated message (the shipped profiles by theirs)."""
    return "nudge/placement/data/profiles.toml" if where == _SHIPPED else where


def _check_weights(weights: Mapping[str, Any], *, where: str) -> None:
    unknown = sorted(map(str, set(weights) - set(SIGNALS)))
    if unknown:
        raise ProfileError(
            code="profile_unknown_signals",
            source=_source(where),
            unknown=", ".join(unknown),
            signals=", ".join(SIGNALS),
        )
    bad = {
        k: v
        for k, v in weights.items()
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v) or v < 0
    }
    if bad:
        raise ProfileError(
            code="profile_weights_invalid",
            source=_source(where),
            weights=", ".join(f"{k} = {v!r}" for k, v in bad.items()),
        )
    if sum(weights.values()) <= 0:
        raise ProfileError(code="profile_weights_all_zero", source=_source(where))


@cache
def _shipped() -> dict[str, Any]:
    text = resources.files("nudge.placement").joinpath("data/profiles.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _build(raw: Mapping[str, Any], kind: str, *, where: str) -> Profile:
    if kind not in KINDS:
        raise ProfileError(code="profile_unknown_kind", kind=kind, kinds=", ".join(KINDS))
    section = raw.get("profiles", {}).get(kind, {})
    weights = {
        k: float(v) if isinstance(v, int | float) else v for k, v in section["weights"].items()
    }
    weights = {**dict.fromkeys(SIGNALS, 0.0), **weights}
    _check_weights(weights, where=where)
    decay = raw.get("decay", {})
    function = decay.get("function", "exponential")
    if function not in DECAY_FUNCTIONS:
        raise ProfileError(
            code="profile_unknown_decay",
            source=_source(where),
            function=str(function),
            functions=", ".join(DECAY_FUNCTIONS),
        )
    scale, cutoff = float(decay.get("scale_m", 400)), float(decay.get("cutoff_m", 1200))
    if not 0 < scale <= cutoff:
        raise ProfileError(
            code="profile_decay_scale", source=_source(where), scale=scale, cutoff=cutoff
        )
    near = raw.get("near", {})
    transit = raw.get("transit_service", {})
    return Profile(
        name=kind,
        weights=weights,
        description=str(section.get("description", "")),
        decay=function,
        scale_m=scale,
        cutoff_m=cutoff,
        centrality_cutoff_m=float(raw.get("centrality", {}).get("cutoff_m", 800)),
        poi_categories=dict(raw.get("poi_categories", {})),
        transit_categories=dict(raw.get("transit_categories", {})),
        dwell_categories=dict(raw.get("dwell_categories", {})),
        road_class=dict(raw.get("road_class", {})),
        near_scale_m=float(near.get("scale_m", 400)),
        near_cutoff_m=float(near.get("cutoff_m", 1200)),
        transit_radius_m=float(transit.get("radius_m", 50)),
        transit_min_coverage=float(transit.get("min_coverage", 0.5)),
        transit_modes=dict(transit.get("modes", {})),
        destination_categories=dict(raw.get("destination_categories", {})),
    )


def load_profile(kind: str) -> Profile:
    """Return the shipped profile for `kind` (``banner``, ``exhibition`` or ``career``)."""
    return _build(_shipped(), kind, where=_SHIPPED)


def profile_from_file(path: str | Path, kind: str) -> Profile:
    """Return the profile for `kind`, with the overrides in a user TOML file applied.

    Raises
    ------
    ProfileError
        When the file cannot be read, names unknown signals or has negative weights.
    """
    path = Path(path)
    try:
        over = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(code="profile_file_unreadable", file=str(path), reason=str(exc)) from exc
    if "weights" in over:  # a bare [weights] table applies to the kind asked for
        over = {**over, "profiles": {kind: {"weights": over.pop("weights")}}}
    for name, section in over.get("profiles", {}).items():
        _check_weights(section.get("weights", {}), where=f"{path} [profiles.{name}]")
    raw = _merge(_shipped(), over)
    return _build(raw, kind, where=str(path))
