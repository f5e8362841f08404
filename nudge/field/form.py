"""An XLSForm for coordinators' phones, built from a plan (ODK Collect, KoboToolbox).

`form_from_plan` turns the sites of a plan (and, when given, the content the
rotation calendar puts there in the current flight) into the three sheets of an
XLSForm: ``survey``, ``choices`` and ``settings``. The coordinator picks a
district, then the planned site (its name, street, kind, coordinates and expected
content are columns of the ``sites`` choice list), records the GPS point (refused
on the phone when its accuracy is worse than `max_accuracy_m`), one or more photos,
the kind, dates, status, size, illumination and notes. Labels are Kazakh (the
default language), Russian and English, from the interface catalogues.

The field names are the columns `nudge.field.exports` reads back; the form's
``version`` starts with `FORM_SCHEMA`, which tells the import which layout the
submissions follow.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from nudge._errors import InputFileError
from nudge.geo.regions import region_code, regions_of_points
from nudge.i18n import load_messages
from nudge.io.sheets import xlsx_bytes
from nudge.io.tables import read_table
from nudge.registry.models import INSTALLATION_KINDS

FORM_SCHEMA = "nudge-field-1"
"""Prefix of the version of every form this module writes; the import knows this layout."""
DEFAULT_MAX_ACCURACY_M = 25.0
"""Worst GPS accuracy (metres) the form and the import accept."""
FORM_STATUSES = ("planned", "ordered", "installed", "damaged", "replaced", "removed")
"""Statuses a coordinator may report in the field (verification is done on the desk)."""
LANGUAGES = {"kk": "Kazakh (kk)", "ru": "Russian (ru)", "en": "English (en)"}
"""XLSForm language columns, ``label::Kazakh (kk)``; Kazakh is the form's default."""

_SITE_FILTER = "${district} = '' or district = ${district} or district = ''"
"""Sites of the chosen district, and those outside every district, offered in any case."""
_SITE_COLUMNS = ("site_name", "street", "district", "kind", "lat", "lon", "region", "content")


