"""`make bench`: sony-pm-alt against gphoto2 on a Wi-Fi-like link, scenario by scenario.

    python bench/harness.py                     # full run, 100 Mbit/s + 4 ms RTT (~15 min)
    python bench/harness.py --quick             # smaller inputs, one run each (< 2 min)
    python bench/harness.py --link loopback     # unshaped loopback
    python bench/harness.py --link rate=50mbit,rtt=10ms --runs 5 --only 1,3

The harness re-runs itself inside a private network namespace (``unshare -rn``) holding only
``lo``. There the link is shaped: ``tbf`` on ``lo`` limits the rate (this kernel has no
``netem``) of the client's hop only (an ``htb`` root with ``u32`` port filters), the MTU is
set to 1500 as on Ethernet and Wi-Fi, and bench/relay.py adds the round-trip time. Both clients
(``sony-pm-alt sync`` and Debian's ``gphoto2 -P --skip-existing``) go through that same path
to a fresh emulator, alternately, ``--runs`` times; medians and ratios go to a JSON file under
bench/results/ and docs/benchmarks.md is regenerated from it (bench/report.py).

Numbers, never assertions: the test suite runs this once on tiny inputs only so it does not
rot (tests/test_bench_harness.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # bench/ is not a package

ROOT = Path(__file__).resolve().parent.parent
GUID = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
INSIDE = "SONY_PM_ALT_BENCH_NETNS"
RUN_TIMEOUT = 900.0  # one client run; a run that exceeds it is recorded as failed
RELAY_LIFETIME = 4 * 3600.0  # the relay also exits when the harness goes away
PER_FOLDER = 500
# TCP connect (2: command and event channel), Init Command, Init Event, OpenSession,
# GetStorageIDs, one bulk listing, CloseSession: what any session needs before/after files.
SESSION_ROUND_TRIPS = 8
OURS, GPHOTO2 = "sony-pm-alt", "gphoto2"
# The untimed first import that gives sony-pm-alt its "old" files (gphoto2's are hard links):
# 10,000 fsyncs would make the set-up longer than the benchmark, and durability is not measured.
UNTIMED_IMPORT = "import os; os.fsync = lambda fd: None; from sony_pm_alt.cli import main; main()"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Link:
    name: str
    rate_mbit: float | None  # None: not shaped
    rtt_ms: float

    @property
    def shaped(self) -> bool:
        return self.rate_mbit is not None or self.rtt_ms > 0

    def describe(self) -> str:
        rate = "unshaped" if self.rate_mbit is None else f"{self.rate_mbit:g} Mbit/s"
        return f"{rate}, {self.rtt_ms:g} ms RTT"


PROFILES = {
    "loopback": Link("loopback", None, 0.0),
    "wifi": Link("wifi", 100.0, 4.0),
}
UNSHAPED = PROFILES["loopback"]


def parse_link(text: str) -> Link:
    """A profile name or ``rate=100mbit,rtt=4ms`` (either part may be left out)."""
    if text in PROFILES:
        return PROFILES[text]
    rate: float | None = None
    rtt = 0.0
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key == "rate" and (m := re.fullmatch(r"([\d.]+)\s*([mg])bit", value.lower())):
            rate = float(m[1]) * (1000 if m[2] == "g" else 1)
        elif key == "rtt" and (m := re.fullmatch(r"([\d.]+)\s*ms", value.lower())):
            rtt = float(m[1])
        else:
            raise argparse.ArgumentTypeError(
                f"bad link {text!r}: use {', '.join(PROFILES)} or rate=100mbit,rtt=4ms"
            )
    return Link(text, rate, rtt)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    old: int  # files both clients already have
    new: int  # files to download
    new_size: int
    clip: bool = False  # the new file is a movie under PRIVATE/M4ROOT/CLIP
    unshaped: bool = False  # always on the unshaped link, whatever the profile
    old_size: int = 2048
    max_runs: int | None = None  # default runs capped (the link alone needs minutes per run)

    @property
    def new_bytes(self) -> int:
        return self.new * self.new_size


FULL = [
    Scenario("1", "nothing new, 2,000 objects", 2000, 0, 0),
    Scenario("2", "nothing new, 10,000 objects", 10000, 0, 0),
    Scenario("3", "incremental: 20 new × 6 MB behind 2,000 old", 2000, 20, 6_000_000),
    Scenario("4", "first import: 60 × 10 MB", 0, 60, 10_000_000, max_runs=2),
    Scenario("5", "first import: 500 × 40 kB", 0, 500, 40_000),
    Scenario(
        "6",
        "one 3.5 GiB clip, unshaped link",
        0,
        1,
        3584 * MiB,
        clip=True,
        unshaped=True,
        max_runs=2,
    ),
]
QUICK = [
    Scenario("1", "nothing new, 200 objects", 200, 0, 0),
    Scenario("2", "nothing new, 1,000 objects", 1000, 0, 0),
    Scenario("3", "incremental: 5 new × 6 MB behind 200 old", 200, 5, 6_000_000),
    Scenario("4", "first import: 6 × 10 MB", 0, 6, 10_000_000),
    Scenario("5", "first import: 100 × 40 kB", 0, 100, 40_000),
    Scenario("6", "one 256 MiB clip, unshaped link", 0, 1, 256 * MiB, clip=True, unshaped=True),
]
TINY = [
    Scenario("1", "nothing new, 10 objects", 10, 0, 0),
    Scenario("2", "nothing new, 30 objects", 30, 0, 0),
    Scenario("3", "incremental: 2 new × 64 kB behind 10 old", 10, 2, 65536),
    Scenario("4", "first import: 2 × 256 kB", 0, 2, 262144),
    Scenario("5", "first import: 5 × 4 kB", 0, 5, 4096),
    Scenario("6", "one 1 MiB clip, unshaped link", 0, 1, MiB, clip=True, unshaped=True),
]


@dataclass
class Sample:
    client: str
    seconds: float
    exit_status: int
    peak_rss: int  # bytes
    wire_bytes: int  # both directions on the client's hop, TCP/IP headers included
    verified: bool  # every expected file present with the expected size afterwards
    error: str = ""
    # ``seconds`` plus what it then took to make the client's files durable (fsync of each
    # file and folder): ~0 for sony-pm-alt, which fsyncs before it reports a file saved.
    durable_seconds: float = 0.0


@dataclass
class Net:
    """The namespace's plumbing: ports, qdisc handles, the relay."""

    link: Link
    relay_port: int
    emulator_port: int
    commands: list[str] = field(default_factory=list)

    def target(self, scenario: Scenario) -> tuple[int, str]:
        """Port the clients connect to, and the qdisc that counts their bytes."""
        if self.link.shaped and not scenario.unshaped:
            return self.relay_port, "10:"
        return self.emulator_port, "20:"


