from __future__ import annotations

import pandas as pd

from nudge.osm.taxonomy import categorise_fclass, categorise_tags, category_counts, load_taxonomy

REQUIRED = {
    "transit_stop", "transit_station", "market", "mall", "retail_food", "education", "health",
    "public_service", "culture", "park", "square_pedestrian", "sport", "production", "worship",
    "historic",
}  # fmt: skip


def test_taxonomy_covers_required_categories_with_labels() -> None:
    tax = load_taxonomy()
    assert set(tax.keys) >= REQUIRED
    assert set(tax.exclusion_keys) == {"worship", "historic"}
    for cat in tax.categories:
        assert all(cat.labels[lang] for lang in ("kk", "ru", "en"))
        assert cat.osm or cat.fclass


def test_tags_map_first_match_and_unknown_tags_are_kept_out() -> None:
    tags = pd.DataFrame(
        {
            "amenity": ["school", "place_of_worship", None, "", "parking", None],
            "shop": [None, None, "mall", None, None, "supermarket"],
            "historic": [None, "yes", None, None, None, None],
        }
    )
    out = categorise_tags(tags)
    assert out["category"].tolist()[:3] == ["education", "worship", "mall"]
    assert out["category"].isna().tolist()[3:5] == [True, True]
    assert out.loc[5, "category"] == "retail_food"
    assert out.loc[0, "subcategory"] == "school"


def test_wildcard_ignores_no() -> None:
    out = categorise_tags(pd.DataFrame({"historic": ["memorial", "no"]}))
    assert out["category"].tolist()[0] == "historic"
    assert pd.isna(out["category"].tolist()[1])


def test_fclass_mapping() -> None:
    out = categorise_fclass(pd.Series(["bus_stop", "helipad", "railway_station", "muslim"]))
    assert out["category"].tolist()[0] == "transit_stop"
    assert pd.isna(out["category"].tolist()[1])
    assert out["category"].tolist()[2:] == ["transit_station", "worship"]


def test_osm_filter_merges_wildcards() -> None:
    flt = load_taxonomy().osm_filter()
    assert flt["shop"] is True
    assert "bus_stop" in flt["highway"]


def test_category_counts_in_taxonomy_order() -> None:
    counts = category_counts(pd.Series(["crossing", "worship", "crossing"]))
    assert list(counts) == ["worship", "crossing"]
    assert counts["crossing"] == 2
