"""Suitability of each content entry for each planned site, with reasons.

The rules live in ``nudge/content/data/matching.toml``: each counts dataset
features of some categories around a site and favours entries with some
themes, kinds or fields (a railway dynasty near the station). `match_content`
returns a `MatchResult` with the site x entry suitability, which entries each
site may show at all (format, status, consent) and `MatchResult.explain`, the
reasons the app shows.

Distances are measured in the plan's UTM zone, with a KD-tree per rule.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from nudge._errors import InputFileError, Notice, ProfileError
from nudge.content.campaign import CampaignSettings, TextFormat
from nudge.content.library import ContentLibrary, shipped_data_path
from nudge.i18n import notice_text


@dataclass(frozen=True, slots=True)
class MatchRule:
    """One rule: features around a site that favour some entries."""

    key: str
    reason: str
    categories: tuple[str, ...]
    reason_ru: str = ""
    reason_kk: str = ""
    subcategories: tuple[str, ...] = ()
    saturation: float = 1.0
    weight: float = 1.0
    themes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    short_text: bool = False
    short_words: int = 12


@dataclass(frozen=True, slots=True)
class MatchRules:
    """All matching rules, the search radius and the home bonus of people entries."""

    radius_m: float
    rules: tuple[MatchRule, ...]
    city_weight: float = 2.0
    region_weight: float = 1.0
    reason_city: str = "the family or winner comes from this city"
    reason_region: str = "the family or winner comes from this region"
    aliases: dict[str, str] | None = None
    home_reasons: dict[str, str] | None = None
    """Home reasons in other languages: ``city_ru``, ``city_kk``, ``region_ru``, ``region_kk``."""

    def home_reason(self, where: str, lang: str = "en") -> str:
        """Return the home reason (`where` is ``city`` or ``region``) in `lang`, else English."""
        english = self.reason_city if where == "city" else self.reason_region
        return (self.home_reasons or {}).get(f"{where}_{lang}") or english

    def place_key(self, name: object) -> str:
        """Return the comparable form of a city or region name (aliases resolved)."""
        if name is None or (isinstance(name, float) and np.isnan(name)):
            return ""
        text = " ".join(str(name).lower().replace("ё", "е").split())
        return (self.aliases or {}).get(text, text)


def rules_from_file(path: Path | str | None = None) -> MatchRules:
    """Read the matching rules from a TOML file (default the shipped ``matching.toml``)."""
    path = Path(path) if path is not None else shipped_data_path("matching.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, tomllib.TOMLDecodeError) as exc:
        raise InputFileError(
            code="content_rules_unreadable", path=str(path), reason=str(exc)
        ) from None
    return rules_from_mapping(data)


def rules_from_mapping(data: Mapping[str, Any]) -> MatchRules:
    """Build the matching rules from a parsed mapping (the layout of ``matching.toml``)."""
    known = set(MatchRule.__dataclass_fields__)
    rules, bad = [], []
    for raw in data.get("rule", []):
        unknown = set(raw) - known
        if unknown or "key" not in raw or not raw.get("categories"):
            bad.append(str(raw.get("key", "?")))
            continue
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        values.setdefault("reason", values["key"])
        rules.append(MatchRule(**values))
        if rules[-1].saturation <= 0 or rules[-1].weight < 0:
            bad.append(str(raw["key"]))
    if bad:
        raise ProfileError(code="content_rules_invalid", rules=", ".join(bad))
    home = dict(data.get("home", {}))
    aliases = {a.lower(): group[0].lower() for group in home.get("aliases", []) for a in group}
    return MatchRules(
        radius_m=float(data.get("radius_m", 400)),
        rules=tuple(rules),
        city_weight=float(home.get("city_weight", 2.0)),
        region_weight=float(home.get("region_weight", 1.0)),
        reason_city=str(home.get("reason_city", "from this city")),
        reason_region=str(home.get("reason_region", "from this region")),
        aliases=aliases,
        home_reasons={
            f"{where}_{lang}": str(home[f"reason_{where}_{lang}"])
            for where in ("city", "region")
            for lang in ("ru", "kk")
            if f"reason_{where}_{lang}" in home
        },
    )


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Suitability of every entry at every site, and which entries each site may show.

    Attributes
    ----------
    scores
        Site x entry suitability (index ``site_id``, columns entry ids), >= 0.
    eligible
        Site x entry: whether the entry may be placed there at all (usable
        entry, the site's format takes it and its text fits).
    site_format
        The format key of each site (None when no format takes its kind).
    counts
        Site x rule: features of the rule within the radius.
    strengths
        Site x rule: count / saturation capped at 1.
    item_match
        Rule x entry: how much the entry meets the rule (0 to 1).
    home
        Site x entry: home bonus of dynasties and winners.
    items
        The entry table (`ContentLibrary.frame`) indexed by id.
    unusable
        Entry id -> why it is never placed (retired, no consent, example).
    not_fitting
        (format, entry id) -> why the entry's text does not fit the format.
    rules
        The rules used.
    """

    scores: pd.DataFrame
    eligible: pd.DataFrame
    site_format: pd.Series
    counts: pd.DataFrame
    strengths: pd.DataFrame
    item_match: pd.DataFrame
    home: pd.DataFrame
    items: pd.DataFrame
    unusable: dict[str, str]
    not_fitting: dict[tuple[str, str], str]
    rules: MatchRules

    def explain(self, site_id: str, item_id: str, lang: str = "en") -> list[str]:
        """Return why `item_id` suits (or may not go to) `site_id`, one reason a line.

        The rules' reasons are in `lang` where the rules file has them; the
        other lines are `Notice` texts (`nudge.i18n.notice_text` says them in
        any language).
        """
        if item_id in self.unusable:
            why = self.unusable[item_id]
            return [Notice(code="match_never_placed", reason=why)]
        fmt = self.site_format.get(site_id)
        if fmt is None:
            return [Notice(code="match_no_format")]
        if (fmt, item_id) in self.not_fitting:
            why = self.not_fitting[(fmt, item_id)]
            return [Notice(code="match_not_on_format", format=fmt, reason=why)]
        strengths = self.strengths.loc[site_id].to_numpy(dtype=float)
        counts = self.counts.loc[site_id].to_numpy(dtype=float)
        matches = self.item_match[item_id].to_numpy(dtype=float)
        out = []
        for k, rule in enumerate(self.rules.rules):
            gain = rule.weight * strengths[k] * matches[k]
            if gain > 0:
                template = {"ru": rule.reason_ru, "kk": rule.reason_kk}.get(lang) or rule.reason
                text = template.format(count=int(counts[k]), radius=int(self.rules.radius_m))
                out.append(f"{text} (+{gain:.2f})")
        home = float(self.home.loc[[site_id], [item_id]].to_numpy()[0, 0])
        if home >= self.rules.city_weight > 0:
            out.append(f"{self.rules.home_reason('city', lang)} (+{home:.2f})")
        elif home > 0:
            out.append(f"{self.rules.home_reason('region', lang)} (+{home:.2f})")
        return out or [Notice(code="match_no_reason")]

    def best_items(self, site_id: str, *, n: int = 5, lang: str = "en") -> pd.DataFrame:
        """Return the `n` most suitable placeable entries of a site, with reasons in `lang`."""
        scores = self.scores.loc[site_id].to_numpy(dtype=float)
        ok = self.eligible.loc[site_id].to_numpy(dtype=bool)
        ids = np.asarray(self.scores.columns, dtype=object)
        order = np.argsort(-np.where(ok, scores, -np.inf), kind="stable")[: int(ok.sum())][:n]
        return pd.DataFrame(
            {
                "item_id": ids[order],
                "score": scores[order],
                "reasons": [
                    "; ".join(notice_text(r, lang) for r in self.explain(site_id, i, lang))
                    for i in ids[order]
                ],
            }
        )


