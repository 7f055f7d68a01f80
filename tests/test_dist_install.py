"""`make dist`'s wheel and sdist, installed as users install them: a fresh venv (or pipx) in a
temporary folder outside the checkout, a private HOME. Each install must give a `doctor` that
finds the native layer built from the patched libgphoto2 2.5.31 and a `sync` that transfers
byte-identically from `sony-pm-alt emulate` (run from the checkout on 127.0.0.1, ephemeral
port), with the bulk listing, the power-off pair, and no ~/.gphoto/settings.

The artifacts come from `make dist` (which `make test` runs first); a missing one fails."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from dist_env import (
    ROOT,
    VERSION,
    assert_good_sync,
    base_python,
    make_card,
    sdist,
    sha,
    user_env,
    wheel,
    wheelhouse,
)
from emulator_proc import PAIRED_GUID, running_emulator
from netns import run_in_netns

pytestmark = pytest.mark.integration
# Where build.py keeps the libgphoto2 source tarball it fetched (make build).
SOURCE_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sony-pm-alt/native/sources"
)


@dataclass(frozen=True)
class Install:
    command: Path  # the installed `sony-pm-alt`
    home: Path
    env: dict[str, str]
    site: Path  # where the package went


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{argv}: {result.stdout[-2000:]}{result.stderr[-4000:]}"
    return result.stdout


def fresh_venv(base: Path) -> tuple[Path, dict[str, str]]:
    venv = base / "venv"
    env = user_env(base / "home", venv / "bin")
    run([base_python(), "-m", "venv", str(venv)], env, base)
    return venv, env


def site_packages(venv: Path) -> Path:
    (site,) = venv.glob("lib/python3*/site-packages")
    return site


def libgphoto2_tarball() -> Path:
    found = [
        p
        for p in sorted(SOURCE_CACHE.glob("libgphoto2_2.5.31.orig.tar.*"))
        if p.suffix != ".origin"
    ]
    if not found:
        pytest.fail(f"no libgphoto2 2.5.31 tarball in {SOURCE_CACHE}: run `make build` first")
    return found[0]


# --- the artifacts ------------------------------------------------------------------------------


def test_the_wheel_is_a_platform_wheel_with_the_native_layer() -> None:
    path = wheel()
    assert re.fullmatch(rf"sony_pm_alt-{VERSION}-cp3\d+-cp3\d+-linux_\w+\.whl", path.name)
    with zipfile.ZipFile(path) as whl:
        names = set(whl.namelist())
        info = json.loads(whl.read("sony_pm_alt/_native/build-info.json"))
        note = whl.read("sony_pm_alt/_native/SOURCE.libgphoto2").decode()
        license_text = whl.read("sony_pm_alt/_native/COPYING.libgphoto2").decode()
        wheel_meta = whl.read(f"sony_pm_alt-{VERSION}.dist-info/WHEEL").decode()
    assert "Root-Is-Purelib: false" in wheel_meta
    assert "sony_pm_alt/_native/camlibs/ptp2.so" in names
    assert [n for n in names if re.fullmatch(r"sony_pm_alt/_native/_spa_shim\..*\.so", n)]
    assert info["libgphoto2"] == "2.5.31"
    assert info["patches"] == [
        n for n in (ROOT / "vendor/libgphoto2-patches/series").read_text().split() if n
    ]
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in license_text
    assert "Version 2.1" in license_text
    tarball = libgphoto2_tarball()
    assert f"tarball: {tarball.name}\n" in note
    assert f"sha256: {sha(tarball)}\n" in note
    # Only what was compiled from libgphoto2 is in the wheel, never its source.
    assert not [n for n in names if n.endswith((".c", ".h", ".patch"))]


def test_the_sdist_holds_our_code_and_patches_but_no_libgphoto2_source() -> None:
    with tarfile.open(sdist()) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in (
        "setup.py",
        "build.py",
        "pyproject.toml",
        "csrc/spa_api.h",
        "csrc/spa_shim.c",
        "csrc/spa_shim.cdef",
        "vendor/libgphoto2-patches/series",
    ):
        assert needed in names
    assert not [n for n in names if n.startswith("src/sony_pm_alt/_native")]
    assert not [n for n in names if "camlibs/" in n or "libgphoto2_port" in n]


def test_the_wheelhouse_holds_every_runtime_dependency(tmp_path: Path) -> None:
    """Installable with no index at all, as the container build does."""
    venv, env = fresh_venv(tmp_path)
    env["PIP_CONFIG_FILE"] = "/dev/null"  # neither the host's index nor its find-links
    env = {k: v for k, v in env.items() if k not in ("PIP_FIND_LINKS", "PIP_INDEX_URL")}
    out = run(
        [str(venv / "bin/pip"), "install", "--no-index", "--dry-run", "--find-links",
         str(wheelhouse()), str(wheel())],
        env,
        tmp_path,
    )  # fmt: skip
    would = out.partition("Would install ")[2].split()
    planned = {canonical(re.sub(r"-[^-]+$", "", item)) for item in would}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = (re.match(r"[A-Za-z0-9._-]+", dep) for dep in project["dependencies"])
    needed = {canonical(name[0]) for name in names if name}
    assert needed | {"sony-pm-alt"} <= planned, out[-2000:]


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --- installs -----------------------------------------------------------------------------------


def install_wheel(base: Path) -> Install:
    venv, env = fresh_venv(base)
    env["PIP_CONFIG_FILE"] = "/dev/null"
    env = {k: v for k, v in env.items() if k not in ("PIP_FIND_LINKS", "PIP_INDEX_URL")}
    run(
        [str(venv / "bin/pip"), "install", "-q", "--no-index", "--find-links", str(wheelhouse()),
         str(wheel())],
        env,
        base,
    )  # fmt: skip
    return Install(venv / "bin/sony-pm-alt", base / "home", env, site_packages(venv))


def install_sdist(base: Path) -> Install:
    """The sdist alone and the 2.5.31 tarball, an empty build cache: everything native is
    compiled here (build dependencies come from the package index, as for any sdist)."""
    venv, env = fresh_venv(base)
    env["SONY_PM_ALT_LIBGPHOTO2_SOURCE"] = str(libgphoto2_tarball())
    env["XDG_CACHE_HOME"] = str(base / "cache")
    run([str(venv / "bin/pip"), "install", "-q", str(sdist())], env, base, timeout=900)
    assert list((base / "cache" / "sony-pm-alt" / "native").glob("2.5.31-*/build-info.json"))
    site = site_packages(venv)
    info = json.loads((site / "sony_pm_alt/_native/build-info.json").read_text())
    assert info["source"] == str(libgphoto2_tarball().resolve())  # built from what it was given
    return Install(venv / "bin/sony-pm-alt", base / "home", env, site)


def install_pipx(base: Path) -> Install:
    """`pipx install dist/…whl` as the README says, with pipx's defaults under a private HOME."""
    pipx = shutil.which("pipx")
    assert pipx, "pipx is missing: `make test` installs it (scripts/setup.sh system)"
    env = user_env(base / "home")
    run([pipx, "install", str(wheel())], env, base)
    venv = base / "home/.local/pipx/venvs/sony-pm-alt"
    return Install(base / "home/.local/bin/sony-pm-alt", base / "home", env, site_packages(venv))


