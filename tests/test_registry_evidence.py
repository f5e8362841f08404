"""Photo evidence: checks by content, clean re-encoding, storage by hash, EXIF flags."""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from registry_support import (
    ALMATY,
    Users,
    jpeg_bytes,
    table_counts,
)
from sqlalchemy.engine import Engine

from nudge._errors import AccessDeniedError, InputFileError, RecordError
from nudge.i18n import error_text
from nudge.registry import (
    attach_photo,
    evidence,
    get_installation,
    inspect_photo,
    log_installation,
    log_with_photo,
    photos_of_installation,
)
from nudge.registry.evidence import sanitise_filename

METRE_LAT = 1 / 111_195


pytest_plugins = ["registry_support"]


@pytest.fixture
def installation_id(engine: Engine, users: Users) -> int:
    rec = log_installation(engine, user=users.almaty, kind="banner", lat=ALMATY[0],
                           lon=ALMATY[1], installed_on="2025-03-01")  # fmt: skip
    return rec.id


def test_exif_time_and_gps_are_read() -> None:
    facts, clean = inspect_photo(jpeg_bytes(gps=ALMATY, taken=datetime(2025, 3, 2, 9, 30)))
    assert facts.taken_at == datetime(2025, 3, 2, 9, 30)
    assert facts.gps_lat == pytest.approx(ALMATY[0], abs=1e-6)
    assert facts.gps_lon == pytest.approx(ALMATY[1], abs=1e-6)
    assert Image.open(io.BytesIO(clean)).format == "JPEG"


def test_reencoding_strips_metadata_and_trailing_payload() -> None:
    payload = b"<script>alert('x')</script>"
    facts, clean = inspect_photo(jpeg_bytes(gps=ALMATY, trailer=payload))
    assert payload not in clean
    assert len(Image.open(io.BytesIO(clean)).getexif()) == 0
    assert facts.gps_lat is not None  # read before stripping


def test_images_are_recognised_by_content_not_name(tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"<?php system($_GET['c']); ?>")
    with pytest.raises(InputFileError, match="not a readable photo"):
        inspect_photo(fake)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    with pytest.raises(InputFileError, match=r"^The photo is a GIF image"):
        inspect_photo(gif.getvalue())
    png = io.BytesIO()
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(png, format="PNG")
    facts, _ = inspect_photo(png.getvalue())
    assert facts.format == "PNG"


def test_size_limit_and_empty_upload() -> None:
    with pytest.raises(InputFileError, match="larger than"):
        inspect_photo(jpeg_bytes(size=(400, 400)), max_bytes=500)
    with pytest.raises(InputFileError, match="empty"):
        inspect_photo(b"")


def test_file_names_are_sanitised() -> None:
    assert sanitise_filename("../../etc/passwd") == "passwd"
    assert sanitise_filename("C:\\Users\\x\\фото 1.jpg") == "фото 1.jpg"
    assert sanitise_filename("a\x00b<c>.jpg") == "ab_c_.jpg"
    assert sanitise_filename("..") is None


def test_photo_is_stored_by_hash_under_the_photo_dir(
    engine: Engine, users: Users, installation_id: int, tmp_path: Path
) -> None:
    data = jpeg_bytes(gps=ALMATY, taken=datetime(2025, 3, 2, 9, 30))
    result = attach_photo(engine, installation_id, data, user=users.almaty,
                          photo_dir=tmp_path / "photos", filename="../../evil.jpg")  # fmt: skip
    sha = hashlib.sha256(data).hexdigest()
    assert result.path == tmp_path / "photos" / sha[:2] / f"{sha}.jpg"
    assert result.path.exists()
    assert result.flags == ()
    assert not (tmp_path / "evil.jpg").exists()
    stored = photos_of_installation(engine, installation_id, photo_dir=tmp_path / "photos")
    assert [(p.original_name, p.path) for p in stored] == [("evil.jpg", result.path)]
    assert get_installation(engine, installation_id).verified


