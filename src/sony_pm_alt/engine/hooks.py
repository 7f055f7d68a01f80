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
    try:
        result = subprocess.run(
            command,
            shell=True,
            input=payload,
            text=True,
            env=env,
            capture_output=True,
            timeout=HOOK_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning(
            "hook %r (%s) did not finish within %.0f s; carrying on", command, action, HOOK_TIMEOUT
        )
        return False
    except OSError as exc:
        log.warning("hook %r (%s) could not run: %s; carrying on", command, action, exc)
        return False
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or [""])[-1]
        log.warning(
            "hook %r (%s) exited %d%s; carrying on",
            command,
            action,
            result.returncode,
            f": {last}" if last else "",
        )
        return False
    return True