# --- the namespace -----------------------------------------------------------------------


def _sh(argv: Sequence[str], log: list[str] | None = None) -> str:
    if log is not None:
        log.append(" ".join(argv))
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def set_up_link(link: Link) -> Net:
    """``lo`` up; the client hop through tbf (when shaped) and byte counters on both hops."""
    log: list[str] = []
    _sh(["ip", "link", "set", "lo", "up"], log)
    net = Net(link, free_port(), free_port(), log)
    if link.shaped:
        _sh(["ip", "link", "set", "lo", "mtu", "1500"], log)
    # This kernel has htb, tbf and u32 (no prio, no netem): htb only sorts (its classes are far
    # faster than loopback); tbf under 1:1 shapes the clients' hop.
    _sh(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "3"], log)
    for n in (1, 2, 3):
        unlimited = ["htb", "rate", "40gbit", "quantum", "200000"]
        _sh(
            ["tc", "class", "add", "dev", "lo", "parent", "1:", "classid", f"1:{n}", *unlimited],
            log,
        )
    tc = ["tc", "qdisc", "add", "dev", "lo"]
    if link.rate_mbit is not None:
        rate_bytes = link.rate_mbit * 1e6 / 8
        burst = max(int(rate_bytes / 100), 16 * 1024)  # 10 ms of tokens, at least a few MTUs
        shaper = ["tbf", "rate", f"{link.rate_mbit:g}mbit", "burst", str(burst)]
        _sh([*tc, "parent", "1:1", "handle", "10:", *shaper, "latency", "50ms"], log)
    else:
        _sh([*tc, "parent", "1:1", "handle", "10:", "pfifo", "limit", "10000"], log)
    _sh([*tc, "parent", "1:2", "handle", "20:", "pfifo", "limit", "10000"], log)
    _sh([*tc, "parent", "1:3", "handle", "30:", "pfifo", "limit", "10000"], log)
    for port, flow in ((net.relay_port, "1:1"), (net.emulator_port, "1:2")):
        for direction in ("sport", "dport"):
            match = ["match", "ip", direction, str(port), "0xffff"]
            _sh(
                [*FILTER, "prio", "1", "u32", *match, "flowid", flow],
                log,
            )
    return net


