"""Hostile and broken files at every entry point end in a clear message, fast (issues 15 and 16).

Decompression bombs (an XLSX zip bomb, a ``.osm.bz2`` bomb, a YAML "billion laughs"),
oversized files, garbage given as exclusion zones or districts, layers in metres instead
of degrees, and the encodings and layouts spreadsheets come in (BOMs, UTF-16, semicolons,
decimal commas, empty sheets, merged cells). Every case either fails with a coded error
whose text exists in Kazakh and Russian, or is a documented acceptance checked here; a CLI
command exits with code 2 and one message, no traceback; nothing is written halfway; each
case takes well under 10 s without memory climbing.

Every hostile file is made here, in ``tmp_path``; none is committed.
"""

from __future__ import annotations

import bz2
import csv
import functools
import io
import json
import random
import re
import resource
import shutil
import sys
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from registry_support import ALMATY, Users, table_counts
from shapely.geometry import Point, box
from sqlalchemy.engine import Engine

from nudge._errors import NudgeError
from nudge.cli import build_app
from nudge.cli._common import run_app
from nudge.content import campaign_from_file, import_items
from nudge.content._io import rows_from_file
from nudge.content.language import KAZAKH_LETTERS
from nudge.content.library import ContentLibrary
from nudge.i18n import error_text, notice_text
from nudge.io import limits
from nudge.io.exports import write_geoframe
from nudge.io.tables import coordinates_of, read_table
from nudge.osm.datasets import dataset_from_files, dataset_from_layers, save_dataset
from nudge.osm.features import features_from_tags
from nudge.osm.files import OsmLayers, layers_from_file
from nudge.osm.streets import streets_from_lines
from nudge.placement import (
    candidates_from_dataset,
    candidates_from_file,
    counts_from_file,
    mark_exclusions,
    plan_files,
    score_candidates,
)
from nudge.placement.selection import MaximalCoverage
from nudge.registry import import_installations

pytest_plugins = ["registry_support"]
pytestmark = [
    pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning"),  # files without CRS
    pytest.mark.filterwarnings("ignore:GPKG. bad application_id:RuntimeWarning"),
]

SECONDS = 10.0
MEMORY_MB = 300.0
SEED = 15

# --- checks ------------------------------------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_users_language(item: BaseException | str) -> None:
    """Check that a coded error or warning is said in Kazakh and Russian, not in English."""
    english = str(item)
    say = error_text if isinstance(item, BaseException) else notice_text
    kk, ru = say(item, "kk"), say(item, "ru")  # type: ignore[arg-type]
    assert kk != english and re.search("[а-яәғқңөұүһі]", kk.lower()), kk
    assert ru != english and re.search("[а-яё]", ru.lower()), ru
    assert not set(ru) & (KAZAKH_LETTERS - set("іІ")), ru  # Russian, not Kazakh
    for text in (english, kk, ru):
        assert "Traceback" not in text and " object at 0x" not in text


def refused(call: Callable[[], object], code: str) -> NudgeError:
    """Run `call` and check it fails fast, without memory climbing, with the error `code`."""
    start, peak = time.perf_counter(), _peak_mb()
    with pytest.raises(NudgeError) as info:
        call()
    assert time.perf_counter() - start < SECONDS
    assert _peak_mb() - peak < MEMORY_MB
    assert info.value.code == code, f"{info.value.code}: {info.value}"
    _in_users_language(info.value)
    return info.value


