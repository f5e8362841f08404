"""Survey waves: import from CSV/XLSX/.sav/.dta, design-based estimates, suppression, bad input."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from scipy.stats import t as student
from typer.testing import CliRunner

from nudge._errors import InputFileError, RecordError
from nudge.cli import build_app
from nudge.evaluation._taylor import Design, domain_mean
from nudge.evaluation.questionnaire import (
    Questionnaire,
    questionnaire_from_dict,
    questionnaire_from_file,
)
from nudge.evaluation.survey import (
    estimate_indices,
    estimates_from_aggregates,
    read_respondents,
    survey_from_files,
)
from nudge.i18n import error_text, problem_text

REGIONS = ["ALA", "AST", "SHY", "Карагандинская область", "Қостанай облысы"]
ITEMS = ["q1", "q2", "q3", "q4", "q5"]


def synthetic_survey(n: int = 900, seed: int = 1) -> pd.DataFrame:
    """Return respondents of a stratified cluster sample with weights (a made-up wave)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "region": rng.choice(REGIONS, n),
        "urban": rng.choice(["urban", "rural"], n),
        "age_group": rng.choice(["18-29", "30-49", "50+"], n),
        "sex": rng.choice(["m", "f"], n),
        "weight": rng.uniform(0.4, 2.5, n).round(4),
        "year": 2025,
        "stratum": rng.choice(["s1", "s2", "s3"], n),
    })  # fmt: skip
    frame["psu"] = [
        f"{s}-{k}" for s, k in zip(frame["stratum"], rng.integers(0, 7, n), strict=True)
    ]
    for item in ITEMS:
        frame[item] = rng.choice([1, 2, 3, 4, 5, 8], n, p=[0.1, 0.15, 0.2, 0.25, 0.25, 0.05])
    return frame


@pytest.fixture
def survey_csv(tmp_path: Path) -> Path:
    path = tmp_path / "wave2025.csv"
    synthetic_survey().to_csv(path, index=False)
    return path


def test_hand_worked_example_with_strata_and_psus(tmp_path: Path) -> None:
    # stratum, psu, weight, agrees (answer 5) or not (answer 2)
    rows = [
        ("S1", "P1", 2, 1), ("S1", "P1", 2, 0), ("S1", "P2", 1, 1), ("S1", "P2", 3, 1),
        ("S2", "P3", 4, 0), ("S2", "P3", 2, 1), ("S2", "P4", 5, 0),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["stratum", "psu", "weight", "agree"])
    frame["q1"] = np.where(frame["agree"] == 1, 5, 2)
    frame["region"], frame["year"] = "ALA", 2025
    path = tmp_path / "hand.csv"
    frame.drop(columns="agree").to_csv(path, index=False)
    data = survey_from_files([path], _map(["q1"]))
    row = estimate_indices(data, by=["region"], min_n=1).iloc[0]
    # Weighted mean: sum(w y) / sum(w) = (2 + 1 + 3 + 2) / 19.
    m = 8 / 19
    assert row["estimate"] == pytest.approx(m)
    # PSU totals of the scores w (y - m) / 19: P1 (2 - 4m), P2 (4 - 4m), P3 (2 - 6m), P4 (-5m),
    # all / 19. Each stratum has two PSUs: n/(n-1) * sum of squared deviations = difference^2.
    variance = ((2 - 4 * m) - (4 - 4 * m)) ** 2 / 19**2 + ((2 - 6 * m) - (-5 * m)) ** 2 / 19**2
    assert variance == pytest.approx(2344 / 130321)
    assert row["se"] == pytest.approx(math.sqrt(variance))
    assert row["df"] == 2  # 4 PSUs - 2 strata
    q = student.ppf(0.975, 2)
    logit, half = math.log(m / (1 - m)), q * math.sqrt(variance) / (m * (1 - m))
    assert row["ci_low"] == pytest.approx(1 / (1 + math.exp(-(logit - half))))
    assert row["ci_high"] == pytest.approx(1 / (1 + math.exp(-(logit + half))))
    assert row["n"] == 7 and row["weight_sum"] == 19