FILTER = ["tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip"]


def qdisc_bytes(handle: str) -> int:
    for q in json.loads(_sh(["tc", "-s", "-j", "qdisc", "show", "dev", "lo"])):
        if q.get("handle") == handle:
            return int(q.get("bytes", 0))
    raise RuntimeError(f"qdisc {handle} is missing on lo")


@contextmanager
def relay(net: Net, lifetime: float) -> Iterator[None]:
    if not net.link.shaped:
        yield
        return
    argv = [sys.executable, str(Path(__file__).with_name("relay.py"))]
    argv += ["--listen", str(net.relay_port), "--to", str(net.emulator_port)]
    argv += ["--rtt", str(net.link.rtt_ms / 1000), "--lifetime", str(lifetime)]
    net.commands.append(" ".join(["python", "bench/relay.py", *argv[2:-2]]))
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the delaying relay did not start")
        yield
    finally:
        proc.kill()
        proc.wait()


# --- calibration ---------------------------------------------------------------------------


def compiled_like_an_install(bytecode: Path) -> None:
    """Every Python child starts from compiled bytecode, as after ``pip install``: a
    PYTHONDONTWRITEBYTECODE environment (this project's CI has one) would otherwise add the
    compilation of every sony-pm-alt module (~0.2 s) to each run. The cache stays out of the
    source tree."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(bytecode)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "sony_pm_alt")], check=True
    )


def python_startup() -> float:
    """Median wall time of a bare ``python -c pass`` (the floor of any Python CLI)."""
    times = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_startup() -> dict[str, float]:
    """What the CLI costs before it does anything: import and ``--help`` (medians of 5)."""
    imports, helps = [], []
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import sony_pm_alt.cli"],
            check=True,
            capture_output=True,
            text=True,
        ).stderr
        imports.append(int(out.strip().splitlines()[-1].split("|")[1]) / 1e6)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sony_pm_alt", "--help"], check=True, capture_output=True
        )
        helps.append(time.perf_counter() - start)
    return {"import_cli_s": statistics.median(imports), "help_s": statistics.median(helps)}


def disk_write_rate(scratch: Path, total: int) -> float:
    """Bytes per second written and fsynced into ``scratch``, in 8 MiB writes."""
    block = os.urandom(8 * MiB)
    path = scratch / "sony-pm-alt-bench-disk-probe"
    os.sync()
    start = time.perf_counter()
    try:
        with path.open("wb") as f:
            for _ in range(max(1, total // len(block))):
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
        return max(1, total // len(block)) * len(block) / (time.perf_counter() - start)
    finally:
        path.unlink(missing_ok=True)


def raw_tcp_rate(port: int, total: int) -> float:
    """Payload bits per second of one plain TCP stream over ``port``'s hop (no relay)."""
    chunk = bytes(MiB)
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(1)

        def send() -> None:
            with socket.create_connection(("127.0.0.1", port)) as c:
                for _ in range(total // len(chunk)):
                    c.sendall(chunk)

        sender = threading.Thread(target=send)
        start = time.perf_counter()
        sender.start()
        conn, _ = server.accept()
        got, buf = 0, bytearray(MiB)
        with conn:
            while n := conn.recv_into(buf):
                got += n
        seconds = time.perf_counter() - start
        sender.join()
    return got * 8 / seconds


# --- cards and destinations ----------------------------------------------------------------


def write_files(card: Path, first: int, count: int, size: int, seed: int) -> list[Path]:
    paths = []
    block = os.urandom(min(size, MiB)) if size else b""
    for n in range(first, first + count):
        folder = card / "DCIM" / f"{100 + n // PER_FOLDER}MSDCF"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"DSC{n:05d}.JPG"
        with path.open("wb") as f:
            f.write(n.to_bytes(4, "big") + seed.to_bytes(4, "big"))  # every file distinct
            left = size - 8
            while left > 0:
                f.write(block[: min(left, len(block))])
                left -= len(block)
        paths.append(path)
    return paths


def write_clip(card: Path, size: int) -> Path:
    folder = card / "PRIVATE" / "M4ROOT" / "CLIP"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "C0001.MP4"
    with path.open("wb") as f:  # sparse: the clients' writes are measured, not our set-up
        f.write(b"\0\0\0\x18ftypXAVC")
        f.truncate(size)
    return path


def files_under(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in root.rglob("*") if p.is_file()}


def reset_to(root: Path, keep: set[Path]) -> None:
    """Remove everything under ``root`` that the baseline did not hold."""
    for p in sorted(root.rglob("*"), reverse=True):
        if p.is_dir():
            if not any(p.iterdir()) and p != root:
                p.rmdir()
        elif p not in keep:
            p.unlink()


def client_env(home: Path) -> dict[str, str]:
    (home / ".gphoto").mkdir(parents=True, exist_ok=True)
    (home / ".gphoto" / "settings").write_text(f"ptp2_ip=guid={GUID}\n")
    return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


# --- one client run ------------------------------------------------------------------------


@contextmanager
def emulator(card: Path, port: int) -> Iterator[None]:
    from sony_pm_alt.emulator.process import spawn_emulator

    with spawn_emulator(["--card", str(card), "--guid", GUID, "--port", str(port)]):
        yield


def client_argv(client: str, port: int, dest: Path, state: Path) -> list[str]:
    if client == OURS:
        return [
            *(sys.executable, "-m", "sony_pm_alt", "sync", "--host", "127.0.0.1"),
            *("--port", str(port), "--guid", GUID, "--dest", str(dest), "--state", str(state)),
            "--json",
        ]
    gport = f"ptpip:127.0.0.1:{port}:{port}"
    return ["gphoto2", "--port", gport, "--camera", "PTP/IP Camera", "-P", "--skip-existing"]


def measured_run(
    argv: list[str], cwd: Path, env: dict[str, str], log: Path
) -> tuple[float, int, int, str]:
    """Wall time, exit status, peak RSS (bytes) and the last line of standard error.

    The peak RSS comes from GNU time, which forks the client from its own small process: a
    child forked from this (large) harness would start its high-water mark at our size, as
    Linux keeps it across fork and exec."""
    rss_file = log.with_suffix(".rss")
    argv = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *argv]
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

        def kill() -> None:  # the whole group: GNU time and the client under it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(RUN_TIMEOUT, kill)
        timer.start()
        try:
            _, status = os.waitpid(proc.pid, 0)
        except BaseException:  # stopped from outside: no client left behind
            kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    lines = log.read_text(errors="replace").strip().splitlines()
    rss_lines = rss_file.read_text().split() if rss_file.exists() else []
    peak_rss = int(rss_lines[-1]) * 1024 if rss_lines and rss_lines[-1].isdigit() else 0
    return seconds, proc.returncode, peak_rss, lines[-1] if lines else ""


