"""`make bench`: side by side in one run, on loopback against the emulator.

1. Raw throughput: each PTP/IP client downloads the same card (MB/s, ratio to gphoto2's CLI).
2. The job itself: `sony-pm-alt sync` against `gphoto2 -P --skip-existing` on a card of many
   files with many DCIM folders, first run and second run (nothing new). The second run is
   what a "Send to Computer" user pays every time: gphoto2 asks for every object's info and
   checks the local file, sony-pm-alt makes one bulk listing and asks its state store.
3. The codec's framing throughput and the native layer's build time, clean and cached.
Numbers, not assertions: compare runs on the same machine.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sony_pm_alt.emulator.process import EmulatorProcess, spawn_emulator
from sony_pm_alt.ptpip.packets import Data, EndData, encode_packet
from sony_pm_alt.ptpip.stream import PacketReader

GUID = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
FILES, FILE_MB = 6, 8
ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "tests" / "clients" / "pygphoto2_download.py"


def make_card(root: Path) -> int:
    rng = random.Random(1)
    folder = root / "DCIM" / "100MSDCF"
    folder.mkdir(parents=True)
    for n in range(1, FILES + 1):
        (folder / f"DSC{n:05d}.JPG").write_bytes(rng.randbytes(FILE_MB * 1024 * 1024))
    return FILES * FILE_MB * 1024 * 1024


def client_env(scratch: Path) -> dict[str, str]:
    home = scratch / "home"
    (home / ".gphoto").mkdir(parents=True, exist_ok=True)
    (home / ".gphoto" / "settings").write_text(f"ptp2_ip=guid={GUID}\n")
    return {**os.environ, "HOME": str(home)}


def timed_download(
    card: Path, scratch: Path, argv: Callable[[EmulatorProcess, Path], list[str]]
) -> float:
    dest = Path(tempfile.mkdtemp(dir=scratch))
    with spawn_emulator(["--card", str(card), "--guid", GUID]) as emu:
        start = time.perf_counter()
        subprocess.run(
            argv(emu, dest), cwd=dest, env=client_env(scratch), check=True, capture_output=True
        )
        return time.perf_counter() - start


def make_many_files_card(root: Path, folders: int = 8, per_folder: int = 60) -> int:
    rng = random.Random(2)
    for f in range(folders):
        folder = root / "DCIM" / f"{100 + f}MSDCF"
        folder.mkdir(parents=True)
        for n in range(per_folder):
            (folder / f"DSC{f * per_folder + n:05d}.JPG").write_bytes(rng.randbytes(40_000))
    return folders * per_folder


def timed_runs(
    card: Path,
    scratch: Path,
    argv: Callable[[EmulatorProcess, Path], list[str]],
    dest: Path,
    latency: float,
    runs: int = 2,
) -> list[float]:
    """Run the client ``runs`` times into the same destination, each against a fresh camera
    that waits ``latency`` seconds before answering each operation."""
    dest.mkdir(parents=True, exist_ok=True)
    times = []
    for _ in range(runs):
        args = ["--card", str(card), "--guid", GUID, "--fault", f"latency={latency}"]
        with spawn_emulator(args) as emu:
            start = time.perf_counter()
            subprocess.run(
                argv(emu, dest), cwd=dest, env=client_env(scratch), check=True, capture_output=True
            )
            times.append(time.perf_counter() - start)
    return times


def gphoto2_cli(emu: EmulatorProcess, *extra: str) -> list[str]:
    """Debian's gphoto2 downloading everything (-P) from the emulator."""
    return ["gphoto2", "--port", emu.gphoto2_port, "--camera", "PTP/IP Camera", "-P", *extra]


def gphoto2_job(emu: EmulatorProcess, dest: Path) -> list[str]:
    return gphoto2_cli(emu, "--skip-existing")