def test_same_photo_twice_is_stored_once_and_flagged(
    engine: Engine, users: Users, installation_id: int, tmp_path: Path
) -> None:
    other = log_installation(engine, user=users.almaty, kind="billboard", lat=ALMATY[0],
                             lon=ALMATY[1], installed_on="2025-03-01")  # fmt: skip
    data = jpeg_bytes(gps=ALMATY)
    first = attach_photo(engine, installation_id, data, user=users.almaty, photo_dir=tmp_path)
    second = attach_photo(engine, other.id, data, user=users.almaty, photo_dir=tmp_path)
    assert second.photo_id == first.photo_id
    assert second.reused
    assert [f.code for f in second.flags] == ["photo_reused"]
    assert f"#{installation_id}" in second.flags[0].message
    assert table_counts(engine)["photos"] == 1
    assert len(list(tmp_path.rglob("*.jpg"))) == 1
    with pytest.raises(RecordError, match="already attached"):
        attach_photo(engine, installation_id, data, user=users.almaty, photo_dir=tmp_path)


def test_gps_distance_age_and_missing_gps_raise_flags(
    engine: Engine, users: Users, installation_id: int, tmp_path: Path
) -> None:
    near = jpeg_bytes(gps=(ALMATY[0] + 80 * METRE_LAT, ALMATY[1]), colour=(1, 2, 3))
    assert attach_photo(engine, installation_id, near, user=users.almaty,
                        photo_dir=tmp_path).flags == ()  # fmt: skip
    far = jpeg_bytes(gps=(ALMATY[0] + 150 * METRE_LAT, ALMATY[1]), colour=(4, 5, 6))
    flags = attach_photo(engine, installation_id, far, user=users.almaty,
                         photo_dir=tmp_path).flags  # fmt: skip
    assert [f.code for f in flags] == ["photo_far"]
    assert flags[0].distance_m == pytest.approx(150, abs=1)
    lenient = attach_photo(engine, installation_id, jpeg_bytes(gps=(ALMATY[0] + 150 * METRE_LAT,
                           ALMATY[1]), colour=(7, 8, 9)), user=users.almaty, photo_dir=tmp_path,
                           max_distance_m=200)  # fmt: skip
    assert lenient.flags == ()
    old = jpeg_bytes(gps=ALMATY, taken=datetime(2025, 2, 1, 12, 0), colour=(9, 9, 9))
    assert [f.code for f in attach_photo(engine, installation_id, old, user=users.almaty,
                                         photo_dir=tmp_path).flags] == ["photo_older"]  # fmt: skip
    bare = jpeg_bytes(colour=(10, 10, 10))
    assert [f.code for f in attach_photo(engine, installation_id, bare, user=users.almaty,
                                         photo_dir=tmp_path).flags] == ["photo_no_gps"]  # fmt: skip
    rec = get_installation(engine, installation_id)
    assert len(rec.photo_ids) == 5
    assert sorted(f.code for f in rec.open_flags) == ["photo_far", "photo_no_gps", "photo_older"]
    assert rec.status == "installed"  # flags never change the record
    assert not rec.verified


def test_other_regions_cannot_attach(
    engine: Engine, users: Users, installation_id: int, tmp_path: Path
) -> None:
    with pytest.raises(AccessDeniedError, match="coordinates Astana and may not"):
        attach_photo(engine, installation_id, jpeg_bytes(), user=users.astana, photo_dir=tmp_path)
    assert table_counts(engine)["photos"] == 0


def test_pixel_limit_guards_against_decompression_bombs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nudge.registry._photos.MAX_PIXELS", 1_000)
    with pytest.raises(InputFileError, match=r"^The photo has 64×48 pixels, more than 0\.001 "):
        inspect_photo(jpeg_bytes())