def quick(call: Callable[[], Any]) -> Any:
    """Run `call` (an accepted file) and check it is fast."""
    start = time.perf_counter()
    result = call()
    assert time.perf_counter() - start < SECONDS
    return result


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], module: str, *args: str
) -> tuple[int, str, str]:
    """Run the CLI in this process as the ``nudge`` script does; return code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["nudge", *args])
    start = time.perf_counter()
    code = 0
    try:
        run_app(build_app((module,)))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    assert time.perf_counter() - start < SECONDS
    out = capsys.readouterr()
    return code, out.out, out.err


def cli_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], module: str, *args: str
) -> str:
    """Run the CLI, check exit code 2 with one error line and no traceback; return stderr."""
    code, out, err = cli(monkeypatch, capsys, module, *args)
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    return err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Return every file under `folder` with its content (hidden temporary files too)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- hostile files, made in code ----------------------------------------------------------------

SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
    b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = b"</sheetData></worksheet>"


def xlsx_bytes(rows: list[list[Any]], *, merged: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    if merged:
        sheet.merge_cells(merged)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_sheet(write_sheet: Callable[[Any], None], header: list[str]) -> bytes:
    """Return an XLSX workbook whose first sheet's XML `write_sheet` writes (streamed)."""
    template = zipfile.ZipFile(io.BytesIO(xlsx_bytes([header])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for info in template.infolist():
            if info.filename != SHEET:
                book.writestr(info.filename, template.read(info.filename))
                continue
            with book.open(SHEET, "w", force_zip64=True) as sheet:
                write_sheet(sheet)
    return out.getvalue()


@functools.cache
def xlsx_bomb_bytes(unpacked_mb: int = 96) -> bytes:
    """Return a ~0.2 MB workbook whose sheet unpacks to `unpacked_mb` MB (a zip bomb)."""
    row = b'<row><c t="inlineStr"><is><t>' + b"A" * 1000 + b"</t></is></c></row>"
    chunk = row * 1024

    def write(sheet: Any) -> None:
        sheet.write(SHEET_HEAD)
        for _ in range(unpacked_mb * 1024 * 1024 // len(chunk)):
            sheet.write(chunk)
        sheet.write(SHEET_TAIL)

    return _with_sheet(write, ["id", "kind", "text_kk"])


def xlsx_bomb(path: Path) -> Path:
    path.write_bytes(xlsx_bomb_bytes())
    return path


def xlsx_forged(path: Path) -> Path:
    """Write a workbook whose zip directory says its sheet is 100 bytes, though it is 1 MB."""
    rows = [["lat", "lon", "name"]] + [[43.2, 76.9, "x" * 100] for _ in range(8000)]
    data = bytearray(xlsx_bytes(rows))
    name = SHEET.encode()
    for signature, name_at, size_at, header in (
        (b"PK\x01\x02", 28, 24, 46),
        (b"PK\x03\x04", 26, 22, 30),
    ):
        at = data.find(signature)
        while at >= 0:
            length = int.from_bytes(data[at + name_at : at + name_at + 2], "little")
            if data[at + header : at + header + length] == name:
                data[at + size_at : at + size_at + 4] = (100).to_bytes(4, "little")
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


LAUGHS_DTD = (
    '<!DOCTYPE lolz [<!ENTITY a "lollollollol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>"
)


def xlsx_laughs(path: Path) -> Path:
    """Write a workbook whose sheet XML expands entities a billion times (billion laughs)."""

    def write(sheet: Any) -> None:
        sheet.write(b'<?xml version="1.0"?>' + LAUGHS_DTD.encode())
        sheet.write(SHEET_HEAD.split(b"?>", 1)[1])
        sheet.write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>&j;</t></is></c></row>')
        sheet.write(SHEET_TAIL)

    path.write_bytes(_with_sheet(write, ["lat", "lon"]))
    return path


@functools.cache
def _bz2_stream() -> bytes:
    return bz2.compress(b'<?xml version="1.0"?>\n<osm version="0.6">' + b" " * (8 << 20))


def bz2_bomb(path: Path) -> Path:
    """Write a 12 KB ``.osm.bz2`` that unpacks to 1 GB (128 streams of 8 MB)."""
    path.write_bytes(_bz2_stream() * 128)
    return path


def sparse(path: Path, size: int, *, head: bytes = b"") -> Path:
    """Write a file of `size` bytes that takes no disk space (a size check must refuse it)."""
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def big_yaml(path: Path, size: int = 100 * 1024 * 1024) -> Path:
    """Write a real YAML content file of about `size` bytes, in chunks."""
    entry = "- {id: p%07d, kind: proverb, text_kk: 'Еңбек етсең ерінбей, тояды қарның тіленбей'}\n"
    block = "".join(entry % i for i in range(10_000)).encode()
    with path.open("wb") as handle:
        for _ in range(size // len(block) + 1):
            handle.write(block)
    return path


def noise(size: int = 4096, *, seed: int = SEED) -> bytes:
    return random.Random(seed).randbytes(size)


def write(path: Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def square(x: float, y: float, side: float) -> dict[str, Any]:
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


BOWTIE = {  # a self-intersecting polygon near Astana's test origin
    "type": "Polygon",
    "coordinates": [
        [[71.40, 51.10], [71.41, 51.11], [71.41, 51.10], [71.40, 51.11], [71.40, 51.10]]
    ],
}
CRS84 = "urn:ogc:def:crs:OGC:1.3:CRS84"
UTM43 = "urn:ogc:def:crs:EPSG::32643"


def geojson(geometries: list[dict[str, Any]], *, crs: str | None = None, **props: Any) -> str:
    features = [
        {"type": "Feature", "properties": {"name": f"F{i}", **props}, "geometry": g}
        for i, g in enumerate(geometries)
    ]
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc, ensure_ascii=False)


def point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [x, y]}


METRES = [square(500_000 + 200 * i, 4_780_000, 100) for i in range(3)]  # UTM 43N, no CRS said
METRE_POINTS = [point(500_000 + 200 * i, 4_780_000) for i in range(3)]


def vector(path: Path, geoms: list[Any], *, crs: Any, **columns: Any) -> Path:
    """Write a GeoPackage or shapefile (by suffix); ``crs=None`` writes no CRS (no .prj)."""
    frame = gpd.GeoDataFrame(
        {"name": [f"F{i}" for i in range(len(geoms))], **columns}, geometry=geoms, crs=crs
    )
    frame.to_file(path)
    return path


def html(path: Path) -> Path:
    return write(path, "<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>")


OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hostile-tests">
 <node id="1" lat="51.1000" lon="71.4000">
  <tag k="leisure" v="park"/><tag k="name" v="Саябақ"/>
 </node>
 <node id="2" lat="51.1010" lon="71.3990"/>
 <node id="3" lat="51.1010" lon="71.4020"/>
 <way id="10"><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/><tag k="name" v="Абай"/></way>
</osm>
"""

# --- 1. the one table reader: registry imports, own sites, counts -----------------------------

TABLE_REFUSED: dict[str, tuple[Callable[[Path], Path], str]] = {
    "xlsx-zip-bomb": (lambda t: xlsx_bomb(t / "batch.xlsx"), "file_unpacks_too_large"),
    "xlsx-lying-zip-directory": (lambda t: xlsx_forged(t / "batch.xlsx"), "xlsx_unreadable"),
    "xlsx-billion-laughs": (lambda t: xlsx_laughs(t / "batch.xlsx"), "xlsx_unreadable"),
    "xlsx-random-bytes": (lambda t: write(t / "batch.xlsx", noise()), "xlsx_unreadable"),
    "xlsx-zip-header-only": (
        lambda t: write(t / "b.xlsx", b"PK\x03\x04" + bytes(60)),
        "xlsx_unreadable",
    ),
    "xlsx-cut-in-half": (
        lambda t: write(t / "b.xlsx", xlsx_bytes([["lat", "lon"], [43.2, 76.9]])[:3000]),
        "xlsx_unreadable",
    ),
    "xlsx-empty-sheet": (lambda t: write(t / "b.xlsx", xlsx_bytes([])), "table_no_rows"),
    "xlsx-header-only": (
        lambda t: write(t / "b.xlsx", xlsx_bytes([["lat", "lon"]])),
        "table_no_rows",
    ),
    "csv-oversized": (lambda t: sparse(t / "batch.csv", 25 * 1024 * 1024), "table_too_large"),
    "csv-empty": (lambda t: write(t / "batch.csv", b""), "table_file_empty"),
    "csv-header-only": (lambda t: write(t / "batch.csv", "lat,lon\n"), "table_no_rows"),
    "csv-binary": (lambda t: write(t / "batch.csv", bytes(64) + noise()), "csv_binary"),
    "csv-random-bytes-named-csv": (
        lambda t: write(t / "batch.csv", noise(seed=3) + bytes(8)),
        "csv_binary",
    ),
    "csv-undecodable-bytes": (
        lambda t: write(t / "batch.csv", b"lat,lon,name\n43.2,76.9,\x98\xff\n"),
        "csv_unreadable",
    ),
    "csv-unclosed-quote": (
        lambda t: write(t / "batch.csv", 'lat,lon,name\n43.2,76.9,"Абай\n43.3,76.8,x\n'),
        "csv_unreadable",
    ),
    "csv-first-row-longer-than-header": (
        lambda t: write(t / "batch.csv", "lat,lon\n43.2,76.9,banner,x\n43.3,76.8\n"),
        "csv_unreadable",
    ),
    "csv-later-row-longer": (
        lambda t: write(t / "batch.csv", "lat,lon\n43.2,76.9\n43.3,76.8,x\n"),
        "csv_unreadable",
    ),
    "geojson-not-json": (lambda t: write(t / "b.geojson", '{"type": "Feat'), "geojson_invalid"),
    "geojson-nested-too-deep": (lambda t: write(t / "b.geojson", "[" * 100_000), "geojson_invalid"),
    "geojson-an-array": (lambda t: write(t / "b.geojson", "[1, 2]"), "geojson_not_collection"),
    "geojson-binary-in-no-encoding": (  # 0x98 is no character of UTF-8 or Windows-1251
        lambda t: write(t / "b.geojson", b'{"type": "\x98\xff"}'),
        "geojson_invalid",
    ),
    "geojson-features-not-a-list": (
        lambda t: write(t / "b.geojson", '{"type": "FeatureCollection", "features": 5}'),
        "geojson_not_collection",
    ),
    "geojson-features-are-numbers": (
        lambda t: write(t / "b.geojson", '{"type": "FeatureCollection", "features": [1, 2]}'),
        "geojson_invalid",
    ),
    "geojson-properties-a-list": (
        lambda t: write(
            t / "b.geojson",
            '{"type": "FeatureCollection", "features": '
            '[{"type": "Feature", "properties": [1], "geometry": null}]}',
        ),
        "geojson_invalid",
    ),
    "html-named-docx": (lambda t: html(t / "batch.docx"), "table_unknown_kind"),
    "missing": (lambda t: t / "nowhere.csv", "table_file_missing"),
}


@pytest.mark.parametrize("case", TABLE_REFUSED)
def test_table_reader_refuses(case: str, tmp_path: Path) -> None:
    make, code = TABLE_REFUSED[case]
    path = make(tmp_path)
    refused(lambda: read_table(path), code)


def test_table_reader_refuses_an_oversized_upload() -> None:
    refused(
        lambda: read_table(b"lat,lon\n" * 2000, name="up.csv", max_bytes=1000), "table_too_large"
    )


ASTANA_ROWS = [(51.1282, 71.4307), (51.09, 71.41)]


def _rows(header: str, sep: str, *, comma: bool = False, name: str = "Абай даңғылы") -> str:
    lines = [header]
    for lat, lon in ASTANA_ROWS:
        cells = [str(lat), str(lon)]
        lines.append(
            sep.join([c.replace(".", ",") for c in cells] if comma else cells) + sep + name
        )
    return "\n".join(lines) + "\n"


TABLE_ACCEPTED: dict[str, Callable[[Path], Path]] = {
    "csv-utf8-bom": lambda t: write(t / "b.csv", "\ufeff" + _rows("lat,lon,name", ",")),
    "csv-utf16-le-bom": lambda t: write(t / "b.csv", _rows("lat,lon,name", ","), encoding="utf-16"),
    "csv-utf16-be-bom": lambda t: write(
        t / "b.csv", b"\xfe\xff" + _rows("lat\tlon\tname", "\t").encode("utf-16-be")
    ),
    "csv-windows-1251": lambda t: write(
        t / "b.csv", _rows("lat;lon;name", ";", name="проспект Абая"), encoding="cp1251"
    ),
    "csv-semicolons-decimal-commas-russian-headers": lambda t: write(
        t / "b.csv", _rows("широта;долгота;название", ";", comma=True)
    ),
    "csv-kazakh-headers-tabs": lambda t: write(t / "b.tsv", _rows("ендік\tбойлық\tатауы", "\t")),
    "csv-pipes": lambda t: write(t / "b.csv", _rows("lat|lon|name", "|")),
    "csv-mixed-decimal-commas": lambda t: write(
        t / "b.csv", "lat;lon;name\n51,1282;71.4307;a\n51.09;71,41;b\n"
    ),
    "csv-formula-as-text": lambda t: write(
        t / "b.csv", _rows("lat,lon,name", ",").replace("Абай даңғылы", '"=HYPERLINK(""x"")"')
    ),
    "xlsx-merged-cells": lambda t: write(
        t / "b.xlsx",
        xlsx_bytes(
            [["lat", "lon", "name"], [*ASTANA_ROWS[0], "Абай"], [*ASTANA_ROWS[1], None]],
            merged="C2:C3",
        ),
    ),
    "geojson-utf16": lambda t: write(
        t / "b.geojson", geojson([point(lon, lat) for lat, lon in ASTANA_ROWS]), encoding="utf-16"
    ),
    "geojson-row-property-ignored": lambda t: write(
        t / "b.geojson", geojson([point(lon, lat) for lat, lon in ASTANA_ROWS], row="oops")
    ),
}


@pytest.mark.parametrize("case", TABLE_ACCEPTED)
def test_table_reader_accepts(case: str, tmp_path: Path) -> None:
    """BOMs, UTF-16, cp1251, any delimiter, decimal commas, merged cells: read as meant."""
    path = TABLE_ACCEPTED[case](tmp_path)
    table, _ = quick(lambda: read_table(path))
    assert table["row"].tolist() == ([1, 2] if path.suffix == ".geojson" else [2, 3])
    lat, lon = coordinates_of(table, name=path.name)
    assert [*lat, *lon] == pytest.approx([r[0] for r in ASTANA_ROWS] + [r[1] for r in ASTANA_ROWS])


# --- 2. own sites and counts: metres are refused as a whole ------------------------------------


def _metres_csv(path: Path, header: str = "lat,lon") -> Path:
    return write(path, f"{header}\n4780000,500000\n4780100,500200\n")


SITES_REFUSED: dict[str, tuple[Callable[[Path], Path], str]] = {
    "csv-metres": (lambda t: _metres_csv(t / "sites.csv"), "coordinates_not_degrees"),
    "csv-x-y-metres": (lambda t: _metres_csv(t / "sites.csv", "y,x"), "coordinates_not_degrees"),
    "geojson-metres-no-crs": (
        lambda t: write(t / "sites.geojson", geojson(METRE_POINTS)),
        "coordinates_not_degrees",
    ),
    "geojson-metres-said-wgs84": (
        lambda t: write(t / "sites.geojson", geojson(METRE_POINTS, crs=CRS84)),
        "coordinates_not_degrees",
    ),
    "gpkg-metres-no-crs": (
        lambda t: vector(t / "sites.gpkg", [Point(5e5, 4.78e6), Point(5e5, 4.79e6)], crs=None),
        "coordinates_not_degrees",
    ),
    "shp-metres-no-prj": (
        lambda t: vector(t / "sites.shp", [Point(5e5, 4.78e6)], crs=None),
        "coordinates_not_degrees",
    ),
    "xlsx-zip-bomb": (lambda t: xlsx_bomb(t / "sites.xlsx"), "file_unpacks_too_large"),
    "gpkg-random-bytes": (lambda t: write(t / "sites.gpkg", noise()), "candidates_file_unreadable"),
    "parquet-html": (lambda t: html(t / "sites.parquet"), "candidates_file_unreadable"),
}


@pytest.mark.parametrize("case", SITES_REFUSED)
def test_own_sites_refused(case: str, tmp_path: Path) -> None:
    make, code = SITES_REFUSED[case]
    path = make(tmp_path)
    refused(lambda: candidates_from_file(path, kind="banner"), code)


@pytest.mark.parametrize(
    ("case", "make", "code"),
    [
        (
            "csv-metres",
            lambda t: write(t / "c.csv", "lat,lon,count\n4780000,500000,10\n"),
            "coordinates_not_degrees",
        ),
        ("xlsx-zip-bomb", lambda t: xlsx_bomb(t / "c.xlsx"), "file_unpacks_too_large"),
        (
            "geojson-metres",
            lambda t: write(t / "c.geojson", geojson(METRE_POINTS, count=3)),
            "coordinates_not_degrees",
        ),
    ],
)
def test_counts_refused(case: str, make: Callable[[Path], Path], code: str, tmp_path: Path) -> None:
    path = make(tmp_path)
    refused(lambda: counts_from_file(path), code)


def test_own_sites_some_rows_outside_are_row_problems(tmp_path: Path) -> None:
    """A few rows out of range are that rows' problems; the good rows are kept."""
    path = write(tmp_path / "s.csv", "lat,lon\n51.1,71.4\n4780000,500000\nnan,71.4\ninf,1\n")
    sites, problems = quick(lambda: candidates_from_file(path, kind="banner"))
    assert len(sites) == 1
    assert [(p.row, p.code) for p in problems] == [
        (r, "placement_bad_coordinates") for r in (3, 4, 5)
    ]


def test_own_sites_accept_self_intersecting_polygons_and_a_declared_projection(
    tmp_path: Path,
) -> None:
    bow = write(tmp_path / "bow.geojson", geojson([BOWTIE]))
    sites, problems = quick(lambda: candidates_from_file(bow, kind="exhibition"))
    assert (len(sites), problems) == (1, [])
    utm = vector(tmp_path / "utm.gpkg", [Point(5e5, 4.78e6)], crs=32643)
    sites, _ = quick(lambda: candidates_from_file(utm, kind="banner"))
    assert sites.geometry.x.iloc[0] == pytest.approx(75.0)


def test_own_sites_with_decimal_commas_and_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "lat;lon;name\n51,1282;71,4307;Абай\n", encoding="utf-16")
    sites, problems = quick(lambda: candidates_from_file(path, kind="banner"))
    assert problems == []
    assert (sites.geometry.y.iloc[0], sites.geometry.x.iloc[0]) == pytest.approx(ASTANA_ROWS[0])


# --- 3. exclusion zones (score --exclude) and districts (plan --districts) ----------------------

GARBAGE_LAYERS: dict[str, Callable[[Path, str], Path]] = {
    "random-bytes-geojson": lambda t, n: write(t / f"{n}.geojson", noise()),
    "text-geojson": lambda t, n: write(t / f"{n}.geojson", "not a map at all"),
    "html-geojson": lambda t, n: html(t / f"{n}.geojson"),
    "empty-geojson": lambda t, n: write(t / f"{n}.geojson", b""),
    "truncated-geojson": lambda t, n: write(t / f"{n}.geojson", geojson([BOWTIE])[:40]),
    "random-bytes-gpkg": lambda t, n: write(t / f"{n}.gpkg", noise()),
    "random-bytes-shp": lambda t, n: write(t / f"{n}.shp", noise()),
    "random-bytes-parquet": lambda t, n: write(t / f"{n}.parquet", noise()),
    "random-bytes-xlsx": lambda t, n: write(t / f"{n}.xlsx", noise()),
}


@pytest.mark.parametrize("case", GARBAGE_LAYERS)
def test_garbage_exclusion_file_is_refused(case: str, tmp_path: Path) -> None:
    path = GARBAGE_LAYERS[case](tmp_path, "zones")
    error = refused(lambda: plan_files.exclusions_from_file(path), "plan_file_unreadable")
    assert "<DRIVER>" not in str(error)  # GDAL's advice on driver prefixes, no use to a user


@pytest.mark.parametrize("case", GARBAGE_LAYERS)
def test_garbage_district_file_is_refused(case: str, tmp_path: Path) -> None:
    path = GARBAGE_LAYERS[case](tmp_path, "districts")
    refused(lambda: plan_files.districts_from_file(path), "plan_file_unreadable")


LAYERS_REFUSED: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    # case: (file, code for exclusions, code for districts)
    "metres-no-crs": (
        lambda t: write(t / "l.geojson", geojson(METRES)),
        "coordinates_not_degrees",
        "coordinates_not_degrees",
    ),
    "metres-said-wgs84": (
        lambda t: write(t / "l.geojson", geojson(METRES, crs=CRS84)),
        "coordinates_not_degrees",
        "coordinates_not_degrees",
    ),
    "metres-shp-no-prj": (
        lambda t: vector(t / "l.shp", [box(5e5, 4.78e6, 5.01e5, 4.781e6)], crs=None),
        "coordinates_not_degrees",
        "districts_file_without_crs",
    ),
    "points": (
        lambda t: write(t / "l.geojson", geojson([point(71.4, 51.1)])),
        "exclusions_file_not_polygons",
        "districts_file_not_polygons",
    ),
    "a-csv-table": (
        lambda t: write(t / "l.csv", "name,lat,lon\nA,51.1,71.4\n"),
        "exclusions_file_not_polygons",
        "districts_file_without_crs",
    ),
    "binary-csv": (lambda t: write(t / "l.csv", bytes(16) + noise()), "csv_binary", "csv_binary"),
    "xlsx-zip-bomb": (
        lambda t: xlsx_bomb(t / "l.xlsx"),
        "file_unpacks_too_large",
        "file_unpacks_too_large",
    ),
    "missing": (lambda t: t / "nowhere.geojson", "plan_file_missing", "plan_file_missing"),
}


@pytest.mark.parametrize("case", LAYERS_REFUSED)
def test_exclusion_layer_refused(case: str, tmp_path: Path) -> None:
    make, code, _ = LAYERS_REFUSED[case]
    path = make(tmp_path)
    refused(lambda: plan_files.exclusions_from_file(path), code)


@pytest.mark.parametrize("case", LAYERS_REFUSED)
def test_district_layer_refused(case: str, tmp_path: Path) -> None:
    make, _, code = LAYERS_REFUSED[case]
    path = make(tmp_path)
    refused(lambda: plan_files.districts_from_file(path), code)


def test_layers_in_a_declared_projection_or_self_intersecting_are_accepted(
    tmp_path: Path,
) -> None:
    """A true projected CRS is converted; a bow-tie is repaired and still excludes its inside."""
    utm = write(tmp_path / "utm.geojson", geojson([square(5e5, 4.78e6, 1000)], crs=UTM43))
    for read in (plan_files.exclusions_from_file, plan_files.districts_from_file):
        layer = quick(lambda read=read: read(utm))
        assert layer.crs.to_epsg() == 4326
        assert layer.total_bounds[0] == pytest.approx(75.0, abs=0.01)
    bow = write(tmp_path / "bow.geojson", geojson([BOWTIE], district="Есіл"))
    zones = quick(lambda: plan_files.exclusions_from_file(bow))
    assert zones.is_valid.all()
    inside = gpd.GeoDataFrame(
        {"excluded": [False, False], "exclusion_reason": pd.array([None, None], dtype="string")},
        geometry=[Point(71.402, 51.105), Point(71.5, 51.2)],
        crs=4326,
    )
    marked = mark_exclusions(inside, None, buffer=0.0, user_zones=zones)
    assert marked["excluded"].tolist() == [True, False]
    districts = quick(lambda: plan_files.districts_from_file(bow))
    assert districts.is_valid.all() and len(districts) == 1
    no_prj = vector(tmp_path / "deg.shp", [box(71.4, 51.1, 71.41, 51.11)], crs=None)
    assert quick(lambda: plan_files.exclusions_from_file(no_prj)).crs.to_epsg() == 4326


def test_a_district_layer_covering_no_site_is_a_warning(tmp_path: Path) -> None:
    sites = gpd.GeoDataFrame(
        {"kind": "banner", "score": [1.0, 2.0], "excluded": False},
        geometry=[Point(71.40, 51.10), Point(71.41, 51.10)],
        crs=4326,
        index=pd.Index(["a", "b"], name="candidate_id"),
    )
    demand = gpd.GeoDataFrame({"weight": [1.0]}, geometry=[Point(71.40, 51.10)], crs=4326)
    almaty = gpd.GeoDataFrame(
        {"district": ["Алмалы"]}, geometry=[box(76.8, 43.2, 76.9, 43.3)], crs=4326
    )
    model = quick(
        lambda: MaximalCoverage.from_geodataframe(
            sites, demand, kind="banner", count=1, districts=almaty
        )
    )
    result = model.solve()
    warning = next(w for w in result.warnings if w.code == "plan_districts_cover_no_sites")
    assert "None of the 2 candidate sites" in warning
    _in_users_language(warning)
    covered = MaximalCoverage.from_geodataframe(
        sites,
        demand,
        kind="banner",
        count=1,
        districts=gpd.GeoDataFrame(
            {"district": ["Есіл"]}, geometry=[box(71, 51, 72, 52)], crs=4326
        ),
    ).solve()
    assert not any(
        getattr(w, "code", None) == "plan_districts_cover_no_sites" for w in covered.warnings
    )


# --- 4. the other files of a plan -------------------------------------------------------------

PLAN_FILES_REFUSED: dict[str, tuple[Callable[[Path], Any], str]] = {
    "exclude-ids-binary-txt": (
        lambda t: plan_files.site_ids_from_file(write(t / "ids.txt", bytes(8) + noise())),
        "csv_binary",
    ),
    "exclude-ids-undecodable-txt": (
        lambda t: plan_files.site_ids_from_file(write(t / "ids.txt", b"banner/1\n\x98\xff\n")),
        "plan_file_unreadable",
    ),
    "lock-ids-random-xlsx": (
        lambda t: plan_files.site_ids_from_file(write(t / "lock.xlsx", noise())),
        "plan_file_unreadable",
    ),
    "population-zip-bomb": (
        lambda t: plan_files.population_from_file(xlsx_bomb(t / "pop.xlsx")),
        "file_unpacks_too_large",
    ),
    "population-oversized-csv": (
        lambda t: plan_files.population_from_file(sparse(t / "pop.csv", 25 * 1024 * 1024)),
        "table_too_large",
    ),
    "population-html-gpkg": (
        lambda t: plan_files.population_from_file(html(t / "pop.gpkg")),
        "plan_file_unreadable",
    ),
    "cost-binary-toml": (
        lambda t: plan_files.costs_from_file(write(t / "cost.toml", noise())),
        "cost_file_bad_toml",
    ),
    "quota-random-xlsx": (
        lambda t: plan_files.quota_from_file(write(t / "quota.xlsx", noise())),
        "plan_file_unreadable",
    ),
}


@pytest.mark.parametrize("case", PLAN_FILES_REFUSED)
def test_plan_files_refused(case: str, tmp_path: Path) -> None:
    read, code = PLAN_FILES_REFUSED[case]
    refused(lambda: read(tmp_path), code)


def test_plan_files_in_utf16_and_with_semicolons_are_read(tmp_path: Path) -> None:
    ids = write(tmp_path / "ids.txt", "# locked\nbanner/1\nbanner/2\n", encoding="utf-16")
    assert quick(lambda: plan_files.site_ids_from_file(ids)) == ["banner/1", "banner/2"]
    pop = write(
        tmp_path / "pop.csv", "district;population\nЕсіл;500000\nАлмалы;210000\n", encoding="utf-16"
    )
    assert quick(lambda: plan_files.population_from_file(pop)) == {
        "Есіл": 500000.0,
        "Алмалы": 210000.0,
    }


# --- 5. OSM files (nudge load) ------------------------------------------------------------------


def _pbf(helsinki_pbf: Path) -> bytes:
    return helsinki_pbf.read_bytes()


def _zip_bomb(path: Path) -> Path:
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("gis_osm_roads_free_1.shp", "w", force_zip64=True) as member,
    ):
        for _ in range(64):
            member.write(bytes(1 << 20))
    return path


