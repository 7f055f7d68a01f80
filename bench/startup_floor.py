"""What a nothing-new session cannot go below with python-gphoto2 in the process (issue 12).

    python bench/startup_floor.py [COUNT] [--runs N]

On plain loopback, each against a freshly started emulator serving a card of COUNT small files
(default 2,000), the best and median wall time of:

- a bare ``python -c pass`` (the issue's "bare Python start-up");
- ``import gphoto2``;
- a python-gphoto2 program that opens a PTP/IP session on the camera and closes it again, with
  only the ptp2 camlib loaded, as sony-pm-alt loads it: the least any client built on
  python-gphoto2 pays before it asks the camera for anything;
- ``sony-pm-alt sync`` with nothing new on the card.

The first import of the card is untimed. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import GUID, client_env, write_files  # bench/ is not a package

from sony_pm_alt import native
from sony_pm_alt.emulator.process import spawn_emulator

OPEN_AND_CLOSE = """
import sys, gphoto2 as gp
path = f"ptpip:127.0.0.1:{sys.argv[1]}:{sys.argv[1]}"
ports, models = gp.PortInfoList(), gp.CameraAbilitiesList()
ports.load()
models.load()
camera = gp.Camera()
camera.set_port_info(ports[ports.lookup_path(path)])
camera.set_abilities(models[models.lookup_model("PTP/IP Camera")])
camera.init()
camera.exit()
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    native.load()  # sets CAMLIBS to the directory holding only the patched ptp2 camlib
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-startup-floor-") as tmp:
        root = Path(tmp)
        card, dest, state = root / "card", root / "dest", root / "state.sqlite3"
        write_files(card, 1, args.count, 400, seed=1)
        env = {**client_env(root / "home"), "CAMLIBS": os.environ["CAMLIBS"]}
        sync = [sys.executable, "-m", "sony_pm_alt", "sync", "--host", "127.0.0.1", "--guid",
                GUID, "--dest", str(dest), "--state", str(state), "--json"]  # fmt: skip
        gphoto2 = [sys.executable, "-c", OPEN_AND_CLOSE]
        clients: dict[str, Callable[[int], list[str]]] = {
            "bare python -c pass": lambda port: [sys.executable, "-c", "pass"],
            "import gphoto2": lambda port: [sys.executable, "-c", "import gphoto2"],
            "python-gphoto2: open and close": lambda port: [*gphoto2, str(port)],
            "sony-pm-alt sync, nothing new": lambda port: [*sync, "--port", str(port)],
        }
        with spawn_emulator(["--card", str(card), "--guid", GUID]) as first:
            subprocess.run([*sync, "--port", str(first.port)], env=env, check=True,
                           capture_output=True)  # fmt: skip
        seconds: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.runs):
            for name, argv_for in clients.items():
                with spawn_emulator(["--card", str(card), "--guid", GUID]) as emulator:
                    started = time.perf_counter()
                    done = subprocess.run(argv_for(emulator.port), env=env, capture_output=True)
                    seconds[name].append(time.perf_counter() - started)
                if done.returncode != 0:
                    sys.exit(f"{name} failed: {done.stderr.decode(errors='replace').strip()}")
                if name.startswith("sony-pm-alt") and b'"planned": 0,' not in done.stdout:
                    sys.exit(f"{name} was not a nothing-new session: {done.stdout[-300:]!r}")
    print(f"{args.count} objects on loopback, {args.runs} runs each (s):")
    for name, values in seconds.items():
        print(f"  {name:34} best {min(values):.3f}  median {statistics.median(values):.3f}")


if __name__ == "__main__":
    main()