def test_photo_refusals_are_said_in_kazakh(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputFileError, match="not a readable photo") as info:
        inspect_photo(b"<?php system($_GET['c']); ?>")
    assert info.value.code == "photo_not_image"
    kk = error_text(info.value, "kk")
    assert kk.startswith("Жүктелген файл оқылатын фотосурет емес (оның мазмұны сурет емес)")
    assert kk.endswith("JPEG, PNG, WebP немесе TIFF пішіміндегі фотосурет жіберіңіз.")
    with pytest.raises(InputFileError, match="larger than") as info:
        inspect_photo(b"x" * 2_000_001, max_bytes=2_000_000)
    assert (info.value.code, info.value.params) == ("photo_too_large", {"mb": "2"})
    assert error_text(info.value, "kk") == "Фотосурет 2 МБ-тан үлкен; кішірек көшірмесін жіберіңіз."
    with pytest.raises(InputFileError, match="empty") as info:
        inspect_photo(b"")
    assert error_text(info.value, "kk") == "Фотосурет файлы бос."
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    with pytest.raises(InputFileError, match="GIF") as info:
        inspect_photo(gif.getvalue())
    assert error_text(info.value, "ru").startswith("Фото в формате GIF не принимается")
    monkeypatch.setattr("nudge.registry._photos.MAX_PIXELS", 1_000_000)
    with pytest.raises(InputFileError, match="pixels") as info:
        inspect_photo(jpeg_bytes(size=(1100, 1000)))
    assert error_text(info.value, "kk") == (
        "Фотосуретте 1100×1000 пиксель бар, бұл 1 мегапиксельден көп; өлшемін кішірейтіңіз."
    )


# --- Issue 16: concurrent attaches, and refusals that name the file in words ---------------


def _meet_after_require(monkeypatch: pytest.MonkeyPatch, engine: Engine, parties: int) -> None:
    """Make every attach wait for the others once its rights are checked, before the photo row.

    On PostgreSQL all attaches then reach the photo store together (the race of
    issue 16). SQLite's writers take turns (``BEGIN IMMEDIATE``), so there they
    just run at once.
    """
    if engine.dialect.name == "sqlite":
        return
    barrier = threading.Barrier(parties)
    checked: Callable[..., None] = evidence.require

    def require_then_meet(*args: object, **kwargs: object) -> None:
        checked(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)

    monkeypatch.setattr("nudge.registry.evidence.require", require_then_meet)


def test_one_new_photo_attached_to_eight_installations_at_once(
    engine: Engine, users: Users, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [
        log_installation(engine, user=users.almaty, kind="banner", lat=ALMATY[0] + i * 0.002,
                         lon=ALMATY[1], installed_on="2025-03-01").id
        for i in range(8)
    ]  # fmt: skip
    _meet_after_require(monkeypatch, engine, len(ids))
    data = jpeg_bytes(gps=ALMATY)
    with ThreadPoolExecutor(len(ids)) as pool:
        futures = [
            pool.submit(attach_photo, engine, i, data, user=users.almaty, photo_dir=tmp_path,
                        filename="shared.jpg")
            for i in ids
        ]  # fmt: skip
        results = [f.result() for f in futures]  # no error in any of them
    counts = table_counts(engine)
    assert (counts["photos"], counts["installation_photos"]) == (1, 8)
    assert len({r.photo_id for r in results}) == 1
    assert sorted(r.reused for r in results) == [False] + [True] * 7
    for result in results:
        assert ("photo_reused" in {f.code for f in result.flags}) == result.reused
    assert len(list(tmp_path.rglob("*.jpg"))) == 1
    for i in ids:
        assert get_installation(engine, i).photo_ids == (results[0].photo_id,)


def test_a_stored_photo_attached_twice_at_once_to_one_installation(
    engine: Engine, users: Users, installation_id: int, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    other = log_installation(engine, user=users.almaty, kind="billboard", lat=ALMATY[0] + 0.01,
                             lon=ALMATY[1], installed_on="2025-03-01")  # fmt: skip
    data = jpeg_bytes(gps=ALMATY)
    attach_photo(engine, other.id, data, user=users.almaty, photo_dir=tmp_path)
    _meet_after_require(monkeypatch, engine, 2)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(attach_photo, engine, installation_id, data, user=users.almaty,
                        photo_dir=tmp_path)
            for _ in range(2)
        ]  # fmt: skip
        outcomes = [f.exception() or f.result() for f in futures]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 1
    assert isinstance(refused[0], RecordError)
    assert refused[0].code == "photo_already_attached"
    assert str(refused[0]) == f"This photo is already attached to installation #{installation_id}."
    counts = table_counts(engine)
    assert (counts["photos"], counts["installation_photos"]) == (1, 2)


def _truncated_jpeg() -> bytes:
    whole = jpeg_bytes(size=(200, 150))
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    ("content", "why", "kk_why"),
    [
        (b"<?php system($_GET['c']); ?>", "its content is not an image", "оның мазмұны сурет емес"),
        (_truncated_jpeg(), "its image data is damaged or cut short",
         "сурет деректері бүлінген немесе толық емес"),
    ],
)  # fmt: skip
def test_an_unreadable_photo_is_named_and_said_in_words(
    tmp_path: Path, content: bytes, why: str, kk_why: str
) -> None:
    path = tmp_path / "banner-7.jpg"
    path.write_bytes(content)
    for source, name in ((path, None), (content, "banner-7.jpg")):
        with pytest.raises(InputFileError) as info:
            inspect_photo(source, name=name)
        message = str(info.value)
        assert message == (
            f"The file banner-7.jpg is not a readable photo: {why}. "
            "Send a JPEG, PNG, WebP or TIFF photo."
        )
        assert info.value.code == "photo_unreadable_named"
        assert error_text(info.value, "kk") == (
            f"banner-7.jpg файлы оқылатын фотосурет емес: {kk_why}. "
            "JPEG, PNG, WebP немесе TIFF пішіміндегі фотосурет жіберіңіз."
        )
        assert "0x" not in error_text(info.value, "ru")


