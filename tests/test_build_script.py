"""Tests for the pure parts of build.py: versions, the cache key, source handling, patches."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import re
import shutil
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
AC_INIT = (
    "AC_PREREQ([2.69])\n"
    "AC_INIT([libgphoto2 photo camera library], [{version}], "
    "[gphoto-devel@lists.sourceforge.net], [libgphoto2])\n"
    "AC_CONFIG_SRCDIR([libgphoto2/gphoto2-version.c])\n"
)


def _load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sony_pm_alt_build_script", ROOT / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


build = _load_build_script()


def _fake_tree(folder: Path, version: str = "2.5.31") -> Path:
    folder.mkdir(parents=True)
    (folder / "configure.ac").write_text(AC_INIT.format(version=version))
    (folder / "README").write_text("libgphoto2\n")
    return folder


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


# --- tree_version -----------------------------------------------------------------------------


def test_tree_version(tmp_path: Path) -> None:
    assert build.tree_version(_fake_tree(tmp_path / "t")) == "2.5.31"


def test_tree_version_four_parts(tmp_path: Path) -> None:
    assert build.tree_version(_fake_tree(tmp_path / "t", "2.5.33.1")) == "2.5.33.1"


def test_tree_version_ac_init_over_two_lines(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "configure.ac").write_text(
        "AC_INIT([libgphoto2 photo camera library],\n        [2.5.31],\n        [x])\n"
    )
    assert build.tree_version(tree) == "2.5.31"


def test_tree_version_without_configure_ac(tmp_path: Path) -> None:
    with pytest.raises(build.BuildError, match="does not look like a libgphoto2 source tree"):
        build.tree_version(tmp_path)


def test_tree_version_without_ac_init(tmp_path: Path) -> None:
    (tmp_path / "configure.ac").write_text("dnl nothing here\n")
    with pytest.raises(build.BuildError, match=re.escape(str(tmp_path))):
        build.tree_version(tmp_path)


def test_tree_version_configure_ac_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "configure.ac").mkdir()
    with pytest.raises(build.BuildError):
        build.tree_version(tmp_path)


# --- inputs_hash ------------------------------------------------------------------------------


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Copies of the real patches and csrc, which build.py then hashes."""
    patches = tmp_path / "patches"
    csrc = tmp_path / "csrc"
    shutil.copytree(build.PATCHES, patches)
    shutil.copytree(build.CSRC, csrc)
    monkeypatch.setattr(build, "PATCHES", patches)
    monkeypatch.setattr(build, "CSRC", csrc)
    return patches, csrc


def test_inputs_hash_is_stable(inputs: tuple[Path, Path]) -> None:
    first = build.inputs_hash()
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert build.inputs_hash() == first


