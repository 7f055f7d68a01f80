"""`make demo`: an emulated Sony camera with the demo card, and Debian's gphoto2 downloading
everything from it over PTP/IP on loopback. Shows what the camera saw and what arrived.

(Once `sony-pm-alt watch` exists, the demo runs it against the emulator instead.)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from sony_pm_alt.emulator.process import spawn_emulator

GUID = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-photos").resolve()
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-demo-") as scratch:
        home = Path(scratch) / "home"
        (home / ".gphoto").mkdir(parents=True)
        (home / ".gphoto" / "settings").write_text(f"ptp2_ip=guid={GUID}\n")
        log = Path(scratch) / "camera.jsonl"
        with spawn_emulator(["--guid", GUID], log_path=log) as camera:
            print(f"emulated camera listening on 127.0.0.1:{camera.port}")
            print(f"gphoto2 --port {camera.gphoto2_port} -P --skip-existing  (into {dest})")
            result = subprocess.run(
                [
                    "gphoto2",
                    "--port",
                    camera.gphoto2_port,
                    "--camera",
                    "PTP/IP Camera",
                    "-P",
                    "--skip-existing",
                ],
                cwd=dest,
                env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
                check=False,
            )
            screens = [r["text"] for r in camera.events("screen")]
            operations = camera.events("operation")
        print(f"\ncamera screen: {' → '.join(['Connecting…', *screens])}")
        print(f"operations answered: {len(operations)}")
        for path in sorted(dest.iterdir()):
            print(f"  {path.name:16} {path.stat().st_size:>10,} bytes")
    if result.returncode != 0:
        print("gphoto2 failed; see its output above", file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
