"""The Evaluation page's analysis: the campaign's effect on each survey index, without Streamlit.

The models live in `nudge.evaluation.analysis` (a mixed model for a stepped wedge,
difference-in-differences for a phased rollout, a synthetic control for one region); this
module feeds them the page's survey estimates and schedule and turns the results into a table
and plain sentences in the user's language, "association, not proof" included whenever the
rollout was not randomised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd

from nudge.db import SavedWork
from nudge.evaluation.analysis import (
    EffectResult,
    Schedule,
    caveat_text,
    effect_lines,
    estimate_effects,
    panel_from_estimates,
    schedule_from_file,
    schedule_from_plan,
)
from nudge.evaluation.rollout import RolloutPlan
from nudge.evaluation.rollout_store import is_randomised
from nudge.i18n import Translator
from nudge.ui.evaluation import SECTION, SurveyEstimates, labelled
from nudge.ui.files import with_upload

EFFECT_COLUMNS = (
    "index",
    "design",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "n_units",
    "n_treated_units",
    "n_periods",
    "randomised",
)


def surveyed_units(survey: SurveyEstimates) -> set[str]:
    """Return the regions the survey has at least one estimate for."""
    table = survey.estimates
    return set(table.loc[table["region"].notna() & table["estimate"].notna(), "region"].astype(str))


def schedule_of_plan(plan: RolloutPlan, survey: SurveyEstimates) -> Schedule:
    """Return the schedule of a rollout planned on the page, on the survey's years.

    Only the surveyed regions are analysed: a region without estimates has nothing to compare.
    """
    units = surveyed_units(survey)
    kept = replace(plan, schedule=plan.schedule[plan.schedule["unit"].astype(str).isin(units)])
    return schedule_from_plan(kept, survey.years)


def schedule_of_saved(work: SavedWork, plan: RolloutPlan, survey: SurveyEstimates) -> Schedule:
    """Return the schedule of a saved rollout on the survey's years, randomised as recorded."""
    return replace(schedule_of_plan(plan, survey), randomised=is_randomised(work))


def schedule_of_upload(
    name: str, data: bytes, survey: SurveyEstimates, *, randomised: bool
) -> Schedule:
    """Return the schedule of an uploaded file (JSON of a design, or CSV/XLSX unit and step)."""
    schedule: Schedule = with_upload(
        name, data, lambda path: schedule_from_file(path, survey.years, randomised=randomised)
    )
    return schedule


def effects(survey: SurveyEstimates, schedule: Schedule) -> list[EffectResult]:
    """Return the campaign's effect on every index (scheduled regions, not the republic).

    Regions of the schedule without survey estimates (`left_out`) and surveyed regions the
    schedule does not name are left out: there is nothing to compare them with.
    """
    table = survey.estimates[survey.estimates["region"].notna()]
    panel = panel_from_estimates(table)
    panel = panel[panel["unit"].astype(str).isin(list(schedule.starts))]
    kept = {u: s for u, s in schedule.starts.items() if u in set(panel["unit"].astype(str))}
    return estimate_effects(panel, replace(schedule, starts=kept))


def left_out(survey: SurveyEstimates, schedule: Schedule) -> list[str]:
    """Return the scheduled regions the analysis leaves out: the survey has no estimate there."""
    units = surveyed_units(survey)
    return sorted(str(u) for u in schedule.starts if str(u) not in units)


def effect_rows(
    results: Sequence[EffectResult], survey: SurveyEstimates, tr: Translator
) -> pd.DataFrame:
    """Return one row per index: effect, interval, p, units, in the user's language."""
    rows = pd.DataFrame(
        [{c: getattr(r, c) for c in EFFECT_COLUMNS} for r in results],
        columns=list(EFFECT_COLUMNS),
    )
    rows["index"] = rows["index"].map(lambda i: survey.labels.get(str(i), i))
    for column in ("effect", "ci_low", "ci_high", "p_value"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    designs = {"design": (f"{SECTION}.designs",)}
    return labelled(
        rows, tr, decimals={"effect": 3, "ci_low": 3, "ci_high": 3}, vocabularies=designs
    )


def effect_markdown(
    result: EffectResult, lang: str, *, labels: Mapping[str, str] | None = None
) -> str:
    """Return the effect, its interval, the assumptions and any caveat as a Markdown list."""
    lines = effect_lines(result, lang, labels=labels)
    return "\n".join(
        f"    - {line[4:]}" if line.startswith("  - ") else f"- {line}" for line in lines
    )


def caveat(result: EffectResult, lang: str) -> str | None:
    """Return "association, not proof" in `lang` when the rollout was not randomised."""
    return caveat_text(result, lang)