def test_inputs_hash_depends_on_content_not_location(
    inputs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = build.inputs_hash()
    monkeypatch.undo()
    assert build.inputs_hash() == copy


def test_inputs_hash_changes_with_a_patch(inputs: tuple[Path, Path]) -> None:
    patches, _ = inputs
    before = build.inputs_hash()
    patch = sorted(patches.glob("*.patch"))[0]
    patch.write_bytes(patch.read_bytes() + b"\n")
    changed = build.inputs_hash()
    assert changed != before
    patch.write_bytes(patch.read_bytes()[:-1])
    assert build.inputs_hash() == before


def test_inputs_hash_changes_with_a_new_patch_series_or_csrc(inputs: tuple[Path, Path]) -> None:
    patches, csrc = inputs
    seen = {build.inputs_hash()}
    (patches / "9999-extra.patch").write_text("--- a/x\n+++ b/x\n")
    seen.add(build.inputs_hash())
    (patches / "series").write_text((patches / "series").read_text() + "9999-extra.patch\n")
    seen.add(build.inputs_hash())
    (csrc / "spa_shim.h").write_text((csrc / "spa_shim.h").read_text() + "/* x */\n")
    seen.add(build.inputs_hash())
    assert len(seen) == 4


def test_inputs_hash_ignores_files_that_are_not_patches(inputs: tuple[Path, Path]) -> None:
    patches, _ = inputs
    before = build.inputs_hash()
    (patches / "NOTES.txt").write_text("not an input\n")
    assert build.inputs_hash() == before


# --- obtain_source ----------------------------------------------------------------------------


def test_obtain_source_from_tarball(tmp_path: Path) -> None:
    tarball = _tarball(
        tmp_path / "libgphoto2-2.5.31.tar.gz",
        {
            "libgphoto2-2.5.31/configure.ac": AC_INIT.format(version="2.5.31").encode(),
            "libgphoto2-2.5.31/camlibs/ptp2/ptp.h": b"/* ptp */\n",
        },
    )
    work = tmp_path / "work"
    work.mkdir()
    source = build.obtain_source("2.5.31", tarball, work)
    assert source.tree == work / "unpacked" / "libgphoto2-2.5.31"
    assert (source.tree / "camlibs" / "ptp2" / "ptp.h").read_bytes() == b"/* ptp */\n"
    assert source.origin == str(tarball.resolve())


def test_obtain_source_from_folder(tmp_path: Path) -> None:
    given = _fake_tree(tmp_path / "given")
    work = tmp_path / "work"
    work.mkdir()
    source = build.obtain_source("2.5.31", given, work)
    assert source.tree == work / "src"
    assert (source.tree / "README").read_text() == "libgphoto2\n"
    assert source.origin == str(given)
    # The given folder is copied, never patched in place.
    assert source.tree.resolve() != given.resolve()


def test_obtain_source_relative_path_is_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_tree(tmp_path / "given")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path)
    source = build.obtain_source("2.5.31", Path("given"), tmp_path / "work")
    assert source.origin == str(tmp_path.resolve() / "given")


def test_obtain_source_version_mismatch(tmp_path: Path) -> None:
    tarball = _tarball(
        tmp_path / "src.tar.gz",
        {"libgphoto2-2.5.31/configure.ac": AC_INIT.format(version="2.5.31").encode()},
    )
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(build.BuildError) as info:
        build.obtain_source("2.5.34", tarball, work)
    message = str(info.value)
    assert "libgphoto2 2.5.31" in message
    assert "loads 2.5.34" in message


def test_obtain_source_missing(tmp_path: Path) -> None:
    with pytest.raises(build.BuildError, match="no such file or directory"):
        build.obtain_source("2.5.31", tmp_path / "absent", tmp_path)


def test_obtain_source_tarball_with_two_roots(tmp_path: Path) -> None:
    tarball = _tarball(tmp_path / "two.tar", {"a/configure.ac": b"", "b/configure.ac": b""})
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(build.BuildError, match="does not unpack to one"):
        build.obtain_source("2.5.31", tarball, work)


def test_obtain_source_tarball_without_configure_ac(tmp_path: Path) -> None:
    tarball = _tarball(tmp_path / "x.tar.gz", {"libgphoto2-2.5.31/README": b"x"})
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(build.BuildError, match=r"no configure\.ac"):
        build.obtain_source("2.5.31", tarball, work)


# --- debian_source: the fetched tarball is kept beside the cache ------------------------------


def _no_network(version: str, work: Path) -> tuple[Path, str]:
    raise AssertionError("fetch_debian_source must not run when the tarball is kept")


