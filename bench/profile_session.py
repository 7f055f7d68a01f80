"""Profile a nothing-new session in-process: where does the time go as the card grows?

    python bench/profile_session.py 2000 10000 [--top 25]

For each count: a card of that many small files on the emulator (loopback), one untimed first
import, then the second session (nothing new) under cProfile; prints its wall time and the
functions with the most cumulative time. Issue 12 wants 10,000 objects within 1.3x of 2,000.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import GUID, write_files  # bench/ is not a package

from sony_pm_alt import Identity, StateStore, SyncOptions, sync
from sony_pm_alt.emulator.process import spawn_emulator


def session(port: int, dest: Path, state: Path) -> int:
    with StateStore(state) as store:
        summary = sync(
            "127.0.0.1",
            port=port,
            identity=Identity.from_text(GUID),
            options=SyncOptions(dest=dest),
            state=store,
        )
    # libgphoto2 2.5.31's ptp_ptpip_disconnect also closes params->jpgfd, which nothing set
    # to -1: fd 0. Put /dev/null back there, or the next pipe we open would be closed next time.
    try:
        os.fstat(0)
    except OSError:
        os.open(os.devnull, os.O_RDONLY)
    return summary.transferred


def profile(count: int, top: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-profile-") as tmp:
        root = Path(tmp)
        write_files(root / "card", 0, count, 2048, seed=1)
        dest, state = root / "dest", root / "state.sqlite3"
        for attempt in ("first import", "nothing new"):
            with spawn_emulator(["--card", str(root / "card"), "--guid", GUID]) as emu:
                if attempt == "first import":
                    session(emu.port, dest, state)
                    continue
                profiler = cProfile.Profile()
                start = time.perf_counter()
                profiler.runcall(session, emu.port, dest, state)
                seconds = time.perf_counter() - start
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
        print(f"=== {count} objects, nothing new: {seconds:.3f} s (under cProfile)")
        print("\n".join(out.getvalue().splitlines()[6:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("counts", type=int, nargs="+")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for count in args.counts:
        profile(count, args.top)


if __name__ == "__main__":
    main()