def _items_table(items: ContentLibrary | pd.DataFrame) -> pd.DataFrame:
    frame = items.frame() if isinstance(items, ContentLibrary) else items.copy()
    if frame["id"].duplicated().any():
        dups = sorted(frame.loc[frame["id"].duplicated(), "id"].unique())
        ids = ", ".join(dups[:10])
        raise ProfileError(code="content_ids_duplicated", ids=ids)
    return frame.set_index("id", drop=False)


def unusable_items(items: pd.DataFrame, *, include_examples: bool = False) -> dict[str, str]:
    """Return entry id -> why it is never placed (retired, no consent, example)."""
    out: dict[str, str] = {}
    for ident, status, consent, example in zip(
        items["id"], items["status"], items["consent"], items["is_example"], strict=True
    ):
        if status != "active":
            out[ident] = Notice(code="match_status", status=status)
        elif not consent:
            out[ident] = Notice(code="match_no_consent")
        elif example and not include_examples:
            out[ident] = Notice(code="match_example")
    return out


def _format_fit(
    items: pd.DataFrame, fmt: TextFormat, *, bilingual: bool
) -> tuple[np.ndarray, dict[str, str]]:
    """Return which entries fit `fmt`, and why the others do not.

    Only the Kazakh text is measured, and the Russian text too on a `bilingual` campaign.
    """
    fits = items["kind"].isin(fmt.item_kinds).to_numpy().copy()
    why: dict[str, str] = {}
    for ident, kind in zip(items["id"], items["kind"], strict=True):
        if kind not in fmt.item_kinds:
            why[ident] = Notice(code="match_kind_not_taken", format=fmt.label, kind=kind)
    limits = {"max_words": fmt.max_words, "max_chars": fmt.max_chars}
    for column in ("text_kk", "text_ru") if bilingual else ("text_kk",):
        text = items[column].fillna("").astype(str).str.split().str.join(" ")
        words = text.str.count(r"\S+").to_numpy()
        chars = text.str.len().to_numpy()
        long = (words > fmt.max_words) | (chars > fmt.max_chars)
        for ident, w, c in zip(items["id"][long], words[long], chars[long], strict=True):
            counts = {"column": column, "words": int(w), "chars": int(c)}
            why.setdefault(ident, Notice(code="match_text_too_long", **counts, **limits))
        fits &= ~long
    return fits, why


