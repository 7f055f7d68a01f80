"""Run a command and report its peak resident set size on standard error, as JSON.

usage: peak_rss.py COMMAND [ARG ...]

Linux counts, in a child's ru_maxrss, the resident size it had before exec — a forked copy of
its parent. Forked from a big test process that can be hundreds of MB, so the command is
started from this small process instead, and its own peak is what gets reported.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    pid = os.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    _, status, usage = os.wait4(pid, 0)
    report = {"exit": os.waitstatus_to_exitcode(status), "peak_rss": usage.ru_maxrss * 1024}
    print(json.dumps(report), file=sys.stderr)


if __name__ == "__main__":
    main()