INSTALLERS = {"wheel": install_wheel, "sdist": install_sdist, "pipx": install_pipx}


@pytest.fixture(scope="module", params=sorted(INSTALLERS))
def installed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Install:
    base = tmp_path_factory.mktemp(f"dist-{request.param}")
    assert not base.is_relative_to(ROOT)
    return INSTALLERS[request.param](base)


def test_doctor_finds_the_native_layer_built_from_patched_2_5_31(
    installed: Install, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[defaults]\nguid = "{PAIRED_GUID}"\ndest = "{tmp_path / "photos"}"\n')
    # doctor listens on UDP 1900: only inside a private network namespace.
    result = run_in_netns(
        [str(installed.command), "doctor", "--config", str(config)],
        timeout=60,
        env={**installed.env, "PWD": str(tmp_path)},
    )
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    native = installed.site / "sony_pm_alt" / "_native"
    patches = len((ROOT / "vendor" / "libgphoto2-patches" / "series").read_text().split())
    assert re.search(
        rf"^\[ok  \] native layer: built for libgphoto2 2\.5\.31 from .+ with {patches} patches$",
        out,
        re.M,
    ), out
    # libgphoto2 names a camlib without its .so
    assert f"[ok  ] camlib: {native / 'camlibs' / 'ptp2'} (patched, sony-pm-alt)" in out
    quiet = run_in_netns(
        [str(installed.command), "doctor", "--quiet", "--config", str(config)],
        timeout=60,
        env=installed.env,
    )
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, b"", b"")


def test_sync_against_the_emulator(installed: Install, tmp_path: Path) -> None:
    card = make_card(tmp_path / "card")
    dest = tmp_path / "photos"
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        output = run(
            [str(installed.command), "sync", "--host", "127.0.0.1", "--port", str(emu.port),
             "--guid", PAIRED_GUID, "--dest", str(dest), "--state",
             str(tmp_path / "state.sqlite3"), "--json"],
            installed.env,
            tmp_path,
            timeout=300,
        )  # fmt: skip
        assert_good_sync(output, card, dest, emu, installed.home)


def test_the_systemd_unit_runs_what_pipx_installed(tmp_path: Path) -> None:
    """contrib/systemd's ExecStart is pipx's default bin dir (%h is the user's HOME)."""
    pipx = shutil.which("pipx")
    assert pipx, "pipx is missing: `make test` installs it (scripts/setup.sh system)"
    env = user_env(tmp_path / "home")
    bin_dir = run([pipx, "environment", "--value", "PIPX_BIN_DIR"], env, tmp_path).strip()
    unit = (ROOT / "contrib/systemd/sony-pm-alt.service").read_text()
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit, re.MULTILINE)
    assert exec_start.replace("%h", str(tmp_path / "home")) == f"{bin_dir}/sony-pm-alt watch"


def test_doctor_quiet_prints_only_failures(tmp_path: Path) -> None:
    """The image's HEALTHCHECK: silent when healthy (above), one line per failure otherwise."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = tmp_path / "config.toml"
    config.write_text(f'[defaults]\nguid = "{PAIRED_GUID}"\ndest = "{blocker / "photos"}"\n')
    argv = [sys.executable, "-m", "sony_pm_alt", "doctor", "--quiet", "--config", str(config)]
    result = run_in_netns(argv, timeout=60, env={"HOME": str(tmp_path)})
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    dest = blocker / "photos"
    assert lines[0] == f"[FAIL] destination: {dest} is not writable (checked {blocker})"
    assert [line for line in lines if not line.startswith("       ")] == lines[:1]
