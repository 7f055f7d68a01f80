"""The container image `make image` built (localhost/sony-pm-alt:latest), checked without a
container runtime (`podman run` is refused on these machines): the image is mounted
(`podman image mount`) and its own entrypoint runs `sony-pm-alt sync` under `chroot`, sharing
the host's network, against the emulator on 127.0.0.1 (ephemeral port), as the PUID user.

Run by `make test-image` (marker `image`, left out of the default run: it needs the image)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dist_env import assert_good_sync, make_card
from emulator_proc import PAIRED_GUID, running_emulator

pytestmark = [pytest.mark.integration, pytest.mark.image]
IMAGE = os.environ.get("SONY_PM_ALT_IMAGE", "localhost/sony-pm-alt:latest")
PUID, PGID = 4321, 4322  # in no passwd file: any uid will do


def podman(*args: str) -> str:
    tool = shutil.which("podman")
    assert tool, "podman is missing: `make image` installs it (scripts/setup.sh image)"
    result = subprocess.run([tool, *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"podman {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    (inspected,) = json.loads(podman("image", "inspect", IMAGE))
    # podman reports the health check beside the config (docker format keeps it in the image)
    return {"Healthcheck": inspected.get("Healthcheck"), **inspected["Config"]}


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    mounted = Path(podman("image", "mount", IMAGE).strip())
    try:
        yield mounted
    finally:
        podman("image", "umount", IMAGE)


def image_env(config: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in config["Env"])


def test_the_configured_path_finds_sony_pm_alt(config: dict[str, Any], root: Path) -> None:
    path = image_env(config)["PATH"].split(":")
    found = [d for d in path if (root / d.lstrip("/") / "sony-pm-alt").is_file()]
    assert found == ["/opt/sony-pm-alt/bin"]


def test_the_image_holds_the_tool_and_its_runtime_only(root: Path) -> None:
    for tool in ("gcc", "cc", "make", "gphoto2", "tshark", "patch"):
        assert not (root / "usr/bin" / tool).exists(), tool
    site = next((root / "opt/sony-pm-alt/lib").glob("python3*/site-packages"))
    assert (site / "sony_pm_alt/_native/camlibs/ptp2.so").is_file()
    assert (site / "sony_pm_alt/_native/COPYING.libgphoto2").is_file()
    assert not (site / "pip").exists()  # nothing installs at run time
    # Our checkout's own files (dependencies may well have a "vendor" or "tests" folder).
    for tree_only in ("build.py", "csrc/spa_shim.c", "libgphoto2-patches", "reliability.py"):
        assert not list((root / "opt").rglob(tree_only)), tree_only


def test_the_image_s_settings(config: dict[str, Any]) -> None:
    env = image_env(config)
    assert (env["SONY_PM_ALT_DEST"], env["SONY_PM_ALT_STATE"]) == (
        "/photos",
        "/state/state.sqlite3",
    )
    assert set(config["Volumes"]) == {"/photos", "/state"}
    assert config["Healthcheck"]["Test"] == ["CMD", "sony-pm-alt", "doctor", "--quiet"]
    assert config["Entrypoint"] == ["sony-pm-alt-entrypoint"]
    assert config["Cmd"] == ["sony-pm-alt", "watch"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "sony-pm-alt"
    assert labels["org.opencontainers.image.version"]
    assert "GPL-3.0-or-later" in labels["org.opencontainers.image.licenses"]


def run_in_image(
    root: Path,
    config: dict[str, Any],
    photos: Path,
    state: Path,
    argv: list[str],
    puid: int | str = PUID,
    private_network: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``argv`` through the image's entrypoint, in a private mount namespace holding the
    image mounted with the photo and state volumes, /dev and /proc, as a runtime would; with
    ``private_network``, also in a network namespace of its own (loopback with multicast)."""
    env = {**image_env(config), "PUID": str(puid), "PGID": str(PGID)}
    network = (
        "ip link set lo up && ip link set lo multicast on"
        " && ip route add 239.0.0.0/8 dev lo src 127.0.0.1 && "
        if private_network
        else ""
    )
    script = (
        f'r=$1; shift; {network}mount --bind "$PHOTOS" "$r/photos"'
        ' && mount --bind "$STATE" "$r/state" && mount --rbind /dev "$r/dev"'
        ' && mount -t proc proc "$r/proc" && exec chroot "$r" "$@"'
    )
    unshare = ["unshare", "--mount", "--propagation", "private"]
    command = [
        *unshare, *(["--net"] if private_network else []), "sh", "-c", script, "image-sh",
        str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()),
        *config["Entrypoint"], *argv,
    ]  # fmt: skip
    return subprocess.run(
        command,
        env={**os.environ, "PHOTOS": str(photos), "STATE": str(state)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("photos_owner", ["puid", "root"])
def test_sync_from_the_image_as_the_puid_user(
    config: dict[str, Any], root: Path, tmp_path: Path, photos_owner: str
) -> None:
    """The user's share (owned by PUID), or a folder the runtime created for the bind mount
    (owned by root, handed to PUID by the entrypoint); the state volume is always handed over."""
    card = make_card(tmp_path / "card")
    photos, state = tmp_path / "photos", tmp_path / "state"
    photos.mkdir()
    state.mkdir()
    if photos_owner == "puid":
        os.chown(photos, PUID, PGID)
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        result = run_in_image(
            root,
            config,
            photos,
            state,
            ["sony-pm-alt", "sync", "--host", "127.0.0.1", "--port", str(emu.port),
             "--guid", PAIRED_GUID, "--dest", "/photos", "--json"],
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        saved = assert_good_sync(result.stdout, card, photos, emu, state, seen_as=Path("/photos"))
    for path in [photos, state, *saved, *photos.rglob("*"), *state.rglob("*")]:
        assert (path.stat().st_uid, path.stat().st_gid) == (PUID, PGID), path
    assert (state / "state.sqlite3").is_file()


@pytest.mark.parametrize(
    ("puid", "message"),
    [
        ("0", "sony-pm-alt: refusing PUID=0; give the uid that should own the photos"),
        ("me", "sony-pm-alt: PUID and PGID must be numbers (got 'me', '4322')"),
    ],
)
def test_a_bad_puid_is_refused(
    config: dict[str, Any], root: Path, tmp_path: Path, puid: str, message: str
) -> None:
    photos, state = tmp_path / "photos", tmp_path / "state"
    photos.mkdir()
    state.mkdir()
    result = run_in_image(root, config, photos, state, ["sony-pm-alt", "doctor"], puid=puid)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message + "\n")
    assert state.stat().st_uid == 0  # nothing was handed over


def test_the_health_check_passes(config: dict[str, Any], root: Path, tmp_path: Path) -> None:
    """The HEALTHCHECK command, as the PUID user: silent and 0. (doctor joins the SSDP group
    on UDP 1900, so in a network namespace of its own.)"""
    photos, state = tmp_path / "photos", tmp_path / "state"
    photos.mkdir()
    state.mkdir()
    os.chown(photos, PUID, PGID)
    test = config["Healthcheck"]["Test"]
    assert test[0] == "CMD"
    env = {**image_env(config), "SONY_PM_ALT_GUID": PAIRED_GUID}
    result = run_in_image(
        root, {**config, "Env": [f"{k}={v}" for k, v in env.items()]}, photos, state, test[1:],
        private_network=True,
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