@dataclass
class Prepared:
    card: Path
    expected: dict[str, int]  # file name -> size each client must hold afterwards
    dests: dict[str, Path]
    keep: dict[str, set[Path]]
    state: Path
    state_snapshot: Path


def prepare(s: Scenario, scratch: Path, net: Net) -> Prepared:
    """Card, and both clients' destinations holding the ``old`` files (untimed)."""
    base = scratch / f"s{s.key}"
    card = base / "card"
    old = write_files(card, 0, s.old, s.old_size, seed=1)
    dests = {OURS: base / "ours", GPHOTO2: base / "gphoto2"}
    for d in dests.values():
        d.mkdir(parents=True)
    state = base / "state.sqlite3"
    env = client_env(base / "home")
    if old:
        for p in old:  # gphoto2 -P saves flat, by name: what its own first run leaves
            os.link(p, dests[GPHOTO2] / p.name)
        with emulator(card, net.emulator_port):  # directly, past the shaper: set-up only
            argv = client_argv(OURS, net.emulator_port, dests[OURS], state)
            argv[1:3] = ["-c", UNTIMED_IMPORT]
            _, status, _, last = measured_run(argv, dests[OURS], env, base / "setup.log")
        if status != 0 or len(files_under(dests[OURS])) != s.old:
            raise RuntimeError(f"scenario {s.key}: the untimed first import failed: {last}")
    snapshot = base / "state.snapshot"
    if state.exists():
        shutil.copyfile(state, snapshot)
    new = [write_clip(card, s.new_size)] if s.clip else []
    if not s.clip:
        new = write_files(card, s.old, s.new, s.new_size, seed=2)
    expected = {p.name: p.stat().st_size for p in [*old, *new]}
    keep = {c: set(files_under(d)) for c, d in dests.items()}
    return Prepared(card, expected, dests, keep, state, snapshot)