def _zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _empty_dir(path: Path) -> Path:
    path.mkdir()
    return path


OSM_REFUSED: dict[str, tuple[Callable[[Path], Path], str]] = {
    "random-bytes-named-pbf": (
        lambda t: write(t / "city.osm.pbf", noise()),
        "osm_file_unknown_kind",
    ),
    "pbf-header-then-garbage": (
        lambda t: write(t / "city.osm.pbf", b"\x00\x00\x00\x0d\x0a\x09OSMHeader\x18" + noise()),
        "osm_file_unreadable",
    ),
    "empty-pbf": (lambda t: write(t / "city.osm.pbf", b""), "osm_file_empty"),
    "whitespace-osm": (lambda t: write(t / "city.osm", " \n\t\n"), "osm_file_empty"),
    "bz2-bomb": (lambda t: bz2_bomb(t / "city.osm.bz2"), "file_unpacks_too_large"),
    "bz2-truncated": (
        lambda t: write(t / "city.osm.bz2", bz2.compress(OSM_XML.encode() * 20)[:300]),
        "osm_file_unreadable",
    ),
    "bz2-magic-then-garbage": (
        lambda t: write(t / "city.osm.bz2", b"BZh9" + noise()),
        "osm_file_unreadable",
    ),
    "xml-truncated": (lambda t: write(t / "city.osm", OSM_XML[:-80]), "osm_xml_truncated"),
    "xml-billion-laughs": (
        lambda t: write(
            t / "city.osm",
            OSM_XML.replace(
                "<osm version", LAUGHS_DTD.replace("lolz", "osm") + "\n<osm version", 1
            ).replace("Саябақ", "&j;"),
        ),
        "osm_file_unreadable",
    ),
    "xml-an-html-page": (
        lambda t: write(t / "city.osm", '<?xml version="1.0"?><html></html>'),
        "osm_xml_truncated",
    ),
    "xml-oversized": (
        lambda t: sparse(t / "city.osm", limits.MAX_OSM_XML_BYTES + 1, head=OSM_XML.encode()),
        "table_too_large",
    ),
    "geojson-metres-no-crs": (
        lambda t: write(t / "c.geojson", geojson(METRES, leisure="park")),
        "coordinates_not_degrees",
    ),
    "geojson-metres-said-wgs84": (
        lambda t: write(t / "c.geojson", geojson(METRES, crs=CRS84, leisure="park")),
        "coordinates_not_degrees",
    ),
    "geojson-truncated": (
        lambda t: write(t / "c.geojson", geojson(METRES)[:50]),
        "osm_file_unreadable",
    ),
    "overpass-elements-not-a-list": (
        lambda t: write(t / "c.json", '{"version": 0.6, "elements": 5}'),
        "osm_json_not_overpass",
    ),
    "overpass-elements-are-strings": (
        lambda t: write(t / "c.json", '{"version": 0.6, "elements": ["node"]}'),
        "osm_json_not_overpass",
    ),
    "csv-metres": (
        lambda t: write(t / "c.csv", "lat,lon,amenity\n4780000,500000,marketplace\n"),
        "coordinates_not_degrees",
    ),
    "gpkg-metres-no-crs": (
        lambda t: vector(t / "c.gpkg", [Point(5e5, 4.78e6)], crs=None, leisure=["park"]),
        "coordinates_not_degrees",
    ),
    "parquet-magic-then-garbage": (
        lambda t: write(t / "c.parquet", b"PAR1" + noise()),
        "osm_file_unreadable",
    ),
    "gpkg-magic-then-garbage": (
        lambda t: write(t / "c.gpkg", b"SQLite format 3\x00" + noise()),
        "osm_file_unreadable",
    ),
    "zip-bomb": (lambda t: _zip_bomb(t / "shp.zip"), "file_unpacks_too_large"),
    "zip-member-climbing-out": (
        lambda t: _zip_with(t / "shp.zip", {"../../evil.shp": b"\x00\x00\x27\x0a" + noise(96)}),
        "osm_file_unreadable",
    ),
    "zip-without-shapefile": (
        lambda t: _zip_with(t / "shp.zip", {"readme.txt": b"hi"}),
        "osm_no_shapefile",
    ),
    "empty-folder": (lambda t: _empty_dir(t / "nothing"), "osm_folder_empty"),
    "missing": (lambda t: t / "nowhere.osm.pbf", "osm_file_missing"),
}


