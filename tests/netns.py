"""Run a command inside a fresh, private network namespace with multicast on loopback.

Tests that send multicast (SSDP) must not touch the host's networks. ``unshare -rn`` gives the
command a namespace of its own holding only ``lo``; the wrapper brings ``lo`` up, enables
multicast on it and routes 239.0.0.0/8 through it with source 127.0.0.1 (loopback addresses are
host-scoped, so without ``src`` the kernel sends multicast from 0.0.0.0), so SSDP works entirely
inside the namespace and vanishes with the process. Missing ``unshare`` (util-linux) or ``ip``
(iproute2) is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence

_SETUP = (
    "ip link set lo up && ip link set lo multicast on"
    " && ip route add 239.0.0.0/8 dev lo src 127.0.0.1"
    ' || { echo "netns.py: network namespace set-up failed" >&2; exit 125; }; exec "$@"'
)


def _unshare() -> str:
    """Path of ``unshare``; raise if it or ``ip`` is missing (tests must fail, not skip)."""
    unshare = shutil.which("unshare")
    missing = [
        tool
        for tool, path in (("unshare (util-linux)", unshare), ("ip (iproute2)", shutil.which("ip")))
        if path is None
    ]
    if unshare is None or missing:
        raise RuntimeError(
            f"network-namespace tests need {' and '.join(missing)}; install them (make deps)"
        )
    return unshare


def run_in_netns(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` in a new network namespace and return its result (stdout/stderr captured).

    ``env`` adds variables to the current environment. The whole process group is killed when
    ``timeout`` seconds pass, and :class:`subprocess.TimeoutExpired` is raised with the output
    so far. A non-zero exit status is returned, not raised; set-up failure exits with 125.
    """
    command = [_unshare(), "-rn", "sh", "-c", _SETUP, "netns-sh", *argv]
    full_env = {**os.environ, **(env or {})}
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise subprocess.TimeoutExpired(command, timeout, stdout, stderr) from None
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def netns_python(
    script: str | os.PathLike[str],
    *args: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run Python code in a new network namespace with this interpreter.

    A ``str`` is source code (``python -c``); a path (``pathlib.Path``) is a script file.
    ``args`` become ``sys.argv[1:]``.
    """
    if isinstance(script, str):
        argv = [sys.executable, "-c", script, *args]
    else:
        argv = [sys.executable, os.fspath(script), *args]
    return run_in_netns(argv, timeout=timeout, env=env)