def job_comparison(scratch: Path) -> None:
    card = scratch / "many"
    count = make_many_files_card(card)
    print(
        f"\nthe job: {count} files of 40 kB in 8 folders; first run, then second run (nothing new)"
    )
    print(
        f"{'camera latency per operation':30} {'gphoto2 -P --skip-existing':>28} "
        f"{'sony-pm-alt sync':>20} {'ratio':>14}"
    )
    # Loopback answers in microseconds; over Wi-Fi each PTP operation costs milliseconds.
    for latency in (0.0, 0.005):
        state = scratch / f"state-{latency}.sqlite3"

        def ours(emu: EmulatorProcess, dest: Path, state: Path = state) -> list[str]:
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
                GUID,
                "--dest",
                str(dest),
                "--state",
                str(state),
                "--json",
            ]

        theirs = timed_runs(card, scratch, gphoto2_job, scratch / f"g-{latency}", latency)
        mine = timed_runs(card, scratch, ours, scratch / f"s-{latency}", latency)
        label = f"{latency * 1000:.0f} ms"
        print(
            f"{label:30} {theirs[0]:12.2f}s / {theirs[1]:6.2f}s {mine[0]:8.2f}s / "
            f"{mine[1]:6.2f}s {theirs[0] / mine[0]:5.2f}x / {theirs[1] / mine[1]:5.2f}x"
        )


def framing_seconds(total: int) -> float:
    chunk = bytes(1024 * 1024)
    stream = b"".join(encode_packet(Data(1, chunk)) for _ in range(total // len(chunk)))
    stream += encode_packet(EndData(1))
    reader = PacketReader()
    start = time.perf_counter()
    for i in range(0, len(stream), 65536):
        reader.feed(stream[i : i + 65536])
    return time.perf_counter() - start


def build_seconds(cache: Path) -> tuple[float, float]:
    """The native layer built into an empty cache (source fetch included), then again."""
    times = []
    for _ in range(2):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "build.py"), "--cache-dir", str(cache)],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def main() -> None:
    ref_python = os.environ.get("SONY_PM_ALT_REF_PYTHON", "")
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-bench-") as tmp:
        scratch = Path(tmp)
        card = scratch / "card"
        total = make_card(card)
        runs: dict[str, Callable[[EmulatorProcess, Path], list[str]]] = {
            "gphoto2 CLI 2.5.28 (Debian libgphoto2 2.5.30) -P": lambda emu, dest: gphoto2_cli(emu),
            "python-gphoto2 2.6.1 file_get (libgphoto2 2.5.31)": lambda emu, dest: [
                sys.executable,
                str(CLIENT),
                emu.gphoto2_port,
                str(dest),
            ],
        }
        if Path(ref_python).is_file():
            runs["python-gphoto2 2.6.4 file_get (libgphoto2 2.5.34)"] = lambda emu, dest: [
                ref_python,
                str(CLIENT),
                emu.gphoto2_port,
                str(dest),
            ]
        results = {name: timed_download(card, scratch, argv) for name, argv in runs.items()}
    baseline = next(iter(results.values()))
    print(f"download of {FILES} × {FILE_MB} MiB from the emulator on loopback")
    print(f"{'client':55} {'seconds':>8} {'MB/s':>8} {'vs CLI':>7}")
    for name, secs in results.items():
        print(f"{name:55} {secs:8.2f} {total / secs / 1e6:8.1f} {baseline / secs:7.2f}")
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-bench-") as tmp:
        job_comparison(Path(tmp))
    framing = framing_seconds(256 * 1024 * 1024)
    print(
        f"\ncodec framing (PacketReader, 1 MiB Data packets): {256 * 1.048576 / framing:8.0f} MB/s"
    )
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-bench-cache-") as cache:
        clean, cached = build_seconds(Path(cache))
    print(
        f"native layer build: clean {clean:.1f} s (source fetch + build), cached {cached:.1f} s, "
        f"ratio {clean / cached:.0f}x"
    )


if __name__ == "__main__":
    main()