def _map(items: list[str], **extra: object) -> Questionnaire:
    doc = {
        "columns": {"region": "region", "weight": "weight", "year": "year", "stratum": "stratum",
                    "psu": "psu", **extra},
        "indices": {"agree": {"kind": "agreement", "items": items, "scale": [1, 5],
                              "agree": [4, 5], "missing": [8, 9]}},
    }  # fmt: skip
    return questionnaire_from_dict(doc)


def test_weighted_mean_equals_the_hand_computation(survey_csv: Path) -> None:
    data = survey_from_files([survey_csv], questionnaire_from_file())
    table = estimate_indices(data, by=["region", "year"])
    raw = pd.read_csv(survey_csv)
    ala = raw[(raw["region"] == "ALA") & (raw["q1"] != 8)]
    by_hand = (ala["weight"] * ala["q1"].isin([4, 5])).sum() / ala["weight"].sum()
    row = table[(table["region"] == "ALA") & (table["index"] == "work_success")].iloc[0]
    assert row["estimate"] == pytest.approx(by_hand)
    assert row["n"] == len(ala)
    kar = raw[raw["region"] == "Карагандинская область"][["q3", "q4", "q5"]].replace(8, np.nan)
    kar["q5"] = 6 - kar["q5"]  # reversed item
    weights = raw.loc[kar.index, "weight"]
    score = kar.mean(axis=1)
    keep = score.notna()
    expected = (weights[keep] * score[keep]).sum() / weights[keep].sum()
    row = table[(table["region"] == "KGD") & (table["index"] == "social_infantilism")].iloc[0]
    assert row["estimate"] == pytest.approx(expected)


def _samplics(param: str, y: np.ndarray, frame: pd.DataFrame) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # samplics warns on import that it is archived
        from samplics import PopParam, TaylorEstimator

    est = TaylorEstimator(PopParam.prop if param == "prop" else PopParam.mean)
    est.estimate(
        y=y, samp_weight=frame["weight"].to_numpy(), stratum=frame["stratum"],
        psu=frame["psu"], domain=frame["region"], remove_nan=True,
    )  # fmt: skip
    return est


def test_standard_errors_match_samplics(survey_csv: Path) -> None:
    data = survey_from_files([survey_csv], questionnaire_from_file())
    table = estimate_indices(data, by=["region"]).set_index(["region", "index"])
    frame = data.respondents
    for name, param in (("social_infantilism", "mean"), ("work_success", "prop")):
        est = _samplics(param, frame[name].to_numpy(float), frame)
        for region in frame["region"].unique():
            row = table.loc[(region, name)]
            point, se = est.point_est[region], est.stderror[region]  # type: ignore[attr-defined]
            low, high = est.lower_ci[region], est.upper_ci[region]  # type: ignore[attr-defined]
            if param == "prop":
                point, se, low, high = point[1.0], se[1.0], low[1.0], high[1.0]
            assert row["estimate"] == pytest.approx(point, rel=1e-10)
            assert row["se"] == pytest.approx(se, rel=1e-10)
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9)


