"""engine.naming: templates render safe relative paths; unique_path finds a free name."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sony_pm_alt.engine import naming
from sony_pm_alt.engine.model import CameraInfo, CameraObject
from sony_pm_alt.engine.naming import (
    DEFAULT_TEMPLATE,
    KNOWN_TOKENS,
    Template,
    TemplateError,
    unique_path,
)
from sony_pm_alt.engine.sanitize import (
    MAX_COMPONENT_BYTES,
    UnsafeName,
    clean_text,
    contained_path,
)
from sony_pm_alt.ptpip.codes import ObjectFormat

FOLDER = "/store_00010001/DCIM/100MSDCF"
SHOT = datetime(2024, 5, 1, 9, 8, 7)
DOWNLOADED = datetime(2025, 12, 31, 23, 59, 58)
CAMERA = CameraInfo(model="ILCE-7M3", serial="3000123", name="Alpha")


def photo(
    name: str = "DSC00042.JPG", folder: str = FOLDER, when: datetime | None = SHOT
) -> CameraObject:
    return CameraObject(folder, name, 1234, when, ObjectFormat.EXIF_JPEG)


def render(
    text: str, obj: CameraObject | None = None, camera: CameraInfo = CAMERA, seq: int = 7
) -> str:
    return str(Template(text).render(obj or photo(), camera, seq, DOWNLOADED))


# --- rendering ---------------------------------------------------------------------------


def test_default_template() -> None:
    assert DEFAULT_TEMPLATE == "{year}/{year}-{month}-{day}/{filename}"
    assert render(DEFAULT_TEMPLATE) == "2024/2024-05-01/DSC00042.JPG"


def test_render_returns_a_relative_pure_posix_path() -> None:
    result = Template(DEFAULT_TEMPLATE).render(photo(), CAMERA, 1, DOWNLOADED)
    assert isinstance(result, PurePosixPath)
    assert result.parts == ("2024", "2024-05-01", "DSC00042.JPG")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{year}", "2024"),
        ("{month}", "05"),
        ("{day}", "01"),
        ("{hour}", "09"),
        ("{minute}", "08"),
        ("{second}", "07"),
        ("{filename}", "DSC00042.JPG"),
        ("{filename_lower}", "dsc00042.jpg"),
        ("{stem}", "DSC00042"),
        ("{stem_lower}", "dsc00042"),
        ("{ext}", "JPG"),
        ("{ext_lower}", "jpg"),
        ("{model}", "ILCE-7M3"),
        ("{camera}", "Alpha"),
        ("{serial}", "3000123"),
        ("{seq}", "7"),
        ("{seq:04d}", "0007"),
        ("{folder}", "100MSDCF"),
    ],
)
def test_each_token(text: str, expected: str) -> None:
    assert render(text) == expected


def test_known_tokens_are_exactly_the_documented_ones() -> None:
    assert set(KNOWN_TOKENS) == {
        "year", "month", "day", "hour", "minute", "second", "filename", "filename_lower",
        "stem", "stem_lower", "ext", "ext_lower", "model", "camera", "serial", "seq", "folder",
    }  # fmt: skip
    # and each is in the README's table: tests/test_repo_hygiene.py


def test_a_richer_template() -> None:
    text = "{camera}/{year}/{month}/{year}{month}{day}_{hour}{minute}{second}_{seq:04d}.{ext_lower}"
    assert render(text, seq=12) == "Alpha/2024/05/20240501_090807_0012.jpg"


def test_years_before_1000_keep_four_digits() -> None:
    assert render("{year}-{month}", photo(when=datetime(987, 3, 4))) == "0987-03"


def test_missing_capture_time_uses_the_fallback_time() -> None:
    assert render(DEFAULT_TEMPLATE, photo(when=None)) == "2025/2025-12-31/DSC00042.JPG"
    assert render("{hour}{minute}{second}", photo(when=None)) == "235958"


def test_camera_falls_back_to_the_model() -> None:
    camera = CameraInfo(model="ILCE-6400", serial="1")
    assert render("{camera}/{filename}", camera=camera) == "ILCE-6400/DSC00042.JPG"


@pytest.mark.parametrize(
    ("name", "stem", "ext"),
    [
        ("C0001.MP4", "C0001", "MP4"),
        ("README", "README", ""),
        (".hidden", ".hidden", ""),
        ("archive.tar.gz", "archive.tar", "gz"),
        ("dot.", "dot.", ""),
    ],
)
def test_stem_and_extension(name: str, stem: str, ext: str) -> None:
    assert render("{stem}|{ext}", photo(name)) == f"{stem}|{ext}".rstrip(". ")


def test_a_name_without_extension_loses_the_dangling_dot() -> None:
    assert render("{stem}.{ext}", photo("README")) == "README"


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("/store_00010001/DCIM/100MSDCF/", "100MSDCF"),
        ("/store_00010001/DCIM/101_0105", "101_0105"),
        ("100MSDCF", "100MSDCF"),
    ],
)
def test_folder_is_the_last_component(folder: str, expected: str) -> None:
    assert render("{folder}/{filename}", photo(folder=folder)) == f"{expected}/DSC00042.JPG"


def test_token_values_never_create_directories() -> None:
    camera = CameraInfo(model="A/B", serial="1\\2", name="")
    obj = photo(name="../../etc/passwd", folder="/store/x\\..\\y")
    result = Template("{camera}/{serial}/{folder}/{filename}").render(obj, camera, 1, DOWNLOADED)
    assert result.parts == ("A_B", "1_2", "x_.._y", ".._.._etc_passwd")


def test_control_characters_vanish_from_token_values() -> None:
    camera = CameraInfo(model="ILCE\x00-7\x1bM3", serial="")
    assert render("{model}/{filename}", photo("DSC\x7f1.JPG"), camera) == "ILCE-7M3/DSC1.JPG"


def test_an_empty_directory_level_is_left_out() -> None:
    camera = CameraInfo(model="ILCE-7M3", serial="")
    assert render("{model}/{serial}/{filename}", camera=camera) == "ILCE-7M3/DSC00042.JPG"
    camera = CameraInfo(model="ILCE-7M3", serial="\x00\x01")  # empty once cleaned
    assert render("{serial}/{filename}", camera=camera) == "DSC00042.JPG"


def test_components_are_sanitised_and_truncated() -> None:
    long_name = "x" * 400 + ".ARW"
    result = Template("{filename}").render(photo(long_name), CAMERA, 1, DOWNLOADED)
    assert len(result.name.encode()) == MAX_COMPONENT_BYTES
    assert result.suffix == ".ARW"
    assert render("  {stem}  .{ext}. ") == "DSC00042  .JPG"


@pytest.mark.parametrize("name", ["..", ".", "...", "", "\x00", " "])
def test_a_refused_file_name_raises_unsafe_name(name: str) -> None:
    with pytest.raises(UnsafeName):
        render(DEFAULT_TEMPLATE, photo(name))


@pytest.mark.parametrize("model", ["..", ".", ". ."])
def test_a_refused_directory_level_raises_unsafe_name(model: str) -> None:
    camera = CameraInfo(model=model, serial="1")
    with pytest.raises(UnsafeName):
        render("{model}/{filename}", camera=camera)


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{nope}/{filename}", "unknown token {nope}"),
        ("{}", "positional field"),
        ("{0}", "positional field"),
        ("{year.real}", "attribute or index access"),
        ("{filename[0]}", "attribute or index access"),
        ("{year:d}", "cannot be rendered"),
        ("{seq:s}", "cannot be rendered"),
        ("{filename:=5}", "cannot be rendered"),
        ("{seq:%Y}", "cannot be rendered"),
        ("{year", "unbalanced braces"),
        ("year}", "unbalanced braces"),
        ("{{year}", "unbalanced braces"),
        ("", "empty path"),
        ("/{year}/{filename}", "absolute"),
        ("{year}/", "must end with a file name"),
        ("{year}//{filename}", "empty directory level"),
        ("../{filename}", "'..' level"),
        ("{year}/../../{filename}", "'..' level"),
        ("./{filename}", "'.' level"),
        ("{year}/ .. /{filename}", "'..' level"),
        ("{year}/.../{filename}", "unusable level"),
        ("{filename!r}", "conversion"),
        ("{seq:{year}}", "nests a field"),
        ("{seq:>1000000000}", "number above 255"),
        ("{filename:/<30}", "fill character"),
        ("{seq:c}", "'c' type"),
        ("{stem:.0}/{filename}", "empty directory level"),
    ],
)
def test_bad_templates_fail_at_construction(text: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason) as info:
        Template(text)
    message = str(info.value)
    assert "\n" not in message
    assert repr(text) in message


def test_unknown_token_message_lists_the_known_ones() -> None:
    with pytest.raises(TemplateError) as info:
        Template("{date}/{filename}")
    message = str(info.value)
    assert "{date}" in message
    for token in KNOWN_TOKENS:
        assert f"{{{token}}}" in message


def test_template_error_is_a_value_error() -> None:
    assert issubclass(TemplateError, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        DEFAULT_TEMPLATE,
        "{filename}",
        "{year}{month}{day}/{seq:05d}-{filename_lower}",
        "{camera} ({serial})/{folder}/{stem}.{ext}",
        "{{literal braces}}/{filename}",
        "{seq:>6}/{filename:.20}",
        ".hidden-dir/{filename}",
    ],
)
def test_good_templates_construct(text: str) -> None:
    template = Template(text)
    assert template.text == text
    assert repr(template) == f"Template({text!r})"
    assert template == Template(text)
    assert hash(template) == hash(Template(text))
    assert template != Template("{filename}-x")


def test_literal_braces_render() -> None:
    assert render("{{x}}_{filename}") == "{x}_DSC00042.JPG"


# --- never escaping the destination ------------------------------------------------------

HOSTILE = "/\\.. \x00\x1f\x7f\x85-e\u0301日😀~$"
hostile_text = st.text(st.one_of(st.sampled_from(HOSTILE), st.characters()), max_size=30)
long_hostile = st.text(st.sampled_from("./\\é日 \x00x"), min_size=0, max_size=300)
names = st.one_of(
    hostile_text,
    long_hostile,
    st.sampled_from(["..", ".", "../../etc/passwd", "/etc/passwd", "\\..\\..", "", " ", "."]),
)
# Each template with the camera-supplied values it renders from ("camera" is the friendly name,
# or the model when that is empty).
TEMPLATE_INPUTS = {
    DEFAULT_TEMPLATE: ("name",),
    "{filename}": ("name",),
    "{model}/{serial}/{filename}": ("model", "serial", "name"),
    "{camera}/{folder}/{year}/{stem}_{seq:04d}.{ext_lower}": (
        "friendly",
        "model",
        "folder",
        "name",
    ),
    "{folder}/{filename_lower}": ("folder", "name"),
    "{serial}/{camera} {model}/{stem_lower}.{ext}": ("serial", "friendly", "model", "name"),
}
TEMPLATES = list(TEMPLATE_INPUTS)


def _plain(value: str) -> bool:
    """A value no level can be refused for: cleaned and stripped of leading spaces, it starts
    with something other than a dot (so the level keeps that character through truncation)."""
    first = clean_text(value).lstrip(" ")[:1]
    return first not in ("", ".")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.sampled_from(TEMPLATES),
    name=names,
    folder=names,
    model=names,
    serial=names,
    friendly=names,
    seq=st.integers(0, 10**6),
    when=st.one_of(st.none(), st.datetimes()),
)
@example(
    text="{serial}/{camera} {model}/{stem_lower}.{ext}",
    name="DSC00001.JPG",
    folder="/store_00010001/DCIM/100MSDCF",
    model="ILCE-7M3",
    serial="3000123",
    friendly="Alpha",
    seq=1,
    when=None,
)
def test_rendered_paths_never_escape_the_destination(
    tmp_path: Path,
    text: str,
    name: str,
    folder: str,
    model: str,
    serial: str,
    friendly: str,
    seq: int,
    when: datetime | None,
) -> None:
    template = Template(text)
    obj = CameraObject(folder, name, 1, when, ObjectFormat.EXIF_JPEG)
    camera = CameraInfo(model=model, serial=serial, name=friendly)
    try:
        relative = template.render(obj, camera, seq, DOWNLOADED)
    except UnsafeName:
        values = {"name": name, "folder": folder.rstrip("/").rpartition("/")[2]}
        values |= {"model": model, "serial": serial, "friendly": friendly}
        # Refusing is right only when a value this template uses could leave a level empty,
        # "." or ".."; a camera with plain values always gets a path.
        assert not all(_plain(values[key]) for key in TEMPLATE_INPUTS[text])
        return
    assert not relative.is_absolute()
    assert len(relative.parts) <= text.count("/") + 1  # values never add levels
    for part in relative.parts:
        assert part not in ("", ".", "..")
        assert "\\" not in part
        assert "\0" not in part
        assert len(part.encode()) <= MAX_COMPONENT_BYTES
    final = contained_path(tmp_path, relative)  # a safe render is always accepted
    assert final.resolve().is_relative_to(tmp_path.resolve())
    assert final != tmp_path


# --- unique_path -------------------------------------------------------------------------


def test_unique_path_returns_a_free_path_unchanged(tmp_path: Path) -> None:
    assert unique_path(tmp_path / "DSC00001.JPG") == tmp_path / "DSC00001.JPG"


def test_unique_path_numbers_taken_names(tmp_path: Path) -> None:
    (tmp_path / "DSC00001.JPG").touch()
    assert unique_path(tmp_path / "DSC00001.JPG") == tmp_path / "DSC00001-1.JPG"
    (tmp_path / "DSC00001-1.JPG").touch()
    (tmp_path / "DSC00001-2.JPG").touch()
    assert unique_path(tmp_path / "DSC00001.JPG") == tmp_path / "DSC00001-3.JPG"


def test_unique_path_without_extension_and_with_two(tmp_path: Path) -> None:
    (tmp_path / "README").touch()
    (tmp_path / "a.tar.gz").touch()
    assert unique_path(tmp_path / "README") == tmp_path / "README-1"
    assert unique_path(tmp_path / "a.tar.gz") == tmp_path / "a.tar-1.gz"


def test_unique_path_counts_a_dangling_symlink_as_taken(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").symlink_to(tmp_path / "missing")
    assert unique_path(tmp_path / "x.jpg") == tmp_path / "x-1.jpg"


def test_unique_path_counts_a_directory_as_taken(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").mkdir()
    assert unique_path(tmp_path / "x.jpg") == tmp_path / "x-1.jpg"


def test_unique_path_keeps_long_names_within_the_limit(tmp_path: Path) -> None:
    name = "日" * 80 + "x" * 11 + ".ARW"  # exactly 255 bytes
    assert len(name.encode()) == MAX_COMPONENT_BYTES
    (tmp_path / name).touch()
    result = unique_path(tmp_path / name)
    assert result.name.endswith("-1.ARW")
    assert len(result.name.encode()) <= MAX_COMPONENT_BYTES
    result.touch()  # the file system accepts it
    second = unique_path(tmp_path / name)
    assert second.name.endswith("-2.ARW")
    assert second != result


def test_unique_path_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(naming, "MAX_UNIQUE_SUFFIX", 3)
    for name in ("a.jpg", "a-1.jpg", "a-2.jpg", "a-3.jpg"):
        (tmp_path / name).touch()
    with pytest.raises(FileExistsError, match="3 numbered variants"):
        unique_path(tmp_path / "a.jpg")
    os.remove(tmp_path / "a-2.jpg")
    assert unique_path(tmp_path / "a.jpg") == tmp_path / "a-2.jpg"


def test_unique_path_default_bound() -> None:
    assert naming.MAX_UNIQUE_SUFFIX == 10_000
