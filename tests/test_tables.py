from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nudge._errors import InputFileError
from nudge.tables import coordinates_of, find_column, read_table


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