@dataclass(frozen=True)
class FieldForm:
    """An XLSForm: its sheets, the sites offered, and the flight whose content is expected."""

    survey: pd.DataFrame
    choices: pd.DataFrame
    settings: pd.DataFrame
    sites: pd.DataFrame
    flight: str | None

    @property
    def version(self) -> str:
        """Return the form's version (starts with `FORM_SCHEMA`)."""
        return str(self.settings.loc[0, "version"])

    def to_bytes(self) -> bytes:
        """Return the form as an XLSX workbook."""
        sheets = {"survey": self.survey, "choices": self.choices, "settings": self.settings}
        return xlsx_bytes(sheets)

    def write(self, path: Path | str) -> Path:
        """Write the form as an XLSX workbook at `path` and return the path."""
        target = Path(path)
        if target.suffix.lower() != ".xlsx":
            raise InputFileError(code="field_form_suffix", name=target.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_suffix(".xlsx.part")
        part.write_bytes(self.to_bytes())
        part.replace(target)
        return target


def _labels(key: str, **values: object) -> dict[str, str]:
    """Return the label columns of interface text `key` in every form language."""
    out = {}
    for lang, column in LANGUAGES.items():
        text = load_messages(lang)[key]
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        out[f"label::{column}"] = text
    return out


def _rename_label(labels: dict[str, str], prefix: str) -> dict[str, str]:
    return {prefix + k.removeprefix("label"): v for k, v in labels.items()}


def _numbers(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)


def _texts(plan: pd.DataFrame, column: str) -> np.ndarray:
    """Return a column of `plan` as strings, empty where missing (all empty if absent)."""
    if column not in plan.columns:
        return np.full(len(plan), "", dtype=object)
    return plan[column].astype(object).where(plan[column].notna(), "").astype(str).to_numpy()


def _plan_sites(plan: pd.DataFrame, region: str | None) -> pd.DataFrame:
    """Return the sites of `plan` (in `region` when given) with the choice-list columns."""
    if "site_id" not in plan.columns:
        raise InputFileError(code="field_plan_columns")
    if "geometry" in plan.columns:
        points = plan.geometry.representative_point()
        lat, lon = points.y.to_numpy(dtype=float), points.x.to_numpy(dtype=float)
    else:
        lat, lon = (_numbers(plan, c) for c in ("lat", "lon"))
    text = {c: _texts(plan, c) for c in ("name", "street", "district", "kind")}
    banner_name = np.where(text["kind"] == "banner", text["name"], "")
    street = np.where(text["street"] != "", text["street"], banner_name)
    sites = pd.DataFrame(
        {
            "site_id": plan["site_id"].astype(str).to_numpy(),
            "name": text["name"],
            "street": street,
            "district": text["district"],
            "kind": text["kind"],
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "region": regions_of_points(lat, lon),
        }
    )
    sites = sites[np.isfinite(lat) & np.isfinite(lon)].drop_duplicates("site_id")
    if region is not None:
        sites = sites[sites["region"] == region_code(region)]
    if sites.empty and region is not None:
        raise InputFileError(code="field_plan_empty_region", region=region_code(region))
    if sites.empty:
        raise InputFileError(code="field_plan_empty")
    return sites.reset_index(drop=True)


_FLIGHT = re.compile(r"(\d{4}-\d{2}-\d{2})")


def current_flight(labels: list[str], on: date) -> str | None:
    """Return the label of the flight running on `on`: the last one started by then.

    Labels are those of `nudge content rotate`'s calendar (``F03 2025-04-12``);
    before the first flight starts, the first one is returned.
    """
    starts = [(date.fromisoformat(m.group(1)), lab) for lab in labels if (m := _FLIGHT.search(lab))]
    if not starts:
        return None
    started = [lab for start, lab in sorted(starts) if start <= on]
    return started[-1] if started else sorted(starts)[0][1]


def expected_content(calendar: Path | str, *, on: date) -> tuple[str | None, dict[str, str]]:
    """Return the current flight of a rotation calendar and the content id of each site in it.

    Parameters
    ----------
    calendar
        ``calendar.csv`` (or .xlsx) of `nudge content rotate`: ``site_id`` then one
        column per flight.
    on
        The day whose flight is wanted.
    """
    table, _ = read_table(Path(calendar))
    if "site_id" not in table.columns:
        name = Path(calendar).name
        raise InputFileError(code="field_calendar_columns", name=name)
    flight = current_flight([str(c) for c in table.columns], on)
    if flight is None:
        return None, {}
    items = table[flight].astype(object).where(table[flight].notna(), None)
    return flight, {str(s): str(i) for s, i in zip(table["site_id"], items, strict=True) if i}


def form_from_plan(
    plan: pd.DataFrame,
    *,
    region: str | None = None,
    content: dict[str, str] | None = None,
    flight: str | None = None,
    max_accuracy_m: float = DEFAULT_MAX_ACCURACY_M,
    title: str | None = None,
) -> FieldForm:
    """Build the XLSForm of a plan's sites.

    Parameters
    ----------
    plan
        Plan sites (GeoDataFrame of `nudge plan`, or a table with ``lat``/``lon``):
        ``site_id``, ``kind``, ``name``, ``district`` (``street`` when there is one).
    region
        Only the sites in this region (code or name).
    content
        Content id expected at each site (see `expected_content`).
    flight
        Label of the flight `content` belongs to; shown in the form's title.
    max_accuracy_m
        Refuse GPS points less accurate than this on the phone.
    title
        Form title; by default the Kazakh title with the flight.

    Returns
    -------
    FieldForm
    """
    sites = _plan_sites(plan, region)
    sites["content"] = [(content or {}).get(s, "") for s in sites["site_id"]]
    districts = _district_choices(sites)
    choices = pd.concat([districts, _site_choices(sites), _fixed_choices()], ignore_index=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(sites.astype(str)).to_numpy().tobytes())
    version = f"{FORM_SCHEMA}.{digest.hexdigest()[:10]}"
    name = title or load_messages("kk")["field_form.title"] + (f" ({flight})" if flight else "")
    settings_row = {
        "form_title": name,
        "form_id": "nudge_field",
        "version": version,
        "default_language": LANGUAGES["kk"],
        "instance_name": "concat(${site}, ' ', ${status})",
    }
    settings = pd.DataFrame([settings_row])
    survey = _survey(version, max_accuracy_m, by_district=not districts.empty)
    choices = choices.astype(object).where(choices.notna(), "")
    return FieldForm(survey, choices, settings, sites, flight)


def _district_choices(sites: pd.DataFrame) -> pd.DataFrame:
    names = sorted({d for d in sites["district"] if d})
    rows = [{"list_name": "districts", "name": _choice_name(d), **_same_label(d)} for d in names]
    return pd.DataFrame(rows)


def _choice_name(text: str) -> str:
    """Return a choice name without spaces (XLSForm refuses them) for a district."""
    return re.sub(r"\s+", "_", text.strip())


def _same_label(text: str) -> dict[str, str]:
    return {f"label::{column}": text for column in LANGUAGES.values()}


def _site_choices(sites: pd.DataFrame) -> pd.DataFrame:
    where = list(map(_site_place, sites["name"], sites["street"], sites["site_id"]))
    labels = [f"{w} · {sid}" for w, sid in zip(where, sites["site_id"], strict=True)]
    out = pd.DataFrame({"list_name": "sites", "name": sites["site_id"]})
    for column in LANGUAGES.values():
        out[f"label::{column}"] = labels
    for column in _SITE_COLUMNS:
        out[column] = sites["name" if column == "site_name" else column].to_numpy()
    out["district"] = [_choice_name(d) for d in sites["district"]]
    return out


def _site_place(name: str, street: str, site_id: str) -> str:
    """Return where a site is for people: its name and street (once), else its id."""
    parts = (name, street if street != name else "")
    return ", ".join(p for p in parts if p) or site_id


def _fixed_choices() -> pd.DataFrame:
    lists = (
        ("kinds", INSTALLATION_KINDS, "installation_kinds"),
        ("statuses", FORM_STATUSES, "statuses"),
        ("yes_no", ("yes", "no"), "field_form"),
    )
    rows = [
        {"list_name": list_name, "name": value, **_labels(f"{prefix}.{value}")}
        for list_name, values, prefix in lists
        for value in values
    ]
    return pd.DataFrame(rows)


def _row(kind: str, name: str, key: str | None = None, **columns: object) -> dict[str, object]:
    labels = _labels(f"field_form.{key or name}") if key != "" else {}
    return {"type": kind, "name": name, **labels, **columns}


def _message(key: str, **values: object) -> dict[str, str]:
    return _rename_label(_labels(f"field_form.{key}", **values), "constraint_message")


def _hint(key: str) -> dict[str, str]:
    return _rename_label(_labels(f"field_form.{key}"), "hint")


def _max_length(limit: int) -> dict[str, str]:
    return {"constraint": f"string-length(.) <= {limit}", **_message("too_long", limit=limit)}


def _location_check(max_accuracy_m: float) -> dict[str, str]:
    """Return the columns that refuse GPS points less accurate than `max_accuracy_m`."""
    accuracy = f"{max_accuracy_m:g}"
    return {
        "constraint": f"selected-at(., 3) <= {accuracy}",
        "body::accuracyThreshold": accuracy,
        **_message("location_constraint", limit=accuracy),
    }


def _survey(version: str, max_accuracy_m: float, *, by_district: bool) -> pd.DataFrame:
    """Return the survey sheet: the questions, their constraints and calculations.

    Without districts (a plan made with no district layer) the coordinator picks
    the site from the whole list.
    """
    site = "instance('sites')/root/item[name=${site}]"
    today = ". <= today()"
    site_filter = _SITE_FILTER if by_district else ""
    check_content = "${expected_content} != ''"
    needs_id = "${content_ok} = 'no' or ${expected_content} = ''"
    installed = "${status} != 'planned' and ${status} != 'ordered'"
    removed = "${status} = 'removed'"
    after_install = f"{today} and . >= ${{installed_on}}"
    rows = [
        _row("select_one districts", "district"),
        _row("select_one sites", "site", choice_filter=site_filter, **_hint("site_hint")),
        _row("calculate", "expected_content", "", calculation=f"{site}/content"),
        _row("calculate", "site_kind", "", calculation=f"{site}/kind"),
        _row("select_one yes_no", "content_ok", relevant=check_content, **_hint("expected")),
        _row("text", "content_id", relevant=needs_id, **_max_length(120)),
        _row("geopoint", "location", required="yes", **_location_check(max_accuracy_m)),
        _row("begin_repeat", "photos"),
        _row("image", "photo", required="yes", parameters="max-pixels=1600"),
        _row("end_repeat", "photos", ""),
        _row("select_one kinds", "kind", required="yes"),
        _row("select_one statuses", "status", required="yes", default="installed"),
        _row(
            "date", "installed_on", required=installed, constraint=today, **_message("date_future")
        ),
        _row(
            "date",
            "removed_on",
            relevant=removed,
            required="yes",
            constraint=after_install,
            **_message("removed_constraint"),
        ),
        _row("text", "size", **_max_length(40)),
        _row("select_one yes_no", "illuminated"),
        _row("text", "note", appearance="multiline", **_max_length(4000)),
        _row("calculate", "form_version", "", calculation=f"'{version}'"),
    ]
    if not by_district:
        rows = rows[1:]
    frame = pd.DataFrame(rows, dtype=object)
    return frame.where(frame.notna(), "")
