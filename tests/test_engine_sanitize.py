"""engine.sanitize: untrusted names become safe components, and paths stay under the root."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sony_pm_alt.engine.sanitize import (
    MAX_COMPONENT_BYTES,
    UnsafeName,
    clean_text,
    contained_path,
    safe_component,
    truncate_utf8,
)

# Characters a hostile or broken camera might send, weighted in next to arbitrary text.
HOSTILE = '/\\.. \x00\x01\x1f\x7f\x80\x85\x9f-e\u0301é日😀\ufeff\u202e:*?"<>|~$`'
hostile_chars = st.one_of(
    st.sampled_from(HOSTILE),
    st.characters(),
    st.integers(0xD800, 0xDFFF).map(chr),  # lone surrogates, as a sloppy UCS-2 decode gives
)
hostile_text = st.text(hostile_chars, max_size=40)
long_text = st.text(st.sampled_from("a.é日😀 \u0301/\x00"), min_size=100, max_size=400)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def _assert_safe(result: str) -> None:
    assert result
    assert result not in (".", "..")
    assert "/" not in result
    assert "\\" not in result
    assert "\0" not in result
    assert not any(_is_control(c) for c in result)
    assert len(result.encode("utf-8")) <= MAX_COMPONENT_BYTES  # also: no lone surrogates
    assert unicodedata.is_normalized("NFC", result)
    assert result == result.lstrip(" ")
    assert result == result.rstrip(". ")


# --- safe_component: examples ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DSC00001.JPG", "DSC00001.JPG"),
        ("a/b", "a_b"),
        ("..\\..\\etc", ".._.._etc"),
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("/etc/passwd", "_etc_passwd"),
        ("IMG\x00.JPG", "IMG.JPG"),
        ("IMG\x1b[31m.JPG", "IMG[31m.JPG"),
        ("a\x7fb\x85c\x9fd", "abcd"),
        ("  spaced.JPG  ", "spaced.JPG"),
        ("trailing...", "trailing"),
        ("trailing. . ", "trailing"),
        ("-rf", "-rf"),  # leading dashes are kept: never passed to a shell
        ("--.JPG", "--.JPG"),
        (".hidden", ".hidden"),
        ("...x", "...x"),
        ("e\u0301.jpg", "é.jpg"),  # NFC
        ("e\x00\u0301", "é"),  # the control character between letter and accent goes first
        ("\ud800.jpg", "\ufffd.jpg"),
        ("日本語.JPG", "日本語.JPG"),
    ],
)
def test_safe_component_examples(name: str, expected: str) -> None:
    assert safe_component(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("\x00", "empty"),
        ("\x00\x01\x7f\x9f", "empty"),
        (".", "relative directory"),
        ("..", "relative directory"),
        (".\x00.", "relative directory"),
        ("...", "only of dots and spaces"),
        (" ", "only of dots and spaces"),
        (" . . ", "only of dots and spaces"),
    ],
)
def test_safe_component_refuses(name: str, reason: str) -> None:
    with pytest.raises(UnsafeName, match=reason) as info:
        safe_component(name)
    message = str(info.value)
    assert repr(name) in message
    assert "\n" not in message


def test_unsafe_name_is_a_value_error() -> None:
    assert issubclass(UnsafeName, ValueError)


def test_truncation_keeps_the_extension() -> None:
    result = safe_component("x" * 300 + ".ARW")
    assert result == "x" * (MAX_COMPONENT_BYTES - 4) + ".ARW"
    assert len(result.encode()) == MAX_COMPONENT_BYTES


def test_truncation_never_cuts_a_multibyte_character() -> None:
    result = safe_component("日" * 100 + ".JPG")  # 300 bytes of stem
    assert result.endswith(".JPG")
    stem = result.removesuffix(".JPG")
    assert set(stem) == {"日"}
    assert len(stem) == (MAX_COMPONENT_BYTES - 4) // 3
    assert len(result.encode()) <= MAX_COMPONENT_BYTES


def test_truncation_keeps_an_accent_with_its_letter() -> None:
    name = "a" * 253 + "e\u0301\u0301"  # decomposed and not composable: stays 258 bytes
    assert len(unicodedata.normalize("NFC", name).encode()) > MAX_COMPONENT_BYTES
    result = safe_component(name)
    assert not unicodedata.combining(result[-1])
    assert result == "a" * 253


def test_truncation_treats_a_long_suffix_as_part_of_the_name() -> None:
    result = safe_component("photo." + "x" * 300)
    assert result == ("photo." + "x" * 300)[:MAX_COMPONENT_BYTES]


def test_truncation_strips_dots_left_at_the_cut() -> None:
    result = safe_component("a" * 254 + "..b" + "c" * 20)  # the 20-char suffix is too long
    assert result == "a" * 254


def test_truncation_refuses_when_only_dots_would_remain() -> None:
    with pytest.raises(UnsafeName, match="after truncating"):
        safe_component("." * 260 + "a" * 20)


# --- safe_component: properties ----------------------------------------------------------


@given(hostile_text)
@example("\u212a")  # KELVIN SIGN: NFC maps it to "K"
@example("\u037e")  # GREEK QUESTION MARK: NFC maps it to ";"
def test_safe_component_result_is_always_safe(name: str) -> None:
    cleaned = clean_text(name)
    if not cleaned.strip(". "):  # nothing but dots and spaces (or nothing at all) is left
        with pytest.raises(UnsafeName) as info:
            safe_component(name)
        assert repr(name) in str(info.value)
        return
    _assert_safe(safe_component(name))


def _must_accept(name: str) -> bool:
    """Whether ``safe_component`` may not refuse ``name``: once cleaned and stripped of leading
    spaces it starts with something other than a dot, and truncation always keeps that first
    character. A refusal is legitimate only for names this says False for."""
    first = clean_text(name).lstrip(" ")[:1]
    return first not in ("", ".")


@given(long_text, st.sampled_from(["", ".JPG", ".arw", ".日本", ".e\u0301"]))
@example("a" * 300, ".JPG")
@example("日" * 100, "")
def test_safe_component_long_names(stem: str, ext: str) -> None:
    try:
        result = safe_component(stem + ext)
    except UnsafeName:
        assert not _must_accept(stem + ext)
        return
    _assert_safe(result)
    if ext and len((stem + ext).encode()) > MAX_COMPONENT_BYTES and stem.strip("/\x00. "):
        assert result.endswith(unicodedata.normalize("NFC", ext))


@given(st.one_of(hostile_text, long_text))
@example("DSC00001.JPG")
@example(" ..a/b\x00. ")
def test_safe_component_is_idempotent(name: str) -> None:
    try:
        once = safe_component(name)
    except UnsafeName:
        assert not _must_accept(name)
        return
    assert safe_component(once) == once


@given(hostile_text)
def test_clean_text_never_leaves_separators_or_controls(text: str) -> None:
    result = clean_text(text)
    assert "/" not in result
    assert "\\" not in result
    assert not any(_is_control(c) for c in result)
    result.encode("utf-8")  # no lone surrogates left
    assert unicodedata.is_normalized("NFC", result)


@given(st.text(st.sampled_from("aé日😀\u0301"), max_size=80), st.integers(0, 300))
def test_truncate_utf8_is_a_fitting_prefix(text: str, limit: int) -> None:
    result = truncate_utf8(text, limit)
    assert text.startswith(result)
    assert len(result.encode()) <= limit
    if len(text.encode()) <= limit:
        assert result == text


# --- contained_path ----------------------------------------------------------------------


def test_contained_path_joins_under_root(tmp_path: Path) -> None:
    assert contained_path(tmp_path, "2024/2024-05-01/DSC00001.JPG") == (
        tmp_path / "2024" / "2024-05-01" / "DSC00001.JPG"
    )
    assert contained_path(tmp_path, PurePosixPath("a/b.jpg")) == tmp_path / "a" / "b.jpg"


def test_contained_path_keeps_a_relative_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert contained_path(Path("dest"), "a/b.jpg") == Path("dest/a/b.jpg")


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("/etc/passwd", "absolute"),
        (PurePosixPath("/etc/passwd"), "absolute"),
        ("//etc/passwd", "absolute"),
        ("", "empty relative path"),
        (".", "empty relative path"),
        (PurePosixPath(""), "empty relative path"),
        ("a//b", "empty component"),
        ("a/", "empty component"),
        ("..", "'..' component"),
        ("../x", "'..' component"),
        ("a/../../x", "'..' component"),
        ("a/../b", "'..' component"),  # would stay inside, but no template renders this
        (PurePosixPath("a/../b"), "'..' component"),
        ("./a", "'.' component"),
        ("a/\x00/b", "NUL"),
        ("x" * 256, "longer than 255 bytes"),
        ("\ud800/x.jpg", "cannot be encoded"),
    ],
)
def test_contained_path_refuses(tmp_path: Path, relative: str | PurePosixPath, reason: str) -> None:
    with pytest.raises(UnsafeName, match=reason) as info:
        contained_path(tmp_path, relative)
    assert "\n" not in str(info.value)


def test_contained_path_refuses_a_symlinked_directory_leading_outside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "2024").symlink_to(outside)
    with pytest.raises(UnsafeName, match="symlink leading outside"):
        contained_path(root, "2024/2024-05-01/DSC00001.JPG")


def test_contained_path_refuses_a_deeper_symlink_leading_outside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "2024").mkdir(parents=True)
    (root / "2024" / "day").symlink_to("/")
    with pytest.raises(UnsafeName, match="symlink leading outside"):
        contained_path(root, "2024/day/DSC00001.JPG")


def test_contained_path_refuses_a_final_symlink_leading_outside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "DSC00001.JPG").symlink_to(tmp_path / "victim")  # dangling, outside
    with pytest.raises(UnsafeName, match="symlink leading outside"):
        contained_path(root, "DSC00001.JPG")


def test_contained_path_refuses_a_symlink_loop(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    with pytest.raises(UnsafeName):
        contained_path(root, "a/x.jpg")


def test_contained_path_allows_symlinks_that_stay_inside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "alias").symlink_to(root / "real")
    (root / "relative-alias").symlink_to("real")
    assert contained_path(root, "alias/x.jpg") == root / "alias" / "x.jpg"
    assert contained_path(root, "relative-alias/x.jpg") == root / "relative-alias" / "x.jpg"


def test_contained_path_allows_a_symlinked_root(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "2024").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real)
    assert contained_path(link, "2024/x.jpg") == link / "2024" / "x.jpg"


def test_contained_path_accepts_a_sibling_with_a_common_prefix_only_inside(tmp_path: Path) -> None:
    # "/tmp/root" must not be taken as containing "/tmp/root-evil".
    root = tmp_path / "root"
    (tmp_path / "root-evil").mkdir()
    root.mkdir()
    (root / "x").symlink_to(tmp_path / "root-evil")
    with pytest.raises(UnsafeName, match="symlink leading outside"):
        contained_path(root, "x/y.jpg")


def _plain_component(part: str) -> bool:
    """A component ``contained_path`` must take: not empty, ``.`` or ``..``, no separator or
    NUL, and at most :data:`MAX_COMPONENT_BYTES` once encoded for the file system."""
    if part in ("", ".", "..") or "/" in part or "\0" in part:
        return False
    try:
        return len(os.fsencode(part)) <= MAX_COMPONENT_BYTES
    except UnicodeEncodeError:
        return False


@given(st.lists(hostile_text, min_size=1, max_size=5))
@example(["2024", "2024-05-01", "DSC00001.JPG"])
@example(["..", "etc", "passwd"])
def test_contained_path_never_escapes_with_any_components(components: list[str]) -> None:
    root = Path("/srv/photos")  # lexical checks only: nothing exists below it
    relative = "/".join(components)
    try:
        result = contained_path(root, relative)
    except UnsafeName:
        assert not all(_plain_component(part) for part in components)
        return
    assert os.path.commonpath([root, os.path.normpath(result)]) == str(root)
    assert os.path.normpath(result) != str(root)