@pytest.mark.parametrize("case", OSM_REFUSED)
def test_osm_file_refused(case: str, tmp_path: Path) -> None:
    make, code = OSM_REFUSED[case]
    path = make(tmp_path)
    refused(lambda: dataset_from_files([path]), code)


def test_truncated_pbf_is_refused(helsinki_pbf: Path, tmp_path: Path) -> None:
    data = _pbf(helsinki_pbf)
    for part, size in (("half", len(data) // 2), ("head", 300)):
        path = write(tmp_path / f"{part}.osm.pbf", data[:size])
        refused(lambda path=path: layers_from_file(path), "osm_file_unreadable")


OSM_ACCEPTED: dict[str, tuple[Callable[[Path], Path], float]] = {
    # case: (file, west edge of the loaded data)
    "xml": (lambda t: write(t / "c.osm", OSM_XML), 71.399),
    "xml-with-bom": (lambda t: write(t / "c.osm", "\ufeff" + OSM_XML), 71.399),
    "small-real-bz2": (lambda t: write(t / "c.osm.bz2", bz2.compress(OSM_XML.encode())), 71.399),
    "geojson-declared-projection": (
        lambda t: write(
            t / "c.geojson", geojson([square(5e5, 4.78e6, 100)], crs=UTM43, leisure="park")
        ),
        75.0,
    ),
    "geojson-self-intersecting": (
        lambda t: write(t / "c.geojson", geojson([BOWTIE], leisure="park")),
        71.40,
    ),
    "csv-utf16": (
        lambda t: write(t / "c.csv", "lat,lon,amenity\n51.1,71.4,marketplace\n", encoding="utf-16"),
        71.4,
    ),
}


@pytest.mark.parametrize("case", OSM_ACCEPTED)
def test_osm_file_accepted(case: str, tmp_path: Path) -> None:
    make, west = OSM_ACCEPTED[case]
    dataset = quick(lambda: dataset_from_files([make(tmp_path)]))
    assert dataset.meta["bbox"][0] == pytest.approx(west, abs=0.002)
    assert -180 <= dataset.meta["bbox"][2] <= 180 and -90 <= dataset.meta["bbox"][3] <= 90


def test_layers_in_metres_never_become_a_dataset() -> None:
    """The last guard: layers built in code, in metres, are refused too."""
    frame = gpd.GeoDataFrame(
        {"leisure": ["park"], "name": ["P"]}, geometry=[Point(5e5, 4.78e6)], crs=4326
    )
    features = features_from_tags(frame, ids=pd.Series(["node/1"]), source="code")
    refused(
        lambda: dataset_from_layers([OsmLayers(features, _no_streets(), "code")]),
        "coordinates_not_degrees",
    )


def _no_streets() -> gpd.GeoDataFrame:
    from nudge.osm.files import empty_streets

    return empty_streets()


def test_limits_are_configurable(tmp_path: Path) -> None:
    """Every check takes its limit: a normal workbook and bz2 are refused under tiny limits."""
    book = write(tmp_path / "b.xlsx", xlsx_bytes([["lat", "lon"], [51.1, 71.4]]))
    refused(
        lambda: limits.check_zip(book, name=book.name, max_unpacked=1000), "file_unpacks_too_large"
    )
    limits.check_zip(book, name=book.name)  # the defaults let it through
    packed = write(tmp_path / "c.osm.bz2", bz2.compress(OSM_XML.encode() * 50))
    refused(lambda: limits.check_bz2(packed, max_unpacked=1000), "file_unpacks_too_large")
    assert limits.check_bz2(packed).endswith(b"</osm>\n")
    small = write(tmp_path / "p.yaml", "- {id: a}\n" * 100)
    refused(lambda: rows_from_file(small, max_bytes=100), "table_too_large")


# --- 6. content files (nudge content import) ----------------------------------------------------

PROVERBS = [
    ["p-utf1", "proverb", "Еңбек етсең ерінбей, тояды қарның тіленбей.", "diligence", "Халық"],
    ["p-utf2", "proverb", "Білім инемен құдық қазғандай.", "learning", "Халық"],
]
PROVERB_HEADER = ["id", "kind", "text_kk", "themes", "source"]


def proverbs_csv(*, sep: str = ",", bom: str = "") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerow(PROVERB_HEADER)
    writer.writerows(PROVERBS)
    return bom + out.getvalue()


LAUGHS_YAML = "\n".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["entries: [*i, *i, *i, *i, *i, *i, *i, *i, *i]"]
)

CONTENT_REFUSED: dict[str, tuple[Callable[[Path], Path], str]] = {
    "yaml-billion-laughs": (lambda t: write(t / "p.yaml", LAUGHS_YAML), "content_file_yaml_alias"),
    "yaml-merge-key-alias": (
        lambda t: write(t / "p.yaml", "- &x {id: a, kind: proverb}\n- {<<: *x, id: b}\n"),
        "content_file_yaml_alias",
    ),
    "yaml-recursive-alias": (
        lambda t: write(t / "p.yaml", "- &x [*x]\n"),
        "content_file_yaml_alias",
    ),
    "yaml-100-mb": (lambda t: big_yaml(t / "p.yaml"), "table_too_large"),
    "csv-100-mb": (lambda t: sparse(t / "p.csv", 100 * 1024 * 1024), "table_too_large"),
    "xlsx-zip-bomb": (lambda t: xlsx_bomb(t / "p.xlsx"), "file_unpacks_too_large"),
    "xlsx-billion-laughs": (lambda t: xlsx_laughs(t / "p.xlsx"), "content_file_bad_xlsx"),
    "xlsx-random-bytes": (lambda t: write(t / "p.xlsx", noise()), "content_file_bad_xlsx"),
    "yaml-nested-too-deep": (lambda t: write(t / "p.yaml", "[" * 100_000), "content_file_bad_yaml"),
    "yaml-python-object": (
        lambda t: write(t / "p.yaml", "- !!python/object/apply:os.system ['echo pwned']\n"),
        "content_file_bad_yaml",
    ),
    "yaml-random-bytes": (lambda t: write(t / "p.yaml", noise(seed=4)), "content_file_bad_yaml"),
    "yaml-a-scalar": (lambda t: write(t / "p.yaml", "just text\n"), "content_file_not_list"),
    "csv-binary": (lambda t: write(t / "p.csv", bytes(16) + noise()), "csv_binary"),
    "csv-undecodable-bytes": (
        lambda t: write(t / "p.csv", b"id,kind\n\x98\xff,x\n"),
        "content_file_encoding",
    ),
    "txt-file": (lambda t: write(t / "p.txt", proverbs_csv()), "content_file_kind"),
    "missing": (lambda t: t / "nowhere.yaml", "content_file_missing"),
}


@pytest.mark.parametrize("case", CONTENT_REFUSED)
def test_content_file_refused(case: str, tmp_path: Path) -> None:
    make, code = CONTENT_REFUSED[case]
    path = make(tmp_path)
    library = ContentLibrary()
    refused(lambda: import_items(library, path, campaign=campaign_from_file(), save=False), code)
    assert len(library) == 0


CONTENT_ACCEPTED: dict[str, Callable[[Path], Path]] = {
    "csv-utf8": lambda t: write(t / "p.csv", proverbs_csv()),
    "csv-utf8-bom-semicolons": lambda t: write(t / "p.csv", proverbs_csv(sep=";", bom="\ufeff")),
    "csv-utf16-le-bom": lambda t: write(t / "p.csv", proverbs_csv(), encoding="utf-16"),
    "csv-utf16-be-bom-tabs": lambda t: write(
        t / "p.csv", b"\xfe\xff" + proverbs_csv(sep="\t").encode("utf-16-be")
    ),
    "csv-utf16-le-bom-semicolons": lambda t: write(
        t / "p.csv", proverbs_csv(sep=";"), encoding="utf-16"
    ),
    "xlsx": lambda t: write(t / "p.xlsx", xlsx_bytes([PROVERB_HEADER, *PROVERBS])),
    "yaml-anchors-without-aliases": lambda t: write(
        t / "p.yaml",
        "\n".join(
            f"- &e{i} {{id: {r[0]}, kind: proverb, text_kk: '{r[2]}', themes: [{r[3]}], "
            f"source: {r[4]}}}"
            for i, r in enumerate(PROVERBS)
        ),
    ),
}


@pytest.mark.parametrize("case", CONTENT_ACCEPTED)
def test_content_file_accepted(case: str, tmp_path: Path) -> None:
    """UTF-16 (with BOM), BOMs, semicolons, tabs, merged cells: the same two entries."""
    path = CONTENT_ACCEPTED[case](tmp_path)
    library = ContentLibrary()
    report = quick(lambda: import_items(library, path, campaign=campaign_from_file(), save=False))
    assert sorted(report.added) == ["p-utf1", "p-utf2"], report.as_dict()
    assert library.get("p-utf2")[1]["text_kk"] == PROVERBS[1][2]


def test_content_xlsx_merged_cells_keep_the_value_in_the_first_row_only(tmp_path: Path) -> None:
    """A merged cell holds its value in its first row: the others lack it and say so."""
    path = write(tmp_path / "p.xlsx", xlsx_bytes([PROVERB_HEADER, *PROVERBS], merged="E2:E3"))
    report = quick(
        lambda: import_items(ContentLibrary(), path, campaign=campaign_from_file(), save=False)
    )
    assert report.added == ["p-utf1"]
    assert [(p.row, p.column) for p in report.validation.errors] == [(3, "source")]


# --- 7. registry import (the registry's batch files go through the same reader) ----------------


def _batch_csv(*, sep: str = ",") -> str:
    lat, lon = ALMATY
    return f"lat{sep}lon{sep}kind{sep}installed_on\n{lat}{sep}{lon}{sep}banner{sep}2025-03-01\n"


@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("utf16-le-bom", _batch_csv().encode("utf-16")),
        ("utf16-be-bom-semicolons", b"\xfe\xff" + _batch_csv(sep=";").encode("utf-16-be")),
    ],
)
def test_registry_import_reads_utf16(
    case: str, data: bytes, engine: Engine, users: Users, tmp_path: Path
) -> None:
    path = write(tmp_path / "batch.csv", data)
    result = quick(lambda: import_installations(engine, path, user=users.almaty))
    assert (result.stored, result.errors) == (1, [])


