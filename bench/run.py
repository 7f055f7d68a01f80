"""`make bench`: throughput of the emulator with each PTP/IP client, side by side in one run.

Every client downloads the same generated card from a fresh emulator on loopback; the table
shows MB/s and the ratio to Debian's gphoto2 CLI. Plus the codec's framing throughput.
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
        subprocess.run([sys.executable, str(ROOT / "build.py"), "--cache-dir", str(cache)],
                       check=True, capture_output=True)  # fmt: skip
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def main() -> None:
    ref_python = os.environ.get("SONY_PM_ALT_REF_PYTHON", "")
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-bench-") as tmp:
        scratch = Path(tmp)
        card = scratch / "card"
        total = make_card(card)
        runs: dict[str, Callable[[EmulatorProcess, Path], list[str]]] = {
            "gphoto2 CLI 2.5.28 (Debian libgphoto2 2.5.30) -P": lambda emu, dest: [
                "gphoto2",
                "--port",
                emu.gphoto2_port,
                "--camera",
                "PTP/IP Camera",
                "-P",
            ],
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