def restore(p: Prepared) -> None:
    for client, dest in p.dests.items():
        reset_to(dest, p.keep[client])
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{p.state}{suffix}").unlink(missing_ok=True)
    if p.state_snapshot.exists():
        shutil.copyfile(p.state_snapshot, p.state)


def make_durable(root: Path, old: set[Path]) -> float:
    """Seconds to fsync every file under ``root`` that is not one of the ``old`` ones (made
    durable before the run), and the folders holding them: what a client that does not fsync
    leaves for the kernel, i.e. the time until its copies would survive a power cut."""
    start = time.perf_counter()
    folders: set[Path] = set()
    for path in files_under(root):
        if path in old:
            continue
        folders.update(p for p in path.parents if p.is_relative_to(root))
        _fsync(path)
    for folder in folders:
        _fsync(folder)
    return time.perf_counter() - start


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def one_run(s: Scenario, p: Prepared, net: Net, client: str, log: Path) -> Sample:
    restore(p)
    # Untimed: no run starts while the disk still writes the card or an earlier run's files.
    os.sync()
    port, counter = net.target(s)
    dest = p.dests[client]
    argv = client_argv(client, port, dest, p.state)
    env = client_env(log.parent / "home")
    with emulator(p.card, net.emulator_port):
        before = qdisc_bytes(counter)
        seconds, status, rss, last = measured_run(argv, dest, env, log)
        wire = qdisc_bytes(counter) - before
    durable = seconds + make_durable(dest, p.keep[client])
    held = {path.name: size for path, size in files_under(dest).items()}
    verified = status == 0 and held == p.expected
    error = "" if verified else f"exit {status}: {last[-300:]}"
    if status == 0 and not verified:
        error = f"files differ from the card ({len(held)} held, {len(p.expected)} expected)"
    return Sample(client, seconds, status, rss, wire, verified, error, durable)


def run_scenario(s: Scenario, scratch: Path, net: Net, runs: int) -> dict[str, Any]:
    print(f"scenario {s.key}: {s.title} ...", file=sys.stderr, flush=True)
    p = prepare(s, scratch, net)
    samples: list[Sample] = []
    for i in range(runs):
        order = (OURS, GPHOTO2) if i % 2 == 0 else (GPHOTO2, OURS)
        for client in order:
            sample = one_run(s, p, net, client, scratch / f"s{s.key}" / f"{client}-{i}.log")
            samples.append(sample)
            print(
                f"  {client:12} run {i + 1}: {sample.seconds:8.2f} s"
                + ("" if sample.verified else f"  FAILED {sample.error}"),
                file=sys.stderr,
                flush=True,
            )
    restore(p)
    shutil.rmtree(scratch / f"s{s.key}", ignore_errors=True)
    return {"scenario": asdict(s), "samples": [asdict(x) for x in samples]}


# --- the whole run -------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    with Path("/proc/cpuinfo").open() as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    gphoto2 = subprocess.run(["gphoto2", "--version"], capture_output=True, text=True).stdout
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "gphoto2": " ".join(gphoto2.split("\n")[0].split()[:2]),
        "libgphoto2": next(
            (line.split()[1] for line in gphoto2.splitlines() if line.startswith("libgphoto2 ")),
            "",
        ),
        "load_before": os.getloadavg(),
    }