@pytest.mark.parametrize(
    ("case", "make", "code"),
    [
        ("xlsx-zip-bomb", lambda t: xlsx_bomb(t / "batch.xlsx"), "file_unpacks_too_large"),
        ("xlsx-lying-zip-directory", lambda t: xlsx_forged(t / "batch.xlsx"), "xlsx_unreadable"),
        ("csv-oversized", lambda t: sparse(t / "batch.csv", 25 * 1024 * 1024), "table_too_large"),
    ],
)
def test_registry_import_refuses_and_stores_nothing(
    case: str,
    make: Callable[[Path], Path],
    code: str,
    engine: Engine,
    users: Users,
    tmp_path: Path,
) -> None:
    before = table_counts(engine)
    path = make(tmp_path)
    refused(lambda: import_installations(engine, path, user=users.almaty), code)
    assert table_counts(engine) == before


# --- 8. the CLI: exit code 2, one message, nothing written --------------------------------------


def _town_layers() -> OsmLayers:
    """A 600 m street grid at the test origin with a few public spaces."""
    from conftest import at

    ticks = range(0, 601, 100)
    lines = [shapely.LineString([at(x, y) for x in ticks]) for y in ticks]
    lines += [shapely.LineString([at(x, y) for y in ticks]) for x in ticks]
    classes = ["primary" if i == 3 else "residential" for i in range(len(lines))]
    streets = streets_from_lines(
        gpd.GeoDataFrame({"highway": classes, "name": None}, geometry=lines, crs=4326)
    )
    places = [
        ("highway", "bus_stop", 100, 300),
        ("leisure", "park", 300, 300),
        ("shop", "mall", 500, 300),
        ("highway", "bus_stop", 300, 0),
    ]
    frame = gpd.GeoDataFrame(
        [
            {key: value, "name": f"P{i}", "geometry": Point(at(x, y))}
            for i, (key, value, x, y) in enumerate(places)
        ],
        geometry="geometry",
        crs=4326,
    )
    ids = pd.Series([f"node/{i + 1}" for i in range(len(places))])
    return OsmLayers(features_from_tags(frame, ids=ids, source="town"), streets, "town")


