"""`make demo`: the whole flow without a camera.

Inside a private network namespace (so nothing reaches your LAN) an emulated Sony camera with
the demo card announces itself over SSDP; `sony-pm-alt watch` discovers it, makes it show
"Sending…", downloads everything new and powers it off. Then this shows what arrived.

usage: python scripts/demo.py [DEST]      (default: ./demo-photos)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

GUID = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
NETNS_SETUP = (
    "ip link set lo up && ip link set lo multicast on && "
    "ip route add 239.0.0.0/8 dev lo src 127.0.0.1"
)
TIMEOUT = 120


def outside(dest: Path) -> int:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        print("make demo needs unshare (util-linux) and ip (iproute2)", file=sys.stderr)
        return 2
    inner = f'{NETNS_SETUP} && exec "$0" "$1" "$2" --inside'
    argv = ["unshare", "-rn", "sh", "-c", inner, sys.executable, __file__, str(dest)]
    return subprocess.run(argv, check=False, timeout=TIMEOUT).returncode


def inside(dest: Path) -> int:
    cli = [sys.executable, "-m", "sony_pm_alt"]
    log = dest / ".demo-camera.jsonl"
    log.unlink(missing_ok=True)
    camera = subprocess.Popen(
        [
            *cli,
            "emulate",
            "--ssdp",
            "--port",
            "15740",
            "--guid",
            GUID,
            "--notify-interval",
            "1",
            "--log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert camera.stdout is not None
    camera.stdout.readline()  # the port: the camera is up and announcing
    print("emulated ILCE-6000 announcing itself in a private network namespace")
    print(f"sony-pm-alt watch --once --guid {GUID} --dest {dest}\n", flush=True)
    env = {**os.environ, "XDG_CONFIG_HOME": str(dest / ".demo-config")}
    watch = subprocess.run(
        [
            *cli,
            "watch",
            "--once",
            "--guid",
            GUID,
            "--dest",
            str(dest),
            "--state",
            str(dest / ".demo-state.sqlite3"),
        ],
        env=env,
        check=False,
        timeout=TIMEOUT,
    )
    camera.wait(timeout=30)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    screens = [r["text"] for r in records if r["event"] == "screen"]
    print(f"\ncamera screen: {' → '.join(['Connecting…', *screens])}")
    files = sorted(p for p in dest.rglob("*") if p.is_file() and not p.name.startswith("."))
    print(f"{len(files)} files in {dest}:")
    for path in files:
        print(f"  {path.relative_to(dest)}  ({path.stat().st_size:,} bytes)")
    print("run `make demo` again: nothing new is downloaded, the camera still powers off")
    return watch.returncode


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[2] == "--inside":
        return inside(Path(sys.argv[1]))
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-photos").resolve()
    dest.mkdir(parents=True, exist_ok=True)
    return outside(dest)


if __name__ == "__main__":
    sys.exit(main())
