"""`make soak`: one `sony-pm-alt watch` through 200 activations of an emulated camera that
announces itself over SSDP, inside a private network namespace (nothing leaves the machine).

The activations come in blocks of ten, one emulator process per block; before each block new
files are put on the card, and some blocks (chosen by a seeded random generator, never the last)
carry a fault: a connection dropped mid-file, DeviceBusy, slow reads, a dropped listing. After
every session the watch process's open file descriptors, threads and resident memory are sampled
from /proc. At the end every card file must be in the destination exactly once, with no partial
file left, and none of the three samples may have grown past a small margin.

Bounded: at most 60 s per activation and 30 minutes in all.

usage: python tests/soak.py [--activations 200] [--seed 9]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

NETNS_SETUP = (
    "ip link set lo up && ip link set lo multicast on && "
    "ip route add 239.0.0.0/8 dev lo src 127.0.0.1"
)
GUID = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
BLOCK = 10
NEW_FILES_PER_BLOCK = 3
PER_ACTIVATION = 60.0
TOTAL = 30 * 60.0
PARTIAL_SUFFIX = ".sony-pm-alt-partial"
FAULTS = (
    ("--fault", "drop-after-bytes=150000"),
    ("--fault", "busy-first=2"),
    ("--fault", "latency=0x101B:0.3"),
    ("--fault", "drop-at=0x1007:1"),
    # Hostile-camera faults (emulator/faults.py).
    ("--fault", "oversize-data=4096"),
    ("--fault", "stale-reply=1"),
    ("--fault", "busy-open-session=2"),
)


def available_faults() -> tuple[list[tuple[str, str]], list[str]]:
    """The faults this build's emulator understands, and the names of the others."""
    from sony_pm_alt.emulator.faults import FaultSpecError, parse_faults

    known, missing = [], []
    for option, spec in FAULTS:
        try:
            parse_faults([spec])
        except FaultSpecError:
            missing.append(spec)
        else:
            known.append((option, spec))
    return known, missing


# Margins over the warm-up samples: a leak of one descriptor or thread per session shows up
# long before 200 sessions; memory gets room for allocator noise.
FD_MARGIN, THREAD_MARGIN, RSS_MARGIN_KIB = 2, 1, 16 * 1024


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "sony_pm_alt", *args]


def add_files(card: Path, block: int, rng: random.Random) -> None:
    for n in range(NEW_FILES_PER_BLOCK):
        path = card / "DCIM" / f"{100 + block % 900:03d}MSDCF" / f"DSC{block:03d}{n:02d}.JPG"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randrange(200_000, 600_000)))
        stamp = 1714557600 + 60 * (block * NEW_FILES_PER_BLOCK + n)
        os.utime(path, (stamp, stamp))


def sample(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(fields["Threads"].strip()),
        "rss_kib": int(fields["VmRSS"].split()[0]),
    }


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class WatchLog:
    """Reads watch's JSON lines on a thread; counts the sessions that ended."""

    def __init__(self, stream: IO[str], copy: IO[str]) -> None:
        self._copy = copy
        self.ended = 0
        self.failed = 0
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._copy.write(line)
            self._copy.flush()
            record = json.loads(line)  # off a terminal every line of watch's output is JSON
            with self.changed:
                self.events.append(record)
                if record.get("event") in ("summary", "session_failed", "cancelled"):
                    self.ended += 1
                    if record.get("event") != "summary" or not record.get("ok"):
                        self.failed += 1
                self.changed.notify_all()


