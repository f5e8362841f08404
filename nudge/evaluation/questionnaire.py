"""The questionnaire map of a survey: which columns hold what, which items form which index.

The map is a TOML file (an example ships as ``nudge/evaluation/data/questionnaire.toml``)::

    [columns]            # names of the respondent-level columns
    region = "region"    # required, with weight
    weight = "weight"
    urban = "urban"      # optional: urban, age_group, sex, year, stratum, psu

    [indices.work_success]
    label = { en = "...", ru = "...", kk = "..." }
    kind = "agreement"   # share agreeing; or "mean": mean score on the scale
    items = ["q1"]
    scale = [1, 5]
    agree = [4, 5]       # answers that count as agreement (kind = "agreement")
    reverse = []         # items scored the other way round (kind = "mean")
    missing = [8, 9]     # answers that mean no answer
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nudge._errors import InputFileError, Problem

REQUIRED_COLUMNS = ("region", "weight")
OPTIONAL_COLUMNS = ("urban", "age_group", "sex", "year", "stratum", "psu")
KINDS = ("agreement", "mean")


@dataclass(frozen=True, slots=True)
class Index:
    """One index of the questionnaire."""

    name: str
    kind: str
    items: tuple[str, ...]
    scale: tuple[float, float]
    agree: tuple[object, ...] = ()
    reverse: tuple[str, ...] = ()
    missing: tuple[object, ...] = ()
    label: dict[str, str] = field(default_factory=dict)

    @property
    def binary(self) -> bool:
        """Whether each respondent's value is 0 or 1 (one agreement item): a proportion."""
        return self.kind == "agreement" and len(self.items) == 1


@dataclass(frozen=True, slots=True)
class Questionnaire:
    """Column names and indices of one survey."""

    columns: dict[str, str]
    indices: tuple[Index, ...]

    def items(self) -> list[str]:
        """Return every item column the indices use, once each."""
        return list(dict.fromkeys(i for index in self.indices for i in index.items))


def _index(name: str, spec: Mapping[str, Any], problems: list[Problem]) -> Index | None:
    kind = spec.get("kind", "agreement")
    items = spec.get("items")
    scale = spec.get("scale")
    at = {"index": name}
    if kind not in KINDS:
        kinds = " or ".join(KINDS)
        problems.append(Problem(code="eval_map_kind", params={**at, "kinds": kinds, "kind": kind}))
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        problems.append(Problem(code="eval_map_items", params=at))
        items = []
    if not (isinstance(scale, list) and len(scale) == 2 and scale[0] < scale[1]):
        problems.append(Problem(code="eval_map_scale", params=at))
        scale = [0, 1]
    if kind == "agreement" and not spec.get("agree"):
        problems.append(Problem(code="eval_map_agree", params=at))
    reverse = spec.get("reverse", [])
    if any(r not in items for r in reverse):
        problems.append(Problem(code="eval_map_reverse", params=at))
    label = spec.get("label", {})
    return Index(
        name=name,
        kind=str(kind),
        items=tuple(items),
        scale=(float(scale[0]), float(scale[1])),
        agree=tuple(spec.get("agree", [])),
        reverse=tuple(reverse),
        missing=tuple(spec.get("missing", [])),
        label=dict(label) if isinstance(label, dict) else {"en": str(label)},
    )


def questionnaire_from_dict(doc: Mapping[str, Any], *, name: str = "map") -> Questionnaire:
    """Build a questionnaire map from its parsed TOML; see the module text for the layout.

    Raises
    ------
    InputFileError
        Listing every problem: missing required columns, indices without items, scale or
        agreement answers, unknown kinds.
    """
    columns = {str(k): str(v) for k, v in dict(doc.get("columns", {})).items()}
    lacking = [c for c in REQUIRED_COLUMNS if c not in columns]
    problems = [Problem(code="eval_map_lacks", params={"role": c}, column=c) for c in lacking]
    unknown = sorted(set(columns) - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS))
    problems += [
        Problem(code="eval_map_unknown_role", params={"role": c}, column=c) for c in unknown
    ]
    specs = dict(doc.get("indices", {}))
    if not specs:
        problems.append(Problem(code="eval_map_no_indices"))
    indices = [_index(str(k), v, problems) for k, v in specs.items()]
    if problems:
        raise InputFileError(code="eval_map_problems", name=name, problems=tuple(problems))
    return Questionnaire(columns, tuple(i for i in indices if i is not None))


def questionnaire_from_file(path: Path | str | None = None) -> Questionnaire:
    """Read a questionnaire map from TOML; None reads the example shipped with nudge."""
    if path is None:
        text = resources.files("nudge.evaluation").joinpath("data/questionnaire.toml")
        return questionnaire_from_dict(tomllib.loads(text.read_text(encoding="utf-8")))
    file = Path(path)
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(code="table_file_missing", path=file.name) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(code="eval_map_toml", name=file.name, reason=str(exc)) from None
    return questionnaire_from_dict(doc, name=file.name)


def _key(value: object) -> object:
    """Return an answer as a comparable key: a float for numbers, trimmed lower text else."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    try:
        return float(str(value).replace(",", ".").strip())
    except ValueError:
        return str(value).strip().casefold()


def _scores(column: pd.Series, index: Index, item: str) -> pd.Series:
    missing = {_key(v) for v in index.missing}
    keys = column.map(_key).astype(object).map(lambda k: None if k in missing else k)
    if index.kind == "agreement":
        agree = {_key(v) for v in index.agree}
        return keys.map(lambda k: np.nan if pd.isna(k) else float(k in agree)).astype(float)
    numbers = pd.to_numeric(keys, errors="coerce")
    low, high = index.scale
    numbers = numbers.where((numbers >= low) & (numbers <= high))
    return low + high - numbers if item in index.reverse else numbers


def index_values(table: pd.DataFrame, index: Index) -> pd.Series:
    """Return each respondent's value of `index` (NaN when they answered none of its items)."""
    scores = pd.concat([_scores(table[i], index, i) for i in index.items], axis=1)
    return scores.mean(axis=1, skipna=True).rename(index.name)


def missing_columns(table: pd.DataFrame, questionnaire: Questionnaire) -> list[str]:
    """Return the columns the map names that `table` lacks."""
    wanted: Sequence[str] = [*questionnaire.columns.values(), *questionnaire.items()]
    return [c for c in dict.fromkeys(wanted) if c not in table.columns]


__all__ = [
    "Index",
    "Questionnaire",
    "index_values",
    "missing_columns",
    "questionnaire_from_dict",
    "questionnaire_from_file",
]
