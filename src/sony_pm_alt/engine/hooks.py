"""User hook commands, gphoto2-compatible: run at session start and end and after each file.

The command runs through the shell with ``ACTION`` (``init``, ``start``, ``download``,
``stop``) and ``ARGUMENT`` (the downloaded file's path for ``download``) in its environment,
like ``gphoto2 --hook-script``, plus a JSON description on standard input. A failing, hanging
or missing hook is logged and never stops the transfer.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
from typing import Any

log = logging.getLogger("sony_pm_alt.hooks")

HOOK_TIMEOUT = 300.0  # seconds; keep-alive holds the camera while a hook runs


def run_hook(command: str | None, action: str, argument: str = "", **details: Any) -> bool:
    """Run ``command`` for ``action``; True when it exited 0 (or there is no command)."""
    if not command:
        return True
    env = {**os.environ, "ACTION": action, "ARGUMENT": argument}
    payload = json.dumps({"action": action, "argument": argument, **details}, default=str)
    what = f"hook {command!r} ({action})"
    try:
        # A process group of its own, so that a hook that times out is ended with its children.
        proc = subprocess.Popen(
            command,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        log.warning("%s could not run: %s; carrying on", what, exc)
        return False
    try:
        _, stderr = proc.communicate(payload, timeout=HOOK_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        log.warning("%s did not finish within %g s; stopped it, carrying on", what, HOOK_TIMEOUT)
        return False
    if proc.returncode != 0:
        last = (stderr.strip().splitlines() or [""])[-1]
        log.warning(
            "%s exited %d%s; carrying on", what, proc.returncode, f": {last}" if last else ""
        )
        return False
    return True
