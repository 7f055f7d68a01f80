"""Reference client: list and download a PTP/IP camera with python-gphoto2, in-process.

Run by the tests with the project's venv (python-gphoto2 2.6.1, libgphoto2 2.5.31) and with a
reference venv (2.6.4, libgphoto2 2.5.34). Prints one JSON object: versions and the files.

usage: pygphoto2_download.py PORT_PATH DEST_DIR
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import gphoto2 as gp


def open_camera(port_path: str) -> tuple[gp.Camera, str]:
    if os.environ.get("CLIENT_CAMLIBS"):  # after `import gphoto2`, which overwrites CAMLIBS
        os.environ["CAMLIBS"] = os.environ["CLIENT_CAMLIBS"]
    camera = gp.Camera()
    ports = gp.PortInfoList()
    ports.load()
    camera.set_port_info(ports[ports.lookup_path(port_path)])
    abilities = gp.CameraAbilitiesList()
    abilities.load()
    model = abilities[abilities.lookup_model("PTP/IP Camera")]
    camera.set_abilities(model)
    camera.init()
    return camera, str(model.library)


def walk(camera: gp.Camera, folder: str) -> list[tuple[str, str]]:
    found = [(folder, name) for name, _ in camera.folder_list_files(folder)]
    for sub, _ in camera.folder_list_folders(folder):
        found += walk(camera, folder.rstrip("/") + "/" + sub)
    return found


def main() -> None:
    port_path, dest = sys.argv[1], Path(sys.argv[2])
    camera, camlib = open_camera(port_path)
    files = []
    for folder, name in walk(camera, "/"):
        info = camera.file_get_info(folder, name)
        target = dest / folder.strip("/") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        camera.file_get(folder, name, gp.GP_FILE_TYPE_NORMAL).save(str(target))
        os.utime(target, (info.file.mtime, info.file.mtime))
        files.append({"folder": folder, "name": name, "size": info.file.size, "path": str(target)})
    camera.exit()
    print(
        json.dumps(
            {
                "libgphoto2": gp.gp_library_version(gp.GP_VERSION_SHORT)[0],
                "python_gphoto2": gp.__version__,
                "camlib": camlib,
                "files": files,
            }
        )
    )


if __name__ == "__main__":
    main()