def test_attach_names_the_uploaded_file_when_it_is_no_photo(
    engine: Engine, users: Users, installation_id: int, tmp_path: Path
) -> None:
    with pytest.raises(InputFileError) as info:
        attach_photo(engine, installation_id, b"GIF89a-not-really", user=users.almaty,
                     photo_dir=tmp_path, filename="C:\\Users\\a\\снимок.jpg")  # fmt: skip
    assert str(info.value).startswith("The file снимок.jpg is not a readable photo: its content")
    assert "BytesIO" not in str(info.value)
    assert table_counts(engine)["photos"] == 0


def test_a_decompression_bomb_is_refused_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # PIL refuses beyond twice this
    with pytest.raises(InputFileError) as info:
        inspect_photo(jpeg_bytes(size=(64, 48)), name="huge.jpg")
    assert str(info.value) == (
        "The file huge.jpg is not a readable photo: it has far too many pixels to be opened "
        "safely. Send a JPEG, PNG, WebP or TIFF photo."
    )


def _fields() -> dict[str, object]:
    return {"kind": "banner", "lat": ALMATY[0], "lon": ALMATY[1], "installed_on": "2025-03-01"}


def test_logging_with_a_photo_is_one_transaction(
    engine: Engine, users: Users, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = tmp_path / "photos"
    done = log_with_photo(engine, user=users.almaty, fields=_fields(),
                          photo=("banner.jpg", jpeg_bytes()), photo_dir=photos)  # fmt: skip
    assert done.evidence is not None and done.record.photo_ids == (done.evidence.photo_id,)
    before = table_counts(engine)

    def broken_disk(*args: object, **kwargs: object) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(evidence, "_write_once", broken_disk)
    other = {**_fields(), "lat": ALMATY[0] + 0.01}
    with pytest.raises(OSError, match="disk full"):
        dark = jpeg_bytes(colour=(9, 9, 9))
        log_with_photo(engine, user=users.almaty, fields=other, photo=("other.jpg", dark),
                       photo_dir=photos)  # fmt: skip
    assert table_counts(engine) == before  # the photo step failed: no installation left behind
    with pytest.raises(InputFileError):  # not a photo: refused before anything is written
        log_with_photo(engine, user=users.almaty, fields=other,
                       photo=("notes.jpg", b"not an image"), photo_dir=photos)  # fmt: skip
    assert table_counts(engine) == before
