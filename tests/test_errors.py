"""The one problem type and coded errors: English from the details catalogue only."""

from __future__ import annotations

import ast
import pickle
from dataclasses import replace
from pathlib import Path

import pytest

import nudge
from nudge._catalogue import english, load_details
from nudge._errors import (
    BatchValidationError,
    InfeasibleError,
    InputFileError,
    Notice,
    Problem,
    RecordBatchError,
    RecordError,
    RowProblem,
)
from nudge.content._violations import Violation
from nudge.i18n import error_text, notice_text, problem_text

PACKAGE = Path(nudge.__file__).parent
CATALOGUE_ONLY = (
    "content",
    "placement",
    "geo",
    "registry",
    "io",
    "field",
    "evaluation/survey.py",
    "evaluation/questionnaire.py",
)


def test_a_problem_says_its_code_in_english_from_the_catalogue_and_in_every_language() -> None:
    problem = Problem(code="field-required", params={"field": "text_kk"}, column="text_kk")
    assert problem.message == str(problem) == "text_kk is required but empty."
    assert problem_text(problem, "kk") != problem.message
    assert "text_kk" in problem_text(problem, "ru")
    assert problem.as_dict() == {
        "column": "text_kk",
        "code": "field-required",
        "severity": "error",
        "message": "text_kk is required but empty.",
    }
    unknown = Problem(code="no-such-code", params={})
    assert unknown.message == "no-such-code" == problem_text(unknown, "kk")


def test_a_row_problem_is_a_problem_with_a_row_and_keeps_a_written_message() -> None:
    coded = RowProblem(3, code="counts_bad_count", params={"value": "-1"}, column="count")
    assert isinstance(coded, Problem) and coded.row == 3
    assert coded.message == "The count '-1' is not a number of 0 or more."
    written = RowProblem(2, "bad", "lat")  # the older positional form still works
    assert (written.row, written.message, written.column, written.code) == (2, "bad", "lat", None)
    moved = replace(coded, row=9)
    assert type(moved) is RowProblem and (moved.row, moved.message) == (9, coded.message)
    assert pickle.loads(pickle.dumps(coded)) == coded
    assert RowProblem(2, "bad") != RowProblem(3, "bad")


def test_a_violation_is_a_problem_at_a_site_and_flight() -> None:
    v = Violation(
        code="rotation_gap", params={"n": 1, "before": 2, "gap": 3}, site="s1", flight=3, entry="p1"
    )
    assert (v.rule, v.site_id, v.item_id) == ("gap", "s1", "p1")
    assert v.as_dict() == {
        "rule": "gap",
        "site_id": "s1",
        "flight": 3,
        "item_id": "p1",
        "message": english("rotation_gap", v.params),
    }
    assert Violation(code="rotation_lock_example", params={"item": "p1"}).rule == "locked"


def test_an_error_raised_with_a_code_alone_has_the_catalogue_english() -> None:
    exc = RecordError(code="user_exists", user="bob")
    assert str(exc) == "User 'bob' already exists."
    assert error_text(exc, "kk") != str(exc) and "bob" in error_text(exc, "kk")
    again = pickle.loads(pickle.dumps(exc))
    assert (str(again), again.code, again.params) == (str(exc), "user_exists", {"user": "bob"})
    assert str(RecordError("Written English.", code="user_exists", user="x")) == "Written English."
    assert str(RecordError(code="no-such-code")) == "no-such-code"


def test_a_notice_is_text_from_the_catalogue_and_its_problem() -> None:
    note = Notice(code="plan_excluded_not_candidates", n=2)
    assert note == "2 excluded id(s) are not candidates and were ignored."
    assert notice_text(note, "ru") != str(note)
    assert note.problem == Problem(
        "plan_excluded_not_candidates", {"n": 2}, severity="warning", written=str(note)
    )
    assert pickle.loads(pickle.dumps(note)).params == {"n": 2}


def test_a_problem_inside_a_text_is_said_in_the_same_language() -> None:
    first = RowProblem(2, code="counts_bad_count", params={"value": "-5"}, column="count")
    exc = InfeasibleError(
        code="validate_too_few_good_counts", matched=0, need=10, bad=1, row=2, problem=first
    )
    assert "The count '-5' is not a number of 0 or more. Counts must" in str(exc)
    kk = error_text(exc, "kk")
    assert problem_text(first, "kk") in kk and "The count" not in kk