@pytest.fixture(scope="module")
def town_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a small dataset folder with scored banner candidates (built once)."""
    city = dataset_from_layers([_town_layers()])
    folder = save_dataset(city, tmp_path_factory.mktemp("geo") / "town")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no routes, no buildings: known
        scored = score_candidates(candidates_from_dataset(city, kind="banner"), city)
    write_geoframe(scored.candidates, folder / "scores" / "banner.parquet")
    return folder


@pytest.fixture
def town(town_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a fresh copy of the town in a data folder of its own."""
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path / "geo"))
    return Path(shutil.copytree(town_template, tmp_path / "geo" / "town"))


LOAD_REFUSED = {
    "bz2-bomb": lambda t: bz2_bomb(t / "city.osm.bz2"),
    "random-bytes-named-pbf": lambda t: write(t / "city.osm.pbf", noise()),
    "geojson-in-metres": lambda t: write(t / "city.geojson", geojson(METRES, leisure="park")),
    "zip-bomb": lambda t: _zip_bomb(t / "city.zip"),
}


@pytest.mark.parametrize("case", LOAD_REFUSED)
def test_cli_load_refuses_and_writes_nothing(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "geo"
    data_dir.mkdir()
    monkeypatch.setenv("NUDGE_DATA_DIR", str(data_dir))
    path = LOAD_REFUSED[case](tmp_path)
    cli_refused(monkeypatch, capsys, "_data", "load", "--file", str(path), "--json")
    assert list(data_dir.iterdir()) == []


def test_cli_load_keeps_the_old_dataset_when_the_new_file_is_bad(
    town: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = snapshot(town)
    bomb = bz2_bomb(tmp_path / "town.osm.bz2")
    cli_refused(monkeypatch, capsys, "_data", "load", "--file", str(bomb), "--out", str(town))
    assert snapshot(town) == before
    assert [p.name for p in town.parent.iterdir()] == ["town"]


def test_cli_dataset_name_with_dots_stays_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--name ../../evil`` becomes the slug ``evil`` inside the data folder (an acceptance)."""
    data_dir = tmp_path / "deep" / "geo"
    monkeypatch.setenv("NUDGE_DATA_DIR", str(data_dir))
    osm = write(tmp_path / "c.osm", OSM_XML)
    code, out, err = cli(
        monkeypatch, capsys, "_data", "load", "--file", str(osm), "--name", "../../evil", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["out"] == str(data_dir / "evil")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_dir()) == ["deep", "evil", "geo"]
    err = cli_refused(monkeypatch, capsys, "_data", "info", "../../..")
    assert "not a complete nudge dataset" in err


SCORE_REFUSED: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "exclude-random-bytes": ("--exclude", lambda t: write(t / "zones.geojson", noise())),
    "exclude-html": ("--exclude", lambda t: html(t / "zones.gpkg")),
    "exclude-metres": ("--exclude", lambda t: write(t / "zones.geojson", geojson(METRES))),
    "exclude-points": ("--exclude", lambda t: write(t / "z.geojson", geojson([point(71.4, 51.1)]))),
    "candidates-metres": ("--candidates", lambda t: _metres_csv(t / "sites.csv")),
    "candidates-zip-bomb": ("--candidates", lambda t: xlsx_bomb(t / "sites.xlsx")),
    "counts-zip-bomb": ("--counts", lambda t: xlsx_bomb(t / "counts.xlsx")),
}


@pytest.mark.parametrize("case", SCORE_REFUSED)
def test_cli_score_refuses_and_writes_nothing(
    case: str,
    town: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    option, make = SCORE_REFUSED[case]
    before = snapshot(town)
    out = tmp_path / "scores.geojson"
    cli_refused(
        monkeypatch,
        capsys,
        "_placement",
        "score",
        str(town),
        option,
        str(make(tmp_path)),
        "--out",
        str(out),
        "--json",
    )
    assert snapshot(town) == before
    assert not out.exists()


def test_cli_score_accepts_a_self_intersecting_exclusion_zone(
    town: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    zones = write(tmp_path / "zones.geojson", geojson([BOWTIE]))
    code, out, err = cli(
        monkeypatch, capsys, "_placement", "score", str(town), "--exclude", str(zones), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["candidates"] > 0


PLAN_REFUSED: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "districts-random-bytes": ("--districts", lambda t: write(t / "d.geojson", noise())),
    "districts-random-gpkg": ("--districts", lambda t: write(t / "d.gpkg", noise())),
    "districts-metres": ("--districts", lambda t: write(t / "d.geojson", geojson(METRES))),
    "districts-a-csv": ("--districts", lambda t: write(t / "d.csv", "district\nЕсіл\n")),
    "lock-random-geojson": ("--lock", lambda t: write(t / "lock.geojson", noise())),
    "lock-metres": ("--lock", lambda t: write(t / "lock.geojson", geojson(METRE_POINTS))),
    "exclude-binary-txt": ("--exclude", lambda t: write(t / "ids.txt", bytes(8) + noise())),
    "population-zip-bomb": ("--population", lambda t: xlsx_bomb(t / "pop.xlsx")),
    "candidates-metres": ("--candidates", lambda t: write(t / "c.geojson", geojson(METRE_POINTS))),
    "demand-metres": (
        "--demand",
        lambda t: write(t / "w.geojson", geojson(METRE_POINTS, weight=1)),
    ),
}


@pytest.mark.parametrize("case", PLAN_REFUSED)
def test_cli_plan_refuses_and_writes_nothing(
    case: str,
    town: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    option, make = PLAN_REFUSED[case]
    before = snapshot(town)
    cli_refused(
        monkeypatch,
        capsys,
        "_plan",
        "plan",
        str(town),
        "--count",
        "2",
        "--weigh-by",
        "category",
        option,
        str(make(tmp_path)),
        "--json",
    )
    assert snapshot(town) == before
    assert not (town / "plans").exists()


def test_cli_plan_warns_when_the_districts_cover_no_site(
    town: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    almaty = write(
        tmp_path / "almaty.geojson", geojson([square(76.8, 43.2, 0.1)], district="Алмалы")
    )
    code, out, err = cli(
        monkeypatch,
        capsys,
        "_plan",
        "plan",
        str(town),
        "--count",
        "2",
        "--weigh-by",
        "category",
        "--districts",
        str(almaty),
        "--json",
    )
    assert code == 0, err
    notes = json.loads(out)["warnings"]
    assert any(w.startswith("None of the") and "districts" in w for w in notes), notes


def test_cli_content_import_refuses_bombs_and_leaves_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path / "geo"))
    cli(monkeypatch, capsys, "_content", "content", "list", "--json")  # seeds the library
    before = snapshot(tmp_path / "geo")
    for bomb in (
        xlsx_bomb(tmp_path / "p.xlsx"),
        write(tmp_path / "p.yaml", LAUGHS_YAML),
        big_yaml(tmp_path / "big.yaml"),
    ):
        err = cli_refused(monkeypatch, capsys, "_content", "content", "import", str(bomb))
        assert bomb.name in err
    assert snapshot(tmp_path / "geo") == before


def test_cli_content_import_reads_utf16(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path / "geo"))
    path = write(tmp_path / "p.csv", proverbs_csv(sep=";"), encoding="utf-16")
    code, out, err = cli(monkeypatch, capsys, "_content", "content", "import", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["added"] == 2


def test_every_hostile_error_has_its_kazakh_text() -> None:
    """The codes this module expects all exist in the catalogue (the i18n test checks texts)."""
    from nudge.i18n import load_details

    expected = {c for _, c in TABLE_REFUSED.values()} | {c for _, c in OSM_REFUSED.values()}
    expected |= {c for _, c in CONTENT_REFUSED.values()} | {c for _, c in SITES_REFUSED.values()}
    expected |= {c for _, a, b in LAYERS_REFUSED.values() for c in (a, b)}
    expected |= {c for _, c in PLAN_FILES_REFUSED.values()} | {"plan_districts_cover_no_sites"}
    assert expected - set(load_details()) == set()
    assert len(expected) >= 30