def _site_formats(plan: pd.DataFrame, campaign: CampaignSettings) -> pd.Series:
    by_kind: dict[str, str | None] = {}
    for kind in plan["kind"].astype(str).unique():
        fmt = campaign.format_for_site_kind(kind)
        by_kind[kind] = fmt.key if fmt is not None else None
    formats = pd.Series(
        [by_kind[k] for k in plan["kind"].astype(str)],
        index=plan.index,
        dtype=object,
    )
    if "format" in plan.columns:
        given = plan["format"].where(plan["format"].isin(list(campaign.formats)))
        formats = given.astype(object).where(given.notna(), formats)
    return formats


def _rule_matches(items: pd.DataFrame, rules: Sequence[MatchRule]) -> pd.DataFrame:
    """Return rule x entry: 1 when the entry meets the rule, graded for short-text rules."""
    themes = items["themes"].map(lambda t: set(t or ()))
    out = {}
    for rule in rules:
        ok = np.ones(len(items), dtype=float)
        if rule.themes:
            ok *= themes.map(lambda t, r=rule: bool(t & set(r.themes))).to_numpy()
        if rule.kinds:
            ok *= items["kind"].isin(rule.kinds).to_numpy()
        if rule.fields:
            text = items["field_text"].fillna("").astype(str).str.lower()
            found = np.zeros(len(items), dtype=bool)
            for word in rule.fields:
                found |= text.str.contains(word.lower(), regex=False).to_numpy()
            ok *= found
        if rule.short_text:
            words = items["words"].to_numpy(dtype=float)
            ok *= np.clip(1.0 - (words - 1.0) / max(rule.short_words - 1, 1), 0.0, 1.0)
        out[rule.key] = ok
    return pd.DataFrame(out, index=items.index).T


