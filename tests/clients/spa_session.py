"""Client for the native-layer tests: one sony-pm-alt CameraSession against the emulator.

usage: spa_session.py PORT GUID NAME PROFILE DEST [--native auto|yes|no] [--proplist] [--op 0xN]
Lists and downloads every file, optionally runs raw transactions, and prints one JSON object
(also with the libgphoto2 log lines that reached Python logging).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from sony_pm_alt.engine.session import CameraSession
from sony_pm_alt.errors import SonyPmAltError
from sony_pm_alt.identity import Identity
from sony_pm_alt.profiles import load_profile
from sony_pm_alt.ptpip.datasets import ObjectPropList


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def walk(camera: Any, folder: str) -> list[tuple[str, str]]:
    found = [
        (folder, camera.folder_list_files(folder).get_name(i))
        for i in range(camera.folder_list_files(folder).count())
    ]
    subfolders = camera.folder_list_folders(folder)
    for i in range(subfolders.count()):
        found += walk(camera, folder.rstrip("/") + "/" + subfolders.get_name(i))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("port", "guid", "name", "profile", "dest"):
        parser.add_argument(name)
    parser.add_argument("--native", choices=["auto", "yes", "no"], default="yes")
    parser.add_argument("--proplist", action="store_true")
    parser.add_argument("--op", type=lambda v: int(v, 0))
    args = parser.parse_args()
    logs = Collect()
    logging.getLogger().addHandler(logs)
    logging.getLogger().setLevel(logging.DEBUG)
    out: dict[str, Any] = {}
    import gphoto2 as gp

    try:
        session = CameraSession(
            "127.0.0.1",
            port=int(args.port),
            identity=Identity.from_text(args.guid, args.name),
            profile=load_profile(args.profile),
            native={"auto": None, "yes": True, "no": False}[args.native],
        )
        with session:
            out["native"] = session.uses_native_layer
            files = []
            for folder, name in walk(session.camera, "/"):
                target = Path(args.dest) / name
                session.camera.file_get(folder, name, gp.GP_FILE_TYPE_NORMAL).save(str(target))
                files.append(str(target))
            out["files"] = files
            if args.proplist:
                result = session.transport().transaction(
                    0x9805, [0xFFFFFFFF, 0, 0xFFFFFFFF, 0, 0], data_in=True
                )
                props = ObjectPropList.decode(result.data).by_handle()
                out["proplist"] = {
                    str(h): {str(k): v for k, v in p.items()} for h, p in props.items()
                }
            if args.op is not None:
                session.transport().transaction(args.op, data_in=True)
        out["start"] = [r.code for r in session.start_results]
        out["end"] = [r.code for r in session.end_results]
    except SonyPmAltError as exc:
        out["error"] = {
            "type": type(exc).__name__,
            "message": str(exc),
            "code": getattr(exc, "code", None),
        }
    out["log"] = logs.lines
    print(json.dumps(out))


if __name__ == "__main__":
    main()