def test_english_names_the_regions_of_a_coded_text() -> None:
    import nudge.geo.regions  # noqa: F401  (registers the English region names)

    exc = RecordError(code="denied_outside_regions", user="a", regions="ALA, AST", region="KGD")
    assert "Almaty, Astana" in str(exc) and "Karaganda" in str(exc)


def test_a_batch_lists_its_row_problems() -> None:
    batch = BatchValidationError([RowProblem(2, code="placement_bad_coordinates")], what="file")
    assert "row 2: Missing or invalid coordinates." in str(batch)


def test_a_batch_may_name_its_own_headline_and_be_a_record_error() -> None:
    rows = [RowProblem(7, code="eval_survey_bad_weight", column="weight")]
    batch = RecordBatchError(rows, what="w.csv", code="eval_survey_problems", name="w.csv")
    assert isinstance(batch, RecordError) and isinstance(batch, BatchValidationError)
    assert str(batch).splitlines() == [
        "The file w.csv has problems in 1 row(s), nothing was imported; each is listed with "
        "its row number.",
        "row 7: The weight is missing or not above 0.",
    ]
    assert "ештеңе импортталмады" in error_text(batch, "kk")
    again = pickle.loads(pickle.dumps(batch))
    assert (type(again), str(again), again.params) == (RecordBatchError, str(batch), batch.params)


def test_problems_inside_a_text_are_each_said_in_the_same_language() -> None:
    from nudge.evaluation.questionnaire import questionnaire_from_dict

    with pytest.raises(InputFileError) as info:
        questionnaire_from_dict({"columns": {"region": "r"}, "indices": {"x": {"items": []}}})
    problems = info.value.params["problems"]
    assert isinstance(problems, tuple) and all(isinstance(p, Problem) for p in problems)
    assert "[columns] lacks weight; index 'x': items must be" in str(info.value)
    kk = error_text(info.value, "kk")
    assert "[columns] ішінде weight рөлі жоқ; «x» индексі:" in kk and "lacks" not in kk
    empty = RecordError(code="eval_map_problems", name="m", problems=())
    assert str(empty) == "The questionnaire map m has problems: ()."


def test_a_submission_problem_is_a_row_problem_of_an_entry() -> None:
    from nudge.field.imports import SubmissionProblem

    p = SubmissionProblem("uuid:1", 3, code="field_instance_missing", params={"submission": "x"})
    assert isinstance(p, RowProblem) and (p.submission, p.row, p.entry) == ("uuid:1", 3, "uuid:1")
    assert p.as_dict() == {"submission": "uuid:1", "row": 3, "message": p.message, "code": p.code}
    assert p.message == english("field_instance_missing", p.params) and p.message
    assert pickle.loads(pickle.dumps(p)) == p


def _sentence(node: ast.expr) -> bool:
    """Return whether `node` writes English words (not a column name such as ``"lat"``)."""
    if isinstance(node, ast.Lambda):
        return _sentence(node.body)
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value


def _written_english_beside_a_code(path: Path) -> list[str]:
    """Return the calls in `path` that pass English text and a code the catalogue holds."""
    details, found = load_details(), []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        code = next((k.value for k in node.keywords if k.arg == "code"), None)
        if not (isinstance(code, ast.Constant) and code.value in details):
            continue
        first, *others = node.args
        text = isinstance(first, ast.JoinedStr) or (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        )
        text |= any(_sentence(arg) for arg in others)  # ``p.add(mask, "lat", "English", code=)``
        if text or (isinstance(first, ast.Name) and first.id == "msg"):
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {code.value}")
    return found


def test_the_english_of_coded_problems_is_written_only_in_the_catalogue() -> None:
    paths: list[Path] = []
    for part in CATALOGUE_ONLY:
        target = PACKAGE / part
        paths += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert len(paths) > 30
    written = [w for p in paths for w in _written_english_beside_a_code(p)]
    allowed = {"geo/regions.py"}  # a point outside Kazakhstan names its coordinates to 6 places
    assert [w for w in written if w.split(":")[0] not in allowed] == []


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_every_problem_code_the_content_checks_use_is_said(lang: str) -> None:
    from nudge.content.language import check_kazakh, check_russian

    issues = check_kazakh(' Енбек - "береке"  ') + check_russian("Қала - жақсы")
    assert {i.code for i in issues} >= {"missing-kazakh-letter", "typography", "kazakh-in-russian"}
    assert all(problem_text(i, lang) != i.code and "{" not in problem_text(i, lang) for i in issues)