def site_points(plan: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    """Return the sites' representative points as an (n, 2) array in `crs`."""
    geoms = plan.geometry.to_crs(crs)
    points = geoms.where(geoms.geom_type == "Point", geoms.representative_point())
    return np.column_stack([points.x.to_numpy(), points.y.to_numpy()])


def _feature_counts(
    plan: gpd.GeoDataFrame, features: gpd.GeoDataFrame | None, rules: MatchRules, crs: Any
) -> pd.DataFrame:
    keys = [r.key for r in rules.rules]
    counts = pd.DataFrame(0, index=plan.index, columns=keys, dtype=int)
    if features is None or features.empty or plan.empty:
        return counts
    geom = features["point"] if "point" in features.columns else features.geometry
    geom = gpd.GeoSeries(geom, crs=features.crs)
    sites_xy = site_points(plan, crs)
    category = features["category"].astype(str).to_numpy()
    sub = features.get("subcategory", pd.Series("", index=features.index)).astype(str).to_numpy()
    projected = geom.to_crs(crs)
    projected = projected.where(projected.geom_type == "Point", projected.representative_point())
    xy = np.column_stack([projected.x.to_numpy(), projected.y.to_numpy()])
    for rule in rules.rules:
        mask = np.isin(category, rule.categories)
        if rule.subcategories:
            mask &= np.isin(sub, rule.subcategories)
        if mask.any():
            tree = cKDTree(xy[mask])
            found = tree.query_ball_point(sites_xy, r=rules.radius_m, return_length=True)
            counts[rule.key] = np.asarray(found, dtype=int)
    return counts


def _home_bonus(
    plan: pd.DataFrame,
    items: pd.DataFrame,
    rules: MatchRules,
    *,
    city: str | None,
    region: str | None,
) -> pd.DataFrame:
    n = len(plan)
    site_city = plan["city"] if "city" in plan.columns else [city] * n
    site_region = plan["region"] if "region" in plan.columns else [region] * n
    s_city = np.array([rules.place_key(c) for c in site_city], dtype=object)
    s_region = np.array([rules.place_key(r) for r in site_region], dtype=object)
    i_city = np.array([rules.place_key(c) for c in items["city"]], dtype=object)
    i_region = np.array([rules.place_key(r) for r in items["region"]], dtype=object)
    people = items["kind"].isin(["dynasty", "winner"]).to_numpy()
    same_city = (s_city[:, None] == i_city[None, :]) & (i_city != "")[None, :]
    same_region = (s_region[:, None] == i_region[None, :]) & (i_region != "")[None, :]
    same_region |= (s_city[:, None] == i_region[None, :]) & (i_region != "")[None, :]
    bonus = np.where(same_city, rules.city_weight, np.where(same_region, rules.region_weight, 0))
    bonus = bonus * people[None, :]
    return pd.DataFrame(bonus.reshape(n, len(items)), index=plan.index, columns=items.index)


def match_content(
    plan: gpd.GeoDataFrame,
    items: ContentLibrary | pd.DataFrame,
    *,
    campaign: CampaignSettings,
    features: gpd.GeoDataFrame | None = None,
    rules: MatchRules | None = None,
    city: str | None = None,
    region: str | None = None,
    include_examples: bool = False,
) -> MatchResult:
    """Score every content entry for every site of a plan.

    Parameters
    ----------
    plan
        Planned sites (the plan GeoDataFrame of ``docs/data-model.md``),
        indexed by ``site_id``, with ``kind`` and point geometry; optional
        ``format``, ``city`` and ``region`` columns.
    items
        The library, or its `ContentLibrary.frame` table.
    campaign
        Campaign settings (formats, limits).
    features
        The city dataset's public spaces (``features.parquet``); without them
        only format fit and the home bonus count.
    rules
        Matching rules (default the shipped ``matching.toml``).
    city, region
        The plan's city and region, when the plan has no such columns; they
        give dynasties and winners their home bonus.
    include_examples
        Also place fictional example entries (for demos).

    Returns
    -------
    MatchResult
    """
    rules = rules or rules_from_file()
    plan = plan_from_frame(plan)
    table = _items_table(items)
    crs = plan.estimate_utm_crs() if len(plan) else "EPSG:3857"
    unusable = unusable_items(table, include_examples=include_examples)
    site_format = _site_formats(plan, campaign)
    eligible = np.zeros((len(plan), len(table)), dtype=bool)
    not_fitting: dict[tuple[str, str], str] = {}
    usable = ~table["id"].isin(list(unusable)).to_numpy()
    for key, fmt in campaign.formats.items():
        fits, why = _format_fit(table, fmt, bilingual=campaign.require_russian)
        not_fitting.update({(key, i): r for i, r in why.items()})
        eligible[(site_format == key).to_numpy()] = fits & usable
    counts = _feature_counts(plan, features, rules, crs)
    saturation = np.array([r.saturation for r in rules.rules], dtype=float)
    strengths = pd.DataFrame(
        np.minimum(counts.to_numpy(dtype=float) / saturation, 1.0),
        index=counts.index,
        columns=counts.columns,
    )
    item_match = _rule_matches(table, rules.rules)
    weights = np.array([r.weight for r in rules.rules], dtype=float)
    home = _home_bonus(plan, table, rules, city=city, region=region)
    raw = strengths.to_numpy() @ (weights[:, None] * item_match.to_numpy()) + home.to_numpy()
    scores = pd.DataFrame(raw, index=plan.index, columns=table.index)
    return MatchResult(
        scores=scores,
        eligible=pd.DataFrame(eligible, index=plan.index, columns=table.index),
        site_format=site_format,
        counts=counts,
        strengths=strengths,
        item_match=item_match,
        home=home,
        items=table,
        unusable=unusable,
        not_fitting=not_fitting,
        rules=rules,
    )


def plan_from_file(path: Path | str) -> gpd.GeoDataFrame:
    """Read a plan (GeoJSON, GeoPackage or GeoParquet) indexed by ``site_id``."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(code="content_plan_missing", path=Path(path).name)
    try:
        parquet = path.suffix.lower() == ".parquet"
        plan = gpd.read_parquet(path) if parquet else gpd.read_file(path)
    except Exception as exc:
        raise InputFileError(
            code="content_plan_unreadable", path=Path(path).name, reason=str(exc)
        ) from None
    return plan_from_frame(plan, name=str(path))


def plan_from_frame(plan: gpd.GeoDataFrame, *, name: str = "the plan") -> gpd.GeoDataFrame:
    """Check a plan's columns and return it indexed by ``site_id`` in EPSG:4326."""
    plan = plan.copy()
    if "site_id" in plan.columns:
        plan = plan.set_index("site_id", drop=False)
    elif plan.index.name == "site_id" or plan.index.dtype == object:
        plan["site_id"] = plan.index.astype(str)
    else:
        raise InputFileError(code="content_plan_no_site_id")
    plan.index = plan.index.astype(str)
    plan.index.name = "site_id"
    if plan.index.duplicated().any():
        site = str(plan.index[plan.index.duplicated()][0])
        raise InputFileError(code="content_plan_duplicate_sites", site=site)
    if "kind" not in plan.columns:
        plan["kind"] = "banner"
    if plan.crs is None:
        plan = plan.set_crs("EPSG:4326")
    return plan.to_crs("EPSG:4326")