def inside(activations: int, seed: int, work: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    card, dest = work / "card", work / "dest"
    card.mkdir()
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "config"), "XDG_DATA_HOME": str(work)}
    watch_log = (work / "watch.jsonl").open("w")
    watch = subprocess.Popen(
        _cli("watch", "--guid", GUID, "--dest", str(dest), "--state", str(work / "state.db"),
             "--cooldown", "0.001"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert watch.stdout is not None
    log = WatchLog(watch.stdout, watch_log)
    samples: list[dict[str, int]] = []
    blocks = -(-activations // BLOCK)
    faults, missing_faults = available_faults()
    faulted_blocks = 0
    block_faults: list[str] = []
    fd_targets: list[str] = []
    deadline = time.monotonic() + TOTAL
    try:
        for block in range(blocks):
            add_files(card, block, rng)
            count = min(BLOCK, activations - block * BLOCK)
            fault = rng.choice(faults) if block < blocks - 1 and rng.random() < 0.3 else ()
            faulted_blocks += bool(fault)
            block_faults.append(" ".join(fault[1:]) or "-")
            emulator = subprocess.Popen(
                _cli("emulate", "--ssdp", "--port", "15740", "--notify-interval", "0.2",
                     "--inactivity-timeout", "6", "--activations", str(count), "--guid", GUID,
                     "--card", str(card), "--log", str(work / f"camera-{block}.jsonl"), *fault),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            limit = min(deadline, time.monotonic() + PER_ACTIVATION * count)
            try:
                emulator.wait(timeout=max(1.0, limit - time.monotonic()))
            except subprocess.TimeoutExpired:
                emulator.kill()
                emulator.wait()
                raise RuntimeError(f"block {block} did not finish in time") from None
            with log.changed:  # the session of the block's last activation has been reported
                log.changed.wait_for(lambda: log.ended >= 1 and not _running(log), 30)
            samples.append(sample(watch.pid))
        fd_targets = sorted(
            os.readlink(f"/proc/{watch.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{watch.pid}/fd")
        )
    finally:
        watch.send_signal(signal.SIGTERM)
        watch_exit = watch.wait(timeout=60)
    records = [
        json.loads(line)
        for f in sorted(work.glob("camera-*.jsonl"))
        for line in f.read_text().splitlines()
        if line.strip()
    ]
    sessions = sum(r["event"] == "session_start" for r in records)
    ends: dict[str, int] = {}
    for r in records:
        if r["event"] == "activation_end":
            ends[r["reason"]] = ends.get(r["reason"], 0) + 1
    want = sorted(sha(p) for p in card.rglob("*") if p.is_file())
    got = sorted(
        sha(p) for p in dest.rglob("*") if p.is_file() and not p.name.endswith(PARTIAL_SUFFIX)
    )
    return {
        "activations": activations,
        "blocks": blocks,
        "faulted_blocks": faulted_blocks,
        "faults_not_in_this_build": missing_faults,
        "block_faults": block_faults,
        "fd_targets_at_end": fd_targets,
        "sessions_reported": log.ended,
        "sessions_failed": log.failed,
        "camera_sessions": sessions,
        "activation_ends": ends,
        "files_on_card": len(want),
        "exactly_once": got == want,
        "missing": len(set(want) - set(got)),
        "duplicates": len(got) - len(set(got)),
        "partials_left": len(list(dest.rglob(f"*{PARTIAL_SUFFIX}"))),
        "watch_exit": watch_exit,
        "samples": samples,
    }


def _running(log: WatchLog) -> bool:
    started = sum(1 for e in log.events if e.get("event") == "found")
    return started > log.ended


def verdict(result: dict[str, Any]) -> list[str]:
    problems = []
    if not result["exactly_once"]:
        problems.append(
            f"files: {result['missing']} missing, {result['duplicates']} duplicated "
            f"of {result['files_on_card']}"
        )
    if result["partials_left"]:
        problems.append(f"{result['partials_left']} partial files left")
    if result["watch_exit"] not in (0, 1):
        problems.append(f"watch exited {result['watch_exit']}")
    samples = result["samples"]
    if len(samples) >= 6:
        warm, late = samples[1:4], samples[-3:]
        for key, margin in (("fds", FD_MARGIN), ("threads", THREAD_MARGIN)):
            if max(s[key] for s in late) > max(s[key] for s in warm) + margin:
                problems.append(f"{key} grew: {[s[key] for s in samples]}")
        rss_warm = statistics.median(s["rss_kib"] for s in warm)
        if statistics.median(s["rss_kib"] for s in late) > rss_warm + RSS_MARGIN_KIB:
            problems.append(f"RSS grew: {[s['rss_kib'] for s in samples]} KiB")
    return problems


def markdown(result: dict[str, Any], problems: list[str]) -> str:
    samples = result["samples"]
    rows = [f"| {key} | {value} |" for key, value in result.items() if key != "samples"]
    rows += [
        f"| {key} per block | {[s[key] for s in samples]} |"
        for key in ("fds", "threads", "rss_kib")
    ]
    verdict_line = "PASS" if not problems else "FAIL: " + "; ".join(problems)
    return "\n".join(
        [
            "# Soak: one watch through many camera activations",
            "",
            "Written by `make soak` (`tests/soak.py`); do not edit by hand. One",
            "`sony-pm-alt watch` in a private network namespace, an emulated camera announcing",
            "over SSDP, activations",
            f"in blocks of {BLOCK} (one emulator process per block, new files before each block,",
            "a random fault in some blocks). The watch process's open descriptors, threads and",
            "resident memory are sampled after each block.",
            "",
            f"**{verdict_line}**",
            "",
            "| measure | value |",
            "|---|---|",
            *rows,
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--keep", type=Path, help="keep the run's files in this new directory")
    parser.add_argument("--write", type=Path, help="write a Markdown report here")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        if args.keep:
            args.keep.mkdir(parents=True)
            print(json.dumps(inside(args.activations, args.seed, args.keep.resolve())))
            return 0
        with tempfile.TemporaryDirectory(prefix="sony-pm-alt-soak-") as scratch:
            print(json.dumps(inside(args.activations, args.seed, Path(scratch))))
        return 0
    inner = f'{NETNS_SETUP} && exec "$0" "$@"'
    argv = ["unshare", "-rn", "sh", "-c", inner, sys.executable, __file__, *sys.argv[1:]]
    proc = subprocess.run(
        [*argv, "--inside"], capture_output=True, text=True, check=False, timeout=TOTAL + 120
    )
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        return 1
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    samples = result.pop("samples")
    for key, value in result.items():
        print(f"{key:20} {value}")
    for key in ("fds", "threads", "rss_kib"):
        print(f"{key:20} {[s[key] for s in samples]}")
    result["samples"] = samples
    problems = verdict(result)
    for problem in problems:
        print(f"FAIL {problem}")
    if args.write:
        args.write.write_text(markdown(result, problems), encoding="utf-8")
    print("soak: PASS" if not problems else "soak: FAIL")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