def inside(args: argparse.Namespace) -> None:
    link: Link = args.link
    scenarios = TINY if args.tiny else QUICK if args.quick else FULL
    if args.only:
        scenarios = [s for s in scenarios if s.key in args.only.split(",")]
    runs = args.runs or (1 if args.quick or args.tiny else 3)
    net = set_up_link(link)
    scratch_parent = args.scratch or Path(tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-bench-pyc-", dir=scratch_parent) as pyc:
        compiled_like_an_install(Path(pyc))
        result = measure(args, net, scenarios, runs, scratch_parent)
    report.summarise(result, SESSION_ROUND_TRIPS)
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(result["started"]).strftime("%Y%m%dT%H%M%SZ")
    label = link.name.replace("=", "").replace(",", "-")
    out = args.results / f"{stamp}-{result['mode']}-{label}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"results: {out}", file=sys.stderr)
    docs = args.docs if args.docs is not None else (None if args.quick or args.tiny else "")
    if docs is not None:
        path = Path(docs) if docs else ROOT / "docs" / "benchmarks.md"
        shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
        path.write_text(report.markdown(result, shown))
        print(f"report: {path}", file=sys.stderr)
    print(report.table(result))


def measure(
    args: argparse.Namespace, net: Net, scenarios: list[Scenario], runs: int, scratch: Path
) -> dict[str, Any]:
    link = net.link
    started = datetime.now(UTC)
    result: dict[str, Any] = {
        "version": 1,
        "session_round_trips": SESSION_ROUND_TRIPS,
        "started": started.isoformat(timespec="seconds"),
        "mode": "tiny" if args.tiny else "quick" if args.quick else "full",
        "runs": runs,
        "machine": machine(),
        "link": {**asdict(link), "commands": net.commands},
    }
    probe = (MiB * 8 if args.tiny else MiB * 64) if link.rate_mbit else MiB * 256
    result["calibration"] = {
        "python_startup_s": python_startup(),
        "raw_tcp_bits_per_s": raw_tcp_rate(net.relay_port, probe),
        "raw_tcp_unshaped_bits_per_s": raw_tcp_rate(net.emulator_port, probe * 4),
        "disk_bytes_per_s": disk_write_rate(scratch, MiB * 32 if args.tiny else MiB * 1024),
        **cli_startup(),
    }
    with (
        tempfile.TemporaryDirectory(prefix="sony-pm-alt-bench-", dir=scratch) as tmp,
        relay(net, lifetime=RELAY_LIFETIME),
    ):
        result["scenarios"] = [
            run_scenario(s, Path(tmp), net, runs if args.runs else min(runs, s.max_runs or runs))
            for s in scenarios
        ]
    result["machine"]["load_after"] = os.getloadavg()
    result["seconds"] = (datetime.now(UTC) - started).total_seconds()
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--link",
        type=parse_link,
        default=PROFILES["wifi"],
        help="loopback, wifi (default: 100 Mbit/s, 4 ms) or rate=…mbit,rtt=…ms",
    )
    parser.add_argument("--quick", action="store_true", help="small inputs, one run (< 2 min)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # for the tests
    parser.add_argument("--runs", type=int, help="runs per client (default 3; 1 with --quick)")
    parser.add_argument("--only", help="scenario numbers, e.g. 1,3")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--docs",
        help="markdown report to write (default: docs/benchmarks.md "
        "after a full run; none after --quick)",
    )
    parser.add_argument("--scratch", type=Path, help="where cards and copies go (default: TMPDIR)")
    args = parser.parse_args(argv)
    if os.environ.get(INSIDE) == "1":
        # Stopped from outside: unwind, so the emulator, relay and client are stopped too.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))
        inside(args)
        return
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("tc") is None or shutil.which("ip") is None:
        sys.exit("bench: needs unshare (util-linux), ip and tc (iproute2): make system-deps")
    env = {**os.environ, INSIDE: "1"}
    argv = [unshare, "-rn", sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]]
    with subprocess.Popen(argv, env=env) as inner:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda signum, _frame: inner.send_signal(signum))
        sys.exit(inner.wait())


if __name__ == "__main__":
    main()
