from __future__ import annotations

from pathlib import Path

import pytest

from nudge._errors import ProfileError
from nudge.i18n import error_text
from nudge.placement.profiles import SIGNALS, load_profile, profile_from_file


@pytest.mark.parametrize("kind", ["banner", "exhibition", "career"])
def test_shipped_profiles(kind: str) -> None:
    p = load_profile(kind)
    assert set(p.weights) == set(SIGNALS)
    assert sum(p.weights.values()) == pytest.approx(1.0)
    assert p.scale_m == 400
    assert p.decay == "exponential"


def test_banner_rests_on_the_measured_signals_and_exhibition_favours_dwell() -> None:
    banner = load_profile("banner").weights
    # the signals that track measured boardings carry the banner score (docs/validation.md)
    assert banner["transit_service"] > banner["built_intensity"] > 0
    assert banner["destinations"] > 0
    assert banner["transit_service"] + banner["built_intensity"] + banner["destinations"] == 1
    assert load_profile("exhibition").weights["dwell"] > load_profile("banner").weights["dwell"]


def test_new_signal_settings_are_read() -> None:
    p = load_profile("banner")
    assert p.transit_radius_m == 50
    assert p.transit_modes["train"] > p.transit_modes["bus"]
    assert p.destination_categories["transit_station"] > p.destination_categories["retail_food"]
    assert (p.near().scale_m, p.near().cutoff_m) == (400, 1200)


def test_user_file_overrides_part_of_a_profile(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[weights]\ndwell = 0.5\n\n[decay]\nfunction = 'gaussian'\n", "utf-8")
    p = profile_from_file(path, "banner")
    assert p.weights["dwell"] == 0.5
    assert p.weights["transit_service"] == load_profile("banner").weights["transit_service"]
    assert p.decay == "gaussian"


def test_round_trip_through_toml(tmp_path: Path) -> None:
    p = load_profile("career").with_weights({"centrality": 0.9})
    path = tmp_path / "career.toml"
    path.write_text(p.as_toml(), "utf-8")
    back = profile_from_file(path, "career")
    assert back.weights == pytest.approx(p.weights)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[weights]\nfootfall = 1\n", "unknown signal"),
        ("[weights]\ndwell = -1\n", "invalid weights"),
        ("[profiles.banner.weights]\npoi_gravity = 'high'\n", "invalid weights"),
        (
            "[weights]\npoi_gravity=0\ntransit_access=0\ncentrality=0\nroad_class=0\n"
            "land_use_mix=0\ndwell=0\n",
            "all weights 0",
        ),
        ("[decay]\nfunction = 'linear'\n", "decay function"),
        ("[decay]\nscale_m = 900\ncutoff_m = 500\n", "scale_m"),
        ("weights = [", "could not be read"),
    ],
)
def test_bad_profile_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ProfileError, match=match):
        profile_from_file(path, "banner")


def test_unknown_kind() -> None:
    with pytest.raises(ProfileError, match="Unknown kind"):
        load_profile("poster")


def test_profile_errors_in_the_users_language(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[weights]\nfootfall = 1\n", "utf-8")
    with pytest.raises(ProfileError, match="unknown signal") as info:
        profile_from_file(path, "banner")
    exc = info.value
    assert exc.code == "profile_unknown_signals"
    assert (exc.params["unknown"], exc.params["signals"]) == ("footfall", ", ".join(SIGNALS))
    assert error_text(exc, "kk") == (
        f"{path} [profiles.banner] профилінде белгісіз сигналдар аталған: footfall; "
        f"бар сигналдар: {', '.join(SIGNALS)}."
    )
    path.write_text("[weights]\ndwell = -1\n", "utf-8")
    with pytest.raises(ProfileError) as info:
        profile_from_file(path, "banner")
    assert (info.value.code, info.value.params["weights"]) == (
        "profile_weights_invalid",
        "dwell = -1",
    )
    with pytest.raises(ProfileError) as info:
        load_profile("poster")
    assert info.value.code == "profile_unknown_kind"
    assert error_text(info.value, "ru").startswith("Неизвестный тип места poster")
