"""Run ``sony-pm-alt emulate`` as a subprocess on an ephemeral loopback port, for tests that
drive it with third-party clients (Debian's gphoto2, python-gphoto2, tshark)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from golden import SETTER_GUID_TEXT
from sony_pm_alt.emulator.process import EmulatorProcess, spawn_emulator

# The GUID sony-guid-setter registers (docs/protocol.md §6); any fixed value would do.
PAIRED_GUID = SETTER_GUID_TEXT


@contextmanager
def running_emulator(
    log_dir: Path, *args: str, card: Path | None = None
) -> Iterator[EmulatorProcess]:
    """The emulator on an ephemeral loopback port, recording to ``log_dir/emulator.jsonl``."""
    card_args = ["--card", str(card)] if card is not None else []
    with spawn_emulator([*args, *card_args], log_path=log_dir / "emulator.jsonl") as emu:
        yield emu


def gphoto2_home(base: Path, guid: str = PAIRED_GUID) -> dict[str, str]:
    """A private HOME whose libgphoto2 settings carry ``guid`` (read by 2.5.30–2.5.34)."""
    home = base / "home"
    (home / ".gphoto").mkdir(parents=True, exist_ok=True)
    (home / ".gphoto" / "settings").write_text(f"ptp2_ip=guid={guid}\n")
    env = dict(os.environ)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), LANG="C")
    return env


def reference_python() -> str:
    """The python of the python-gphoto2 2.6.4 reference venv (libgphoto2 2.5.34)."""
    python = os.environ.get("SONY_PM_ALT_REF_PYTHON", "")
    if not Path(python).is_file():
        raise RuntimeError(
            "SONY_PM_ALT_REF_PYTHON must name the python of the python-gphoto2 2.6.4 reference "
            "venv; `make test` creates it (.venv-ref264)"
        )
    return python


def gphoto2_cli() -> str:
    path = shutil.which("gphoto2")
    if path is None:
        raise RuntimeError("Debian's gphoto2 CLI is missing: run `make test` (it installs it)")
    return path


def card_files(card: Path) -> dict[str, Path]:
    """Relative path → file, for every regular file of a card directory."""
    return {str(p.relative_to(card)): p for p in sorted(card.rglob("*")) if p.is_file()}


def operations(proc: EmulatorProcess) -> list[tuple[int, list[int]]]:
    return [(r["opcode"], r["params"]) for r in proc.events("operation")]


def run(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def sync_command(emu: EmulatorProcess, work: Path, *extra: str) -> list[str]:
    """`sony-pm-alt sync --json` against ``emu``, with destination and state under ``work``."""
    return [
        sys.executable,
        "-m",
        "sony_pm_alt",
        "sync",
        "--host",
        "127.0.0.1",
        "--port",
        str(emu.port),
        "--guid",
        PAIRED_GUID,
        "--dest",
        str(work / "dest"),
        "--state",
        str(work / "state.sqlite3"),
        "--json",
        *extra,
    ]


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def run_sync(
    emu: EmulatorProcess,
    work: Path,
    *extra: str,
    timeout: float = 900,
    env: dict[str, str] | None = None,
) -> tuple[int, list[dict[str, Any]], str]:
    """Run one sync; its exit code, its JSON lines and its standard error."""
    result = subprocess.run(
        sync_command(emu, work, *extra),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result.returncode, json_lines(result.stdout), result.stderr


def write_card(
    root: Path, files: Sequence[tuple[str, int]], *, step: int = 3600, seed: int | None = None
) -> Path:
    """A card of random files (``seed``: reproducible contents), capture times ``step``
    seconds apart from 2024-05-01."""
    rng = random.Random(seed) if seed is not None else None
    for n, (rel, size) in enumerate(files):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size) if rng else os.urandom(size))
        stamp = 1714557600 + step * n
        os.utime(path, (stamp, stamp))
    return root