def test_sav_dta_xlsx_and_csv_give_the_same_estimates(survey_csv: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(survey_csv)
    pyreadstat.write_sav(raw, tmp_path / "wave.sav")
    pyreadstat.write_dta(raw, tmp_path / "wave.dta")
    raw.to_excel(tmp_path / "wave.xlsx", index=False)
    qmap = questionnaire_from_file()
    tables = [
        estimate_indices(survey_from_files([tmp_path / f"wave.{ext}"], qmap))
        for ext in ("sav", "dta", "xlsx")
    ]
    expected = estimate_indices(survey_from_files([survey_csv], qmap))
    for table in tables:
        pd.testing.assert_frame_equal(table, expected)
    assert len(read_respondents(tmp_path / "wave.sav")) == len(raw)


def test_value_labels_of_an_spss_region_column_are_used(tmp_path: Path) -> None:
    raw = synthetic_survey(n=300)
    codes = {name: number for number, name in enumerate(REGIONS, start=1)}
    coded = raw.assign(region=raw["region"].map(codes))
    labels: dict[str, dict[int | float, str]] = {"region": {n: name for name, n in codes.items()}}
    pyreadstat.write_sav(coded, tmp_path / "coded.sav", variable_value_labels=labels)
    raw.to_csv(tmp_path / "plain.csv", index=False)
    qmap = questionnaire_from_file()
    from_sav = estimate_indices(survey_from_files([tmp_path / "coded.sav"], qmap))
    from_csv = estimate_indices(survey_from_files([tmp_path / "plain.csv"], qmap))
    pd.testing.assert_frame_equal(from_sav, from_csv)


def test_small_cells_are_suppressed_with_the_reason(survey_csv: Path) -> None:
    data = survey_from_files([survey_csv], questionnaire_from_file())
    table = estimate_indices(data, by=["region", "sex", "age_group"], min_n=40, lang="en")
    small = table[table["n"] < 40]
    assert len(small) > 0 and small["suppressed"].all()
    assert small["estimate"].isna().all() and small["se"].isna().all()
    assert small["reason"].str.contains("fewer than 40").all()
    big = table[table["n"] >= 40]
    assert not big["suppressed"].any() and big["estimate"].notna().all()
    kk = estimate_indices(data, by=["region", "sex", "age_group"], min_n=40, lang="kk")
    assert kk.loc[kk["suppressed"], "reason"].str.contains("көрсетілмейді").all()


def test_waves_of_two_years_are_independent_samples(survey_csv: Path, tmp_path: Path) -> None:
    later = synthetic_survey(seed=2).assign(year=2026)
    later_path = tmp_path / "wave2026.csv"
    later.to_csv(later_path, index=False)
    data = survey_from_files([survey_csv, later_path], questionnaire_from_file())
    assert data.design().df == 2 * (21 - 3)  # strata and PSUs of each wave apart
    table = estimate_indices(data, by=["year"])
    assert sorted(table["year"].unique()) == [2025, 2026]


def test_coverage_of_a_planted_value_in_200_simulations() -> None:
    rng = np.random.default_rng(20261126)
    shares = np.array([0.3, 0.45, 0.55, 0.7])  # true share agreeing in four strata
    sizes = np.array([4.0, 2.0, 1.0, 3.0])  # population sizes; equal samples => unequal weights
    truth = float((shares * sizes).sum() / sizes.sum())
    stratum = np.repeat(np.arange(4), 20 * 10)  # 20 PSUs of 10 respondents per stratum
    psu = np.repeat(np.arange(80), 10)
    design = Design.from_codes(sizes[stratum] / 200, stratum, psu)
    covered, estimates = 0, []
    for _ in range(200):
        cluster = rng.normal(0, 0.06, 80)[psu]  # PSUs differ: the design effect is real
        y = (rng.random(len(psu)) < shares[stratum] + cluster).astype(float)
        result = domain_mean(design, y, np.ones(len(y), dtype=bool), proportion=True)
        covered += result.ci_low <= truth <= result.ci_high
        estimates.append(result.estimate)
    # nominal 95 %; 3,000 runs of this set-up cover 95.8 %. Allow two Monte-Carlo SEs (1.5 %).
    assert covered / 200 >= 0.92
    assert np.mean(estimates) == pytest.approx(truth, abs=0.004)  # the weights remove the bias


# --- Bad input: a clear error and nothing imported ---


def test_unknown_region_and_bad_weights_are_reported_together(tmp_path: Path) -> None:
    frame = synthetic_survey(n=60)
    frame.loc[3, "region"] = "Atlantis"
    frame.loc[5, "weight"] = 0
    frame.loc[7, "weight"] = -1.5
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(RecordError, match=r"problems in 3 row\(s\), nothing was imported") as info:
        survey_from_files([path], questionnaire_from_file())
    problems = info.value.problems
    assert [(p.row, p.code, p.column) for p in problems] == [
        (5, "region_unknown", "region"),
        (7, "eval_survey_bad_weight", "weight"),
        (9, "eval_survey_bad_weight", "weight"),
    ]
    text = str(info.value)
    assert "row 5: Unknown region 'Atlantis'" in text and "row 9: The weight is missing" in text
    assert info.value.code == "eval_survey_problems" and info.value.params["n"] == 3
    kk = [problem_text(p, "kk") for p in problems]
    assert "Atlantis" in kk[0] and kk[1] == "Салмақ көрсетілмеген немесе 0-ден үлкен емес."
    assert "ештеңе импортталмады" in error_text(info.value, "kk")


def test_a_map_naming_a_missing_column_is_refused(survey_csv: Path) -> None:
    with pytest.raises(InputFileError, match=r"lacks the column.*q9") as info:
        survey_from_files([survey_csv], _map(["q1", "q9"]))
    assert info.value.code == "eval_survey_missing_columns"


def test_a_sav_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.sav"
    path.write_text("region,weight\nALA,1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="could not be read as a SPSS file") as info:
        survey_from_files([path], questionnaire_from_file())
    assert info.value.code == "eval_survey_unreadable"


def test_a_stratum_with_one_psu_is_refused(tmp_path: Path) -> None:
    frame = synthetic_survey(n=200)
    frame.loc[frame["stratum"] == "s3", "psu"] = "only"
    path = tmp_path / "lonely.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(RecordError, match="s3 \\(2025\\) hold a single PSU"):
        survey_from_files([path], questionnaire_from_file())


def test_questionnaire_map_problems_are_listed(tmp_path: Path) -> None:
    bad = {"columns": {"region": "r", "colour": "c"},
           "indices": {"x": {"kind": "median", "items": [], "scale": [5, 1]}}}  # fmt: skip
    with pytest.raises(InputFileError) as info:
        questionnaire_from_dict(bad)
    text = str(info.value)
    for part in ("lacks weight", "unknown role 'colour'", "kind must be", "items must be",
                 "scale must be"):  # fmt: skip
        assert part in text
    broken = tmp_path / "map.toml"
    broken.write_text("[columns\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="not valid TOML"):
        questionnaire_from_file(broken)


def test_year_comes_from_the_option_when_the_file_has_none(tmp_path: Path) -> None:
    frame = synthetic_survey(n=120).drop(columns="year")
    path = tmp_path / "noyear.csv"
    frame.to_csv(path, index=False)
    qmap = questionnaire_from_file()
    qmap.columns.pop("year")
    with pytest.raises(RecordError, match="There is no survey year") as info:
        survey_from_files([path], qmap)
    assert {p.code for p in info.value.problems} == {"eval_survey_no_year"}
    assert len(info.value.problems) == 120
    data = survey_from_files([path], qmap, year=2024)
    assert set(data.respondents["year"]) == {2024}


def test_region_level_aggregates_as_input(tmp_path: Path) -> None:
    path = tmp_path / "published.csv"
    path.write_text(
        "region,year,index,estimate,n,ci_low,ci_high\n"
        "Алматы,2025,work_success,0.61,812,0.57,0.65\n"
        "ULY,2025,work_success,0.55,21,0.40,0.70\n",
        encoding="utf-8",
    )
    table = estimates_from_aggregates(path, min_n=30)
    assert list(table["region"]) == ["ALA", "ULY"]
    assert table.loc[0, "se"] == pytest.approx(0.04 / 1.959964, rel=1e-5)
    assert table.loc[1, "suppressed"] and table["estimate"].isna().iloc[1]
    bad = tmp_path / "bad.csv"
    bad.write_text("region,year,index,estimate,n,se\nMars,2025,x,0.5,100,0.1\n", encoding="utf-8")
    with pytest.raises(RecordError, match=r"row 2: Unknown region .Mars."):
        estimates_from_aggregates(bad)


def test_cli_survey_writes_the_estimates(survey_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "estimates.csv"
    runner = CliRunner()
    result = runner.invoke(
        build_app(["_evaluation"]),
        ["evaluate", "survey", "--data", str(survey_csv), "--by", "region,year",
         "--out", str(out), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["rows"] == 15 and payload["suppressed"] == 0
    written = pd.read_csv(out, encoding="utf-8-sig")
    assert set(written["region"]) == {"ALA", "AST", "SHY", "KGD", "KST"}
