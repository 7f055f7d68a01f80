"""libgphoto2's settings file, for when the native layer is missing.

Stock libgphoto2 reads the PTP/IP GUID only from its settings file (``~/.gphoto/settings``
up to 2.5.33, key ``ptp2_ip``, value ``guid=xx:…:xx``). Without the native layer that is the
only way to send the paired GUID, so the line is merged in atomically: every other line is
kept, the file is replaced in one rename, never truncated in place. libgphoto2 reads the file
once per process, so this must run before the first camera is opened.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..identity import format_guid


def settings_path(home: Path | None = None) -> Path:
    """The file libgphoto2 2.5.31 (python-gphoto2 2.6.1) reads."""
    return (home or Path.home()) / ".gphoto" / "settings"


def merge_guid(guid: bytes, path: Path | None = None) -> bool:
    """Make ``ptp2_ip=guid=…`` say ``guid``; True when the file had to change."""
    path = path or settings_path()
    wanted = f"ptp2_ip=guid={format_guid(guid)}"
    try:
        with path.open(encoding="utf-8", errors="surrogateescape", newline="") as f:
            lines = f.read().split("\n")  # "\n" only: every other byte of a line is kept
        if lines and lines[-1] == "":
            lines.pop()
    except FileNotFoundError:
        lines = []
    kept = [line for line in lines if not line.startswith("ptp2_ip=guid=")]
    if wanted in lines and len(kept) == len(lines) - 1:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join([*kept, wanted]) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
