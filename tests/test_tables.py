from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nudge._errors import InputFileError
from nudge.i18n import error_text
from nudge.io.tables import coordinates_of, find_column, read_table


def test_find_column_any_case_and_language() -> None:
    table = pd.DataFrame(columns=["row", " Широта ", "Долгота", "Name"])
    assert find_column(table, ("lat", "latitude", "широта")) == " Широта "
    assert find_column(table, ("name",)) == "Name"
    assert find_column(table, ("kind",)) is None


def test_coordinates_as_numbers() -> None:
    table = pd.DataFrame({"row": [2, 3], "lat": ["43.25", "abc"], "lng": [76.9, None]})
    lat, lon = coordinates_of(table, name="t.csv")
    assert lat.tolist()[0] == 43.25
    assert pd.isna(lat.tolist()[1])
    assert pd.isna(lon.tolist()[1])
    with pytest.raises(InputFileError, match=r"its columns are lat\."):
        coordinates_of(table[["row", "lat"]], name="t.csv")


def test_read_table_windows_1251_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes("название;широта;долгота\nБаннер;43,2;76,9\n".encode("cp1251"))
    table, digest = read_table(path)
    assert table.loc[0, "название"] == "Баннер"
    assert table.loc[0, "row"] == 2
    assert len(digest) == 64
    empty = tmp_path / "empty.csv"
    empty.write_text("", "utf-8")
    with pytest.raises(InputFileError, match="is empty"):
        read_table(empty)


def test_table_errors_carry_codes_and_speak_kazakh(tmp_path: Path) -> None:
    table = pd.DataFrame({"row": [2], "name": ["A"], "address": ["B"]})
    with pytest.raises(InputFileError, match=r"^c\.csv needs latitude") as info:
        coordinates_of(table, name="The counts file c.csv", file="c.csv")
    assert info.value.code == "table_no_coordinates"
    assert info.value.params == {"file": "c.csv", "columns": "name, address"}
    assert error_text(info.value, "kk") == (
        "c.csv ішінде ендік пен бойлық бағандары («lat» және «lon») немесе нүктелік "
        "геометриялар болуы керек; қазір ондағы бағандар: name, address."
    )
    with pytest.raises(InputFileError) as info:
        coordinates_of(table, name="t.csv")
    assert info.value.params["file"] == "t.csv"
    with pytest.raises(InputFileError) as info:
        read_table(b"a,b\n1,2\n", name="big.csv", max_bytes=4)
    assert info.value.code == "table_too_large"
    assert "импорт шегі" in error_text(info.value, "kk")
    with pytest.raises(InputFileError) as info:
        read_table(b"a,b\n1,2\n", name="sites.doc")
    assert (info.value.code, info.value.params) == ("table_unknown_kind", {"name": "sites.doc"})
    with pytest.raises(InputFileError) as info:
        read_table(b"lat,lon\n", name="header.csv")
    assert "тақырып жолы" in error_text(info.value, "kk")
    with pytest.raises(InputFileError) as info:
        read_table(b"PK\x03\x04broken", name="sites.xlsx")
    assert info.value.code == "xlsx_unreadable"
    assert "электрондық кестесін" in error_text(info.value, "kk")
    with pytest.raises(InputFileError) as info:
        read_table(tmp_path / "nowhere.csv")
    assert info.value.code == "table_file_missing"
