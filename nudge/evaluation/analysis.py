"""Did it work? The campaign's effect on each survey index, by the design that was used.

Input is a *panel* of survey estimates, one row per unit (region) and period (survey wave), and
the rollout *schedule*: in which period each unit first had the campaign and whether that order
was drawn at random (`nudge.evaluation.rollout.RolloutPlan` records its seed). Three analyses:

- **stepped wedge**: the linear mixed model of Hussey & Hughes (2007) on cluster-period means,
  period effects and the campaign as fixed effects, a random intercept per unit (statsmodels
  ``MixedLM``, REML), with a t reference on units - 2 degrees of freedom;
- **difference in differences** for a phased rollout (some units later or never): two-way fixed
  effects OLS with standard errors clustered by unit and a t reference on units - 1 df
  (Angrist & Pischke 2009, ch. 5);
- **synthetic control** for a single treated region (Abadie, Diamond & Hainmueller 2010): the
  gap to a convex mix of never-treated regions, the donor weights, the fit before the start
  and a placebo-in-space permutation p-value.

Every result carries the assumptions it rests on (codes whose plain words are in the locale
catalogue, ``analysis.*``) and, when the order was not randomised, "association, not proof".
See ``docs/evaluation.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from nudge._errors import Notice, RecordError
from nudge.evaluation import _effect_models as models
from nudge.evaluation._effect_inputs import (
    Schedule,
    panel_from_estimates,
    panel_from_file,
    schedule_from_file,
    schedule_from_plan,
    schedule_from_steps,
)
from nudge.evaluation._effect_models import SyntheticFit
from nudge.i18n import format_number, notice_text, translator

ANALYSIS_DESIGNS: tuple[str, ...] = ("auto", "stepped-wedge", "did", "synthetic")
MIN_UNITS = 4
MIN_PERIODS = 2
MIN_PRE_PERIODS = 2
MIN_DONORS = 2
_COMMON = ("assume_no_spillover", "assume_no_anticipation", "assume_same_measurement")
ASSUMPTIONS: dict[str, tuple[str, ...]] = {
    "stepped-wedge": (
        "assume_common_period_effects",
        "assume_exchangeable_clusters",
        "assume_constant_effect",
        *_COMMON,
    ),
    "did": ("assume_parallel_trends", "assume_constant_effect", "assume_enough_units", *_COMMON),
    "synthetic": ("assume_convex_hull", "assume_no_other_shocks", *_COMMON),
}
"""Assumption codes per design; the text of code ``c`` is the locale key ``analysis.c``."""


@dataclass(frozen=True)
class EffectResult:
    """The campaign's effect on one index, with everything it rests on.

    ``effect`` is in the index's own units (a share for an agreement index). ``se``,
    ``ci_low`` and ``ci_high`` are None for the synthetic control, whose ``p_value`` comes from
    placebos. ``causal`` is False when the order of the rollout was not drawn at random (or
    some units were locked): every rendering then says "association, not proof".
    """

    index: str | None
    design: str
    method: str
    effect: float
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    alpha: float
    df: float | None
    n_units: int
    n_periods: int
    n_treated_units: int
    n_observations: int
    randomised: bool
    causal: bool
    assumptions: tuple[str, ...]
    notes: tuple[Notice, ...] = ()
    synthetic: SyntheticFit | None = None

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        """Return the result as plain values (for JSON), with its texts in `lang`."""
        out = asdict(self)
        out["notes"] = [notice_text(n, lang) for n in self.notes]
        out["assumption_texts"] = assumption_texts(self, lang)
        out["caveat"] = caveat_text(self, lang)
        return out


def _cell_list(frame: pd.DataFrame) -> str:
    return ", ".join(f"{u} {p}" for u, p in zip(frame["unit"], frame["period"], strict=True))


def _prepare(
    panel: pd.DataFrame, schedule: Schedule, index: str | None
) -> tuple[pd.DataFrame, list[Notice]]:
    """Return the panel's rows of `index` with numbers, and notes on what was left out.

    Units are checked against the schedule before empty (suppressed) cells are left out, so
    a region whose cells are all suppressed is left out with a note, not refused.
    """
    lacking = [c for c in ("unit", "period", "estimate") if c not in panel]
    if lacking:
        text = ", ".join(lacking)
        msg = f"The panel lacks the column(s) {text}; name them unit, period, estimate."
        raise RecordError(msg, code="analysis_panel_lacks", columns=text)
    frame = panel
    names = list(dict.fromkeys(panel["index"].astype(str))) if "index" in panel else []
    if index is None and len(names) > 1:
        text = ", ".join(names)
        msg = f"The panel holds several indices ({text}); name the one to analyse."
        raise RecordError(msg, code="analysis_index_needed", indices=text)
    if index is not None and "index" in panel:
        frame = panel[panel["index"].astype(str) == str(index)]
    frame = frame.assign(
        unit=frame["unit"].astype(str), estimate=pd.to_numeric(frame["estimate"], errors="coerce")
    )
    doubled = frame[frame.duplicated(["unit", "period"], keep=False)]
    if len(doubled):
        cells = _cell_list(doubled.drop_duplicates(["unit", "period"]))
        msg = f"The panel holds more than one estimate for {cells}; give one per unit and period."
        raise RecordError(msg, code="analysis_duplicate_cells", cells=cells)
    _check_units(frame, schedule)
    empty = frame["estimate"].isna()
    notes = []
    if empty.any():
        cells = _cell_list(frame[empty])
        msg = f"Cells without an estimate (suppressed or missing) were left out: {cells}."
        notes.append(Notice(msg, code="analysis_note_empty_cells", cells=cells))
    return frame[~empty].reset_index(drop=True), notes


def _check_units(frame: pd.DataFrame, schedule: Schedule) -> None:
    in_panel, scheduled = set(frame["unit"]), set(schedule.starts)
    absent = sorted(scheduled - in_panel)
    if absent:
        text = ", ".join(absent)
        msg = f"The schedule names unit(s) the panel lacks: {text}; check the codes."
        raise RecordError(msg, code="analysis_unknown_units", units=text)
    unscheduled = sorted(in_panel - scheduled)
    if unscheduled:
        text = ", ".join(unscheduled)
        msg = (
            f"The panel holds unit(s) the schedule lacks: {text}; add them to the schedule "
            "(empty start for units that never had the campaign) or leave them out of the panel."
        )
        raise RecordError(msg, code="analysis_unscheduled_units", units=text)


def _treated(frame: pd.DataFrame, schedule: Schedule) -> pd.Series:
    starts = frame["unit"].map(schedule.starts)
    try:
        flags = [s is not None and p >= s for p, s in zip(frame["period"], starts, strict=True)]
    except TypeError:
        msg = "The schedule's start periods cannot be compared with the panel's periods."
        raise RecordError(msg, code="analysis_schedule_periods") from None
    return pd.Series(flags, index=frame.index, dtype=int)


def _choose(design: str, cells: pd.DataFrame, schedule: Schedule) -> str:
    if design not in ANALYSIS_DESIGNS:
        msg = f"Unknown analysis {design!r}; use {', '.join(ANALYSIS_DESIGNS)}."
        raise RecordError(
            msg, code="analysis_design", design=design, designs=", ".join(ANALYSIS_DESIGNS)
        )
    if design != "auto":
        return design
    ever = cells.groupby("unit")["treated"].max()
    starts = {schedule.starts[u] for u in ever.index[ever == 1]}
    if ever.sum() == 1:
        return "synthetic"
    if schedule.design in ("stepped-wedge", "phased"):
        return "stepped-wedge" if schedule.design == "stepped-wedge" else "did"
    return "stepped-wedge" if ever.all() and len(starts) > 1 else "did"


def _check_counts(cells: pd.DataFrame, design: str) -> None:
    periods, units = cells["period"].nunique(), cells["unit"].nunique()
    if periods < MIN_PERIODS:
        msg = f"The panel holds {periods} period(s); the analysis needs at least {MIN_PERIODS}."
        raise RecordError(msg, code="analysis_too_few_periods", n=periods, min=MIN_PERIODS)
    if design != "synthetic" and units < MIN_UNITS:
        msg = f"The panel holds {units} unit(s); the analysis needs at least {MIN_UNITS}."
        raise RecordError(msg, code="analysis_too_few_units", n=units, min=MIN_UNITS)
    if not cells["treated"].any():
        msg = "No unit had the campaign in any period of the panel: nothing to compare."
        raise RecordError(msg, code="analysis_no_treated")
    if cells["treated"].all():
        msg = "Every unit had the campaign in every period of the panel: no comparison is left."
        raise RecordError(msg, code="analysis_no_control")


def _synthetic_inputs(
    cells: pd.DataFrame, notes: list[Notice]
) -> tuple[pd.DataFrame, str, np.ndarray]:
    ever = cells.groupby("unit")["treated"].max()
    if ever.sum() != 1:
        text = ", ".join(ever.index[ever == 1])
        msg = f"A synthetic control needs exactly one treated unit, not {ever.sum()} ({text})."
        raise RecordError(msg, code="analysis_synthetic_treated", n=int(ever.sum()), units=text)
    treated = str(ever.index[ever == 1][0])
    wide = cells.pivot(index="period", columns="unit", values="estimate").sort_index()
    wide = wide[wide[treated].notna()]
    gaps = [u for u in wide.columns if u != treated and wide[u].isna().any()]
    if gaps:
        text = ", ".join(gaps)
        msg = f"Donor unit(s) with missing periods were left out: {text}."
        notes.append(Notice(msg, code="analysis_note_donors_dropped", units=text))
    wide = wide.drop(columns=gaps)
    on = cells[cells["unit"] == treated].set_index("period")["treated"]
    pre = on.reindex(wide.index).to_numpy() == 0
    before, donors = int(pre.sum()), wide.shape[1] - 1
    if before < MIN_PRE_PERIODS or donors < MIN_DONORS:
        msg = (
            f"A synthetic control needs at least {MIN_PRE_PERIODS} periods before the start "
            f"and {MIN_DONORS} complete donor units; there are {before} and {donors}."
        )
        raise RecordError(
            msg,
            code="analysis_synthetic_small",
            pre=before,
            donors=donors,
            min_pre=MIN_PRE_PERIODS,
            min_donors=MIN_DONORS,
        )
    if before < donors:
        msg = "Fewer periods before the start than donors: the donor weights are not unique."
        notes.append(Notice(msg, code="analysis_note_weights_not_unique"))
    return wide, treated, pre


def _fit(cells: pd.DataFrame, design: str, notes: list[Notice]) -> models.Fit:
    if design == "synthetic":
        wide, treated, pre = _synthetic_inputs(cells, notes)
        return models.synthetic_control(wide, treated, pre)
    if design == "stepped-wedge":
        fit = models.mixed_model(cells)
        if not fit.converged:
            msg = "The mixed model's fit did not converge; read its figures with care."
            notes.append(Notice(msg, code="analysis_note_convergence"))
        return fit
    return models.two_way_fixed_effects(cells)


def estimate_effect(
    panel: pd.DataFrame,
    schedule: Schedule,
    *,
    design: str = "auto",
    index: str | None = None,
    alpha: float = 0.05,
) -> EffectResult:
    """Estimate the campaign's effect on one index of a panel of survey estimates.

    Parameters
    ----------
    panel
        One row per unit and period: ``unit``, ``period``, ``estimate`` (and ``index`` when
        the panel holds several indices; see `panel_from_estimates`, `panel_from_file`).
    schedule
        When each unit first had the campaign and whether the order was randomised
        (`schedule_from_plan`, `schedule_from_file`, `schedule_from_steps`).
    design
        ``"stepped-wedge"`` (mixed model), ``"did"`` (difference in differences),
        ``"synthetic"`` (one treated unit) or ``"auto"``: synthetic when one unit has the
        campaign, the planned design when the schedule says it (a phased plan by DiD), else a
        stepped wedge when every unit has it by the end at staggered starts and DiD otherwise.
    index
        The index to analyse when the panel holds several.
    alpha
        1 - the interval's confidence.

    Raises
    ------
    RecordError
        For a panel without unit, period or estimate, repeated cells, units in the schedule
        but not the panel (or the reverse), too few units or periods, no cell with or without
        the campaign, an effect that the periods and units absorb, or a synthetic control
        without exactly one treated unit, two periods before its start and two donors.
    """
    frame, notes = _prepare(panel, schedule, index)
    if index is None and "index" in panel and len(panel):
        index = str(panel["index"].iloc[0])  # the panel's only index (checked by _prepare)
    cells = frame.assign(treated=_treated(frame, schedule)).sort_values(["unit", "period"])
    chosen = _choose(design, cells, schedule)
    _check_counts(cells, chosen)
    fit = _fit(cells, chosen, notes)
    low, high, p = fit.interval(alpha)
    if fit.synthetic is not None:
        p = fit.synthetic.p_value
    if schedule.locked:
        text = ", ".join(schedule.locked)
        msg = f"Unit(s) {text} were placed by hand, not drawn: the order is not fully random."
        notes.append(Notice(msg, code="analysis_note_locked", units=text))
    ever = cells.groupby("unit")["treated"].max()
    return EffectResult(
        index=index,
        design=chosen,
        method=fit.method,
        effect=fit.effect,
        se=fit.se,
        ci_low=low,
        ci_high=high,
        p_value=p,
        alpha=alpha,
        df=fit.df,
        n_units=int(cells["unit"].nunique()),
        n_periods=int(cells["period"].nunique()),
        n_treated_units=int(ever.sum()),
        n_observations=len(cells),
        randomised=schedule.randomised,
        causal=schedule.causal,
        assumptions=tuple(f"analysis.{c}" for c in _assumptions(chosen, schedule)),
        notes=tuple(notes),
        synthetic=fit.synthetic,
    )


def _assumptions(design: str, schedule: Schedule) -> tuple[str, ...]:
    extra = () if schedule.causal else ("assume_order_unrelated",)
    return ASSUMPTIONS[design] + extra


def estimate_effects(
    panel: pd.DataFrame, schedule: Schedule, *, design: str = "auto", alpha: float = 0.05
) -> list[EffectResult]:
    """Return `estimate_effect` for every index of the panel (one result without ``index``)."""
    if "index" not in panel:
        return [estimate_effect(panel, schedule, design=design, alpha=alpha)]
    names = list(dict.fromkeys(panel["index"].astype(str)))
    return [estimate_effect(panel, schedule, design=design, index=n, alpha=alpha) for n in names]


def assumption_texts(result: EffectResult, lang: str) -> list[str]:
    """Return the assumptions of `result` in plain words of `lang`."""
    t = translator(lang)
    return [t(key) for key in result.assumptions]


def caveat_text(result: EffectResult, lang: str) -> str | None:
    """Return "association, not proof" in `lang` when the rollout was not randomised."""
    return None if result.causal else translator(lang)("analysis.association_not_proof")


def effect_lines(
    result: EffectResult, lang: str, *, labels: Mapping[str, str] | None = None
) -> list[str]:
    """Return a plain summary of `result` in `lang`: effect, interval, assumptions, caveat.

    `labels` names the indices in `lang` (the questionnaire's labels); codes are shown otherwise.
    """
    t = translator(lang)
    index = (labels or {}).get(result.index or "", result.index) or "—"

    def num(value: float | None) -> str:
        return "—" if value is None else format_number(value, t.lang, decimals=3)

    design = t(f"analysis.design_{result.design.replace('-', '_')}")
    lines = [t("analysis.line_design", design=design, index=index)]
    if result.synthetic is None:
        figures = {"low": num(result.ci_low), "high": num(result.ci_high), "p": num(result.p_value)}
        level = f"{1 - result.alpha:.0%}"
        lines.append(t("analysis.line_effect", effect=num(result.effect), level=level, **figures))
    else:
        fit = result.synthetic
        weights = ", ".join(f"{u} {w:.2f}" for u, w in fit.weights.items() if w >= 0.005)
        lines.append(t("analysis.line_gap", effect=num(result.effect), p=num(result.p_value)))
        lines.append(t("analysis.line_weights", weights=weights, rmspe=num(fit.rmspe_pre)))
    counts = {"units": result.n_units, "periods": result.n_periods}
    lines.append(t("analysis.line_counts", treated=result.n_treated_units, **counts))
    lines.append(t("analysis.assumptions_head"))
    lines += [f"  - {text}" for text in assumption_texts(result, lang)]
    lines += [notice_text(n, lang) for n in result.notes]
    caveat = caveat_text(result, lang)
    lines.append(caveat if caveat is not None else t("analysis.randomised_note"))
    return lines


__all__ = [
    "ANALYSIS_DESIGNS",
    "ASSUMPTIONS",
    "EffectResult",
    "Schedule",
    "SyntheticFit",
    "assumption_texts",
    "caveat_text",
    "effect_lines",
    "estimate_effect",
    "estimate_effects",
    "panel_from_estimates",
    "panel_from_file",
    "schedule_from_file",
    "schedule_from_plan",
    "schedule_from_steps",
]