def test_debian_source_uses_the_kept_tarball(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tmp_path / "sources"
    kept.mkdir()
    tarball = _tarball(
        kept / "libgphoto2_2.5.31.orig.tar.xz",
        {"libgphoto2-2.5.31/configure.ac": AC_INIT.format(version="2.5.31").encode()},
    )
    (kept / "libgphoto2_2.5.31.orig.tar.xz.origin").write_text("Debian libgphoto2 2.5.31-4\n")
    monkeypatch.setattr(build, "fetch_debian_source", _no_network)
    work = tmp_path / "build-123"
    work.mkdir()
    assert build.debian_source("2.5.31", work) == (tarball, "Debian libgphoto2 2.5.31-4")
    source = build.obtain_source("2.5.31", None, work)
    assert source.origin == "Debian libgphoto2 2.5.31-4"
    assert source.tree == work / "unpacked" / "libgphoto2-2.5.31"


def test_debian_source_fetches_once_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[Path] = []

    def fetch(version: str, work: Path) -> tuple[Path, str]:
        download = work / "download"
        download.mkdir()
        fetched.append(work)
        tarball = _tarball(
            download / f"libgphoto2_{version}.orig.tar.bz2",
            {"libgphoto2-2.5.31/configure.ac": AC_INIT.format(version=version).encode()},
        )
        return tarball, f"Debian libgphoto2 {version}-1 (sid)"

    monkeypatch.setattr(build, "fetch_debian_source", fetch)
    first, second = tmp_path / "build-1", tmp_path / "build-2"
    first.mkdir()
    second.mkdir()
    kept = tmp_path / "sources" / "libgphoto2_2.5.31.orig.tar.bz2"
    assert build.debian_source("2.5.31", first) == (kept, "Debian libgphoto2 2.5.31-1 (sid)")
    assert build.debian_source("2.5.31", second) == (kept, "Debian libgphoto2 2.5.31-1 (sid)")
    assert fetched == [first]
    assert kept.with_name(kept.name + ".origin").read_text() == "Debian libgphoto2 2.5.31-1 (sid)\n"


def test_debian_source_ignores_an_origin_without_its_tarball(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tmp_path / "sources"
    kept.mkdir()
    (kept / "libgphoto2_2.5.31.orig.tar.xz.origin").write_text("stale\n")
    tarball = _tarball(tmp_path / "fresh.tar.gz", {"x/configure.ac": b""})
    monkeypatch.setattr(build, "fetch_debian_source", lambda version, work: (tarball, "fresh"))
    work = tmp_path / "build-1"
    work.mkdir()
    assert build.debian_source("2.5.31", work) == (kept / "fresh.tar.gz", "fresh")


# --- apply_patches ----------------------------------------------------------------------------

GOOD_PATCH = """\
--- a/hello.c
+++ b/hello.c
@@ -1,2 +1,2 @@
 int main(void)
-{ return 0; }
+{ return 1; }
"""
BAD_PATCH = """\
--- a/hello.c
+++ b/hello.c
@@ -1,2 +1,2 @@
 int main(void)
-{ return 42; }
+{ return 7; }
"""


@pytest.fixture
def patch_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "hello.c").write_text("int main(void)\n{ return 0; }\n")
    patches = tmp_path / "patches"
    patches.mkdir()
    (patches / "good.patch").write_text(GOOD_PATCH)
    (patches / "bad.patch").write_text(BAD_PATCH)
    monkeypatch.setattr(build, "PATCHES", patches)
    return tree, patches


def test_apply_patches_in_series_order(patch_tree: tuple[Path, Path]) -> None:
    tree, patches = patch_tree
    (patches / "series").write_text("# the series\n\n  good.patch  \n")
    assert build.apply_patches(tree) == ["good.patch"]
    assert (tree / "hello.c").read_text() == "int main(void)\n{ return 1; }\n"


def test_apply_patches_empty_series(patch_tree: tuple[Path, Path]) -> None:
    tree, patches = patch_tree
    (patches / "series").write_text("# nothing\n")
    assert build.apply_patches(tree) == []
    assert (tree / "hello.c").read_text() == "int main(void)\n{ return 0; }\n"


def test_patch_that_does_not_apply(
    patch_tree: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tree, patches = patch_tree
    (patches / "series").write_text("good.patch\nbad.patch\n")
    with pytest.raises(build.BuildError) as info:
        build.apply_patches(tree)
    message = str(info.value)
    assert message.startswith("applying bad.patch failed (exit ")
    assert "made for 2.5.31" in message
    assert "\n" not in message
    # patch's own complaint goes to stderr, above the one-line error.
    assert "hello.c" in capsys.readouterr().err


def test_patch_already_applied_is_an_error(patch_tree: tuple[Path, Path]) -> None:
    tree, patches = patch_tree
    (patches / "series").write_text("good.patch\ngood.patch\n")
    with pytest.raises(build.BuildError, match=r"applying good\.patch failed"):
        build.apply_patches(tree)


def test_real_series_names_existing_patches() -> None:
    names = [n.strip() for n in (build.PATCHES / "series").read_text().splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    assert names
    for name in names:
        assert (build.PATCHES / name).is_file(), name


# --- debian_mirror ----------------------------------------------------------------------------


@pytest.fixture
def apt_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake /etc/apt: build.py's Path(...) calls under /etc/apt are sent to tmp_path."""
    real_path = Path
    root = tmp_path / "root"
    (root / "etc" / "apt" / "sources.list.d").mkdir(parents=True)

    def fake_path(*parts: str) -> Path:
        path = real_path(*parts)
        if path.parts[:3] != ("/", "etc", "apt"):
            raise AssertionError(f"debian_mirror looked outside /etc/apt: {path}")
        return root.joinpath(*path.parts[1:])

    monkeypatch.setattr(build, "Path", fake_path)
    return root / "etc" / "apt"


def test_debian_mirror_deb822(apt_root: Path) -> None:
    (apt_root / "sources.list.d" / "debian.sources").write_text(
        "Types: deb deb-src\n"
        "URIs: http://deb.debian.org/debian/\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        "\n"
        "Types: deb\n"
        "URIs: http://deb.debian.org/debian-security/\n"
        "Suites: bookworm-security\n"
        "Components: main\n"
    )
    assert build.debian_mirror() == (
        "http://deb.debian.org/debian",
        ["bookworm", "bookworm-updates"],
        "/usr/share/keyrings/debian-archive-keyring.gpg",
    )


def test_debian_mirror_security_first(apt_root: Path) -> None:
    (apt_root / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.debian.org/debian-security\n"
        "Suites: trixie-security\nComponents: main\n\n"
        "# Types: deb\n# URIs: http://commented.example/debian\n\n"
        "Types: deb\nURIs: http://ftp.de.debian.org/debian\nSuites: trixie\nComponents: main\n"
    )
    assert build.debian_mirror() == ("http://ftp.de.debian.org/debian", ["trixie"], "")


def test_debian_mirror_one_line_format(apt_root: Path) -> None:
    (apt_root / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/etc/apt/keyrings/d.gpg] http://mirror.example/debian/ "
        "bookworm main contrib\n"
    )
    assert build.debian_mirror() == (
        "http://mirror.example/debian",
        ["bookworm"],
        "/etc/apt/keyrings/d.gpg",
    )


def test_debian_mirror_list_in_sources_list_d(apt_root: Path) -> None:
    (apt_root / "sources.list.d" / "mirror.list").write_text(
        "deb-src http://deb.debian.org/debian sid main\n"
    )
    assert build.debian_mirror() == ("http://deb.debian.org/debian", ["sid"], "")


def test_debian_mirror_prefers_deb822_files(apt_root: Path) -> None:
    (apt_root / "sources.list").write_text("deb http://one.example/debian bookworm main\n")
    (apt_root / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://two.example/debian\nSuites: trixie\nComponents: main\n"
    )
    assert build.debian_mirror()[0] == "http://two.example/debian"


def test_debian_mirror_none(apt_root: Path) -> None:
    (apt_root / "sources.list").write_text(
        "deb http://archive.ubuntu.com/ubuntu noble main\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
    )
    (apt_root / "sources.list.d" / "other.sources").write_text(
        "Types: deb\nURIs: https://download.docker.com/linux/ubuntu\nSuites: noble\n"
    )
    with pytest.raises(build.BuildError, match=r"no Debian archive.*--libgphoto2-source"):
        build.debian_mirror()


def test_debian_mirror_empty_etc_apt(apt_root: Path) -> None:
    with pytest.raises(build.BuildError, match="no Debian archive"):
        build.debian_mirror()


def test_debian_mirror_skips_a_disabled_stanza(apt_root: Path) -> None:
    """deb822 ``Enabled: no`` turns a stanza off; apt does not use it, so neither may we."""
    (apt_root / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://old.example/debian\nSuites: buster\nComponents: main\n"
        "Enabled: no\n\n"
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\n"
    )
    assert build.debian_mirror()[0] == "http://deb.debian.org/debian"


def test_debian_mirror_skips_the_debug_archive(apt_root: Path) -> None:
    """debian-debug (suites ``*-debug``) has no source packages; it sorts before debian.sources."""
    (apt_root / "sources.list.d" / "debian-debug.sources").write_text(
        "Types: deb\nURIs: http://deb.debian.org/debian-debug\nSuites: trixie-debug\n"
        "Components: main\n"
    )
    (apt_root / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie trixie-updates\n"
        "Components: main\n"
    )
    assert build.debian_mirror()[0] == "http://deb.debian.org/debian"


# --- main -------------------------------------------------------------------------------------


def test_main_with_missing_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A private cache: a cached build of the real inputs would be installed instead.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "loaded_libgphoto2_version", lambda: "2.5.31")
    assert build.main(["--libgphoto2-source", "/nonexistent"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("build.py: error: --libgphoto2-source /nonexistent: ")
    assert "no such file or directory" in err
    # Nothing is left behind in the cache.
    cache = tmp_path / "cache" / "sony-pm-alt" / "native"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_main_without_python_gphoto2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_gphoto2() -> str:
        raise build.BuildError("python-gphoto2 is not installed; run `make venv` first")

    monkeypatch.setattr(build, "loaded_libgphoto2_version", no_gphoto2)
    assert build.main(["--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "build.py: error: python-gphoto2 is not installed; run `make venv` first\n"
    assert list(tmp_path.iterdir()) == []


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert build.default_cache_dir() == tmp_path / "sony-pm-alt" / "native"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert build.default_cache_dir() == tmp_path / "home" / ".cache" / "sony-pm-alt" / "native"


# --- what ships with the camlib, and the one declaration of the SPA constants -------------------


def test_source_note_names_the_tarball_and_its_sha256(tmp_path: Path) -> None:
    tarball = _tarball(tmp_path / "libgphoto2-2.5.31.tar.gz", {"x/configure.ac": b"AC_INIT"})
    source = build.Source(tmp_path, str(tarball), tarball)
    note = build.source_note(source, "2.5.31", ["0001-a.patch", "0002-b.patch"])
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert f"tarball: libgphoto2-2.5.31.tar.gz\nsha256: {digest}\n" in note
    assert f"origin: {tarball}\n" in note
    assert "patches: 0001-a.patch 0002-b.patch\n" in note
    assert "LGPL-2.1" in note


def test_source_note_for_a_folder_says_there_was_no_tarball(tmp_path: Path) -> None:
    note = build.source_note(build.Source(tmp_path, str(tmp_path)), "2.5.31", [])
    assert "tarball: none (built from an unpacked source folder)\n" in note
    assert "sha256" not in note


def test_the_api_header_goes_where_ptp_h_includes_it(tmp_path: Path) -> None:
    (tmp_path / "camlibs" / "ptp2").mkdir(parents=True)
    build.add_api_header(tmp_path)
    copied = tmp_path / "camlibs" / "ptp2" / "spa_api.h"
    assert copied.read_bytes() == (build.CSRC / "spa_api.h").read_bytes()
    patch = (build.PATCHES / "0001-spa-api-declarations.patch").read_text()
    assert '+#include "spa_api.h"' in patch


def test_the_spa_constants_are_declared_once() -> None:
    """csrc/spa_api.h only; the patches, the shim's header and cdef and Python include or read
    it (native.py takes the values from the compiled extension)."""
    declared = re.findall(r"^#define (SPA_\w+) \d+$", (build.CSRC / "spa_api.h").read_text(), re.M)
    assert set(declared) == {
        "SPA_HOOK_START",
        "SPA_HOOK_END",
        "SPA_PHASE_NONE",
        "SPA_PHASE_OUT",
        "SPA_PHASE_IN",
        "SPA_SHIM_NOT_LOADED",
    }
    native_py = ROOT / "src" / "sony_pm_alt" / "native.py"
    others = [
        *build.PATCHES.glob("*.patch"),
        *(p for p in build.CSRC.iterdir() if p.name != "spa_api.h"),
        native_py,
    ]
    for path in others:
        text = path.read_text()
        for name in declared:
            assert not re.search(rf"#\s*define\s+{name}\b", text), (path, name)
        assert not re.search(r"^(HOOK|PHASE)_\w+\s*(,\s*\w+\s*)*=\s*\d", text, re.M), path
