"""Client for the data-in overflow tests: read every file of a PTP/IP camera with
python-gphoto2's ``Camera.file_read`` (GetPartialObject) into a buffer of exactly the size asked
for, as the sync engine does. Prints one JSON object: versions, camlib, and per file either the
bytes read or the libgphoto2 error code.

Against a camera that answers with more bytes than asked, an unpatched ptp2 camlib copies them
past the buffer: this process then dies (free() abort or SIGSEGV) instead of printing.

usage: pygphoto2_partial_read.py PORT_PATH
"""

from __future__ import annotations

import hashlib
import json
import sys

import gphoto2 as gp
from pygphoto2_download import open_camera, walk  # the sibling script: its folder is on sys.path

CHUNK = 1024 * 1024  # what gphoto2 and the sync engine ask per GetPartialObject
MAX_CHUNKS = 64  # files in these tests are a few MiB: a hard stop for the read loop


def read_file(camera: gp.Camera, folder: str, name: str, size: int) -> dict[str, object]:
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)  # exactly what is asked for, as a caller's buffer is
    offset = 0
    for _ in range(MAX_CHUNKS):
        if offset >= size:
            break
        view = memoryview(buffer)[: min(CHUNK, size - offset)]
        try:
            count = camera.file_read(folder, name, gp.GP_FILE_TYPE_NORMAL, offset, view)
        except gp.GPhoto2Error as exc:
            return {"name": name, "error": exc.code, "at": offset}
        if count <= 0 or count > len(view):
            return {"name": name, "bad_count": count, "asked": len(view), "at": offset}
        digest.update(view[:count])
        offset += count
    return {"name": name, "read": offset, "sha256": digest.hexdigest()}


def main() -> None:
    camera, camlib = open_camera(sys.argv[1])
    results = []
    for folder, name in walk(camera, "/"):
        size = camera.file_get_info(folder, name).file.size
        results.append(read_file(camera, folder, name, size))
    try:
        camera.exit()
    except gp.GPhoto2Error as exc:
        results.append({"exit_error": exc.code})
    print(
        json.dumps(
            {
                "libgphoto2": gp.gp_library_version(gp.GP_VERSION_SHORT)[0],
                "python_gphoto2": gp.__version__,
                "camlib": camlib,
                "files": results,
            }
        )
    )


if __name__ == "__main__":
    main()
