"""`make reliability`: the fault matrix. Each case runs one `sony-pm-alt sync` with a fault
injected (into the emulated camera, or into the local machine), then a clean session against a
camera without the fault, and checks the invariants after both:

- nothing partial, empty or corrupt at a final name (every visible file is byte-identical to a
  file of the card);
- the state store and the disk agree (every recorded transfer is on disk with its SHA-256, and
  every visible file is recorded);
- the exit status and the summary say what happened: exit 0 only when every planned file
  arrived, "powered off" only when the camera's own log shows it, never a traceback;
- the clean session completes, leaves no partial file, and powers the camera off (emulator log);
- files lost: card files not at a final name after the clean session — must be 0.

Everything talks to 127.0.0.1 (the emulator on an ephemeral port); local faults use a private
mount namespace (``unshare -rm``: a small tmpfs, a read-only bind mount) and vanish with it.
Cases run two at a time (the machine has two cores).

The cases are in tests/reliability_cases.py.

usage: python tests/reliability.py [--only NAME ...] [--jobs N] [--write docs/reliability.md]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from emulator_proc import PAIRED_GUID, write_card  # noqa: E402
from reliability_cases import (  # noqa: E402
    CASES,
    GET_PARTIAL_OBJECT,
    MIB,
    PARTIAL_SUFFIX,
    RECORDED_FAULTS,
    SESSION_TIMEOUT,
    TMPFS_SIZE,
    Case,
)
from sony_pm_alt.emulator.process import EmulatorProcess, spawn_emulator  # noqa: E402

# --- the card ---------------------------------------------------------------------------------


def make_card(root: Path, files: Sequence[tuple[str, int]], seed: int = 9) -> Path:
    """Deterministic random contents, capture times an hour apart from 2024-05-01."""
    return write_card(root, files, seed=seed)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def visible_files(dest: Path) -> list[Path]:
    if not dest.exists():
        return []
    # Sanitised camera names may start with a dot; only the tool's partial files are not final.
    return sorted(p for p in dest.rglob("*") if p.is_file() and not p.name.endswith(PARTIAL_SUFFIX))


def partial_files(dest: Path) -> list[Path]:
    if not dest.exists():
        return []
    return sorted(p for p in dest.rglob("*") if p.is_file() and p.name.endswith(PARTIAL_SUFFIX))


def _query(state: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the state store, read-only; [] when there is no usable store."""
    if not state.exists():
        return []
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=15)
        ) as db:
            return list(db.execute(sql))
    except sqlite3.DatabaseError:
        return []


def transfers(state: Path) -> list[tuple[str, str]]:
    """(path, sha256) of every transfer the store holds."""
    return [(str(p), str(s)) for p, s in _query(state, "SELECT path, sha256 FROM transfers")]


def session_results(state: Path) -> list[str]:
    return [str(r) for (r,) in _query(state, "SELECT result FROM sessions ORDER BY id")]


# --- one session ------------------------------------------------------------------------------


@dataclass
class Session:
    exit: int | None
    lines: list[dict[str, Any]]
    stderr: str
    records: list[dict[str, Any]]
    """The emulator's log."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any] | None:
        found = [line for line in self.lines if line.get("event") == "summary"]
        return found[-1] if found else None

    @property
    def camera_powered_off(self) -> bool:
        return any(r["event"] == "screen" and r.get("state") == "powered_off" for r in self.records)

    def requested_objects(self) -> list[int]:
        """Handles whose data was asked for, in first-request order."""
        seen: dict[int, None] = {}
        for r in self.records:
            if r["event"] == "operation" and r["opcode"] == GET_PARTIAL_OBJECT and r["params"]:
                seen.setdefault(int(r["params"][0]), None)
        return list(seen)

    def describe(self) -> str:
        if self.exit is None:
            return "killed (SIGKILL)"
        summary = self.summary
        if summary is None:
            last = [ln for ln in self.stderr.strip().splitlines() if ln.strip()]
            return f"exit {self.exit}: {last[-1][:160] if last else '(no message)'}"
        failed = len(summary.get("failed") or [])
        off = "camera off" if summary.get("powered_off") else "camera left on"
        text = (
            f"exit {self.exit}: {summary.get('transferred')}/{summary.get('planned')} "
            f"transferred, {failed} failed, {off}"
        )
        extra = [ln for ln in self.stderr.strip().splitlines() if ln.startswith("sony-pm-alt")]
        return text + (f"; {extra[-1][:120]}" if extra else "")


class FaultUnknownError(Exception):
    """This build's emulator does not know the fault kind."""


@contextlib.contextmanager
def emulator(work: Path, label: str, card: Path, args: Sequence[str]) -> Iterator[EmulatorProcess]:
    log = work / f"{label}.jsonl"
    try:
        with spawn_emulator(
            ["--guid", PAIRED_GUID, "--card", str(card), "--inactivity-timeout", "10", *args],
            log_path=log,
        ) as emu:
            yield emu
    except RuntimeError as exc:
        if "unknown fault" in str(exc):
            raise FaultUnknownError(str(exc).splitlines()[-1]) from None
        raise


def sync_argv(emu: EmulatorProcess, dest: Path, state: Path, extra: Sequence[str]) -> list[str]:
    return [
        sys.executable, "-m", "sony_pm_alt", "sync",
        "--host", "127.0.0.1", "--port", str(emu.port), "--guid", PAIRED_GUID,
        "--dest", str(dest), "--state", str(state), "--json", *extra,
    ]  # fmt: skip


def run_sync(
    argv: Sequence[str],
    *,
    on_line: Callable[[dict[str, Any], subprocess.Popen[str]], None] | None = None,
) -> tuple[int | None, list[dict[str, Any]], str]:
    """Run a sync to its end (bounded by SESSION_TIMEOUT); ``on_line`` sees each JSON line."""
    with (
        tempfile.TemporaryFile("w+") as err,
        subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True
        ) as proc,
    ):
        timer = threading.Timer(SESSION_TIMEOUT, _kill_group, (proc.pid,))
        timer.start()
        lines: list[dict[str, Any]] = []
        try:
            assert proc.stdout is not None
            for text in proc.stdout:
                if text.startswith("{"):
                    line = json.loads(text)
                    lines.append(line)
                    if on_line is not None:
                        on_line(line, proc)
            code = proc.wait()
        finally:
            timer.cancel()
        err.seek(0)
        stderr = err.read()
    if code == -signal.SIGKILL:
        return None, lines, stderr
    return code, lines, stderr


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def in_mount_namespace(setup: str, argv: Sequence[str], after: str = "") -> list[str]:
    """``argv`` inside a private mount namespace prepared by the shell line ``setup``."""
    script = f'{setup} || exit 125; "$@"; rc=$?; {after or ":"}; exit $rc'
    return ["unshare", "-rm", "sh", "-c", script, "reliability-ns", *argv]


# --- checks -----------------------------------------------------------------------------------


@dataclass
class Result:
    case: Case
    status: str = "PASS"  # PASS, FAIL
    faulted: str = ""
    clean: str = ""
    lost: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.status = "FAIL"
        self.problems.append(problem)


def check_disk(
    result: Result,
    when: str,
    card_hashes: dict[str, str],
    dests: Sequence[Path],
    state: Path,
    *,
    all_recorded: bool = True,
) -> None:
    """Nothing partial, empty or corrupt at a final name; the store and the disk agree."""
    known = set(card_hashes.values())
    on_disk: dict[str, str] = {}
    for dest in dests:
        for path in visible_files(dest):
            digest = sha256(path)
            on_disk[str(path)] = digest
            if digest not in known:
                size = path.stat().st_size
                result.fail(
                    f"{when}: {path.name} ({size} bytes) at a final name is not a card file"
                )
    recorded = transfers(state)
    moved = {str(dests[0]): [str(d) for d in dests[1:]]} if len(dests) > 1 else {}
    for where, digest in recorded:
        candidates = [where] + [
            where.replace(src, alt, 1) for src, alts in moved.items() for alt in alts
        ]
        if not any(on_disk.get(c) == digest for c in candidates):
            result.fail(f"{when}: the store records {Path(where).name} but the disk disagrees")
    if all_recorded:
        recorded_hashes = {d for _, d in recorded}
        for where, digest in on_disk.items():
            if digest not in recorded_hashes:
                result.fail(f"{when}: {Path(where).name} is on disk but not in the store")


def check_honest(result: Result, when: str, session: Session, *, must_fail: bool) -> None:
    """The exit status and the summary say what happened."""
    if "Traceback" in session.stderr:
        result.fail(f"{when}: a traceback on standard error")
    if session.exit is None:
        return
    # sync's exit statuses (README): 0 all safe, 1 files not fetched or listing incomplete,
    # 2 usage/config/state file, 3 no session, 4 all safe but the power-off not confirmed.
    if session.exit not in (0, 1, 2, 3, 4):
        result.fail(f"{when}: exit status {session.exit}")
    summary = session.summary
    if session.exit == 0:
        if must_fail:
            result.fail(f"{when}: exit 0 although the session could not complete")
        if summary is None or summary.get("failed"):
            result.fail(f"{when}: exit 0 without a clean summary")
    else:
        told = bool(
            summary
            and (summary.get("failed") or summary.get("unlisted") or summary.get("camera_left_on"))
        ) or any(line.startswith("sony-pm-alt") for line in session.stderr.splitlines())
        if session.exit == 4 and (summary is None or summary.get("powered_off")):
            result.fail(f"{when}: exit 4 but the summary does not say the camera was left on")
        if not told:
            result.fail(f"{when}: exit {session.exit} without a failed file or an error line")
        if session.camera_powered_off:
            result.fail(f"{when}: the camera was powered off although the session failed")
    if summary is not None and bool(summary.get("powered_off")) != session.camera_powered_off:
        result.fail(
            f"{when}: summary says powered_off={summary.get('powered_off')}, the camera's log "
            f"says {session.camera_powered_off}"
        )


# --- running a case ---------------------------------------------------------------------------


def faulted_session(case: Case, work: Path, card: Path, dest: Path, state: Path) -> Session:
    """The session with the fault; leaves ``dest`` and ``state`` as the fault left them."""
    local = case.local
    if local == "state-locked" or local == "state-corrupt":
        dest.mkdir(parents=True, exist_ok=True)
    if local == "state-corrupt":
        state.write_bytes(b"this is not an sqlite database\n" * 400)
    if local == "two-watch":
        return watch_session(work, card, dest, state, watches=2, emulator_args=case.emulator)
    if local == "watch":
        return watch_session(work, card, dest, state, watches=1, emulator_args=case.emulator)
    with emulator(work, "faulted", card, case.emulator) as emu:
        argv = sync_argv(emu, dest, state, [a.replace("{work}", str(work)) for a in case.sync])
        on_line: Callable[[dict[str, Any], subprocess.Popen[str]], None] | None = None
        with contextlib.ExitStack() as stack:
            if local == "disk-full":
                full = work / "dest-tmpfs-copy"
                full.mkdir()
                dest.mkdir(parents=True)
                argv = in_mount_namespace(
                    f'mount -t tmpfs -o size={TMPFS_SIZE} sony-pm-alt-full "{dest}"',
                    argv,
                    after=f'cp -a "{dest}/." "{full}/"',
                )
            elif local == "read-only":
                dest.mkdir(parents=True)
                argv = in_mount_namespace(
                    f'mount --bind "{dest}" "{dest}" && mount -o remount,bind,ro "{dest}"', argv
                )
            elif local == "state-locked":
                stack.enter_context(hold_write_lock(state))
            elif local == "dest-removed":
                on_line = _move_dest_after_first_file(dest)
            elif local == "state-locked-mid-run":
                on_line = _lock_after_first_file(state, stack)
            elif local == "sigkill":
                on_line = _kill_after_first_file
            code, lines, stderr = run_sync(argv, on_line=on_line)
        records = _stop(emu)
    _keep_output(work / "faulted", lines, stderr)
    if local == "disk-full":
        dest.rmdir()
        (work / "dest-tmpfs-copy").rename(dest)
    return Session(code, lines, stderr, records)


def _keep_output(stem: Path, lines: list[dict[str, Any]], stderr: str) -> None:
    stem.with_suffix(".stdout").write_text("".join(json.dumps(x) + "\n" for x in lines))
    stem.with_suffix(".stderr").write_text(stderr)


def _stop(emu: EmulatorProcess) -> list[dict[str, Any]]:
    if emu.proc.poll() is None:
        emu.proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        emu.proc.wait(timeout=30)
    return emu.records()


@contextlib.contextmanager
def hold_write_lock(state: Path) -> Iterator[None]:
    """Another process's view: a connection in a BEGIN EXCLUSIVE transaction."""
    if not state.exists():
        from sony_pm_alt.engine.state import StateStore

        with StateStore(state):
            pass
    db = sqlite3.connect(state, timeout=15, isolation_level=None)
    try:
        db.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def _move_dest_after_first_file(dest: Path) -> Callable[[dict[str, Any], Any], None]:
    def on_line(line: dict[str, Any], proc: Any) -> None:
        moved = dest.with_name(dest.name + ".moved")
        if line.get("event") == "saved" and not moved.exists():
            dest.rename(moved)

    return on_line


def _lock_after_first_file(
    state: Path, stack: contextlib.ExitStack
) -> Callable[[dict[str, Any], Any], None]:
    taken: list[bool] = []

    def on_line(line: dict[str, Any], proc: Any) -> None:
        if line.get("event") == "saved" and not taken:
            taken.append(True)
            stack.enter_context(hold_write_lock(state))

    return on_line


def _kill_after_first_file(line: dict[str, Any], proc: subprocess.Popen[str]) -> None:
    if line.get("event") == "saved" and proc.poll() is None:
        _kill_group(proc.pid)


NETNS_SETUP = (
    "ip link set lo up && ip link set lo multicast on && "
    "ip route add 239.0.0.0/8 dev lo src 127.0.0.1"
)
TWO_WATCH_TIMEOUT = 120.0


def watch_session(
    work: Path,
    card: Path,
    dest: Path,
    state: Path,
    *,
    watches: int,
    emulator_args: Sequence[str],
) -> Session:
    """Run :func:`watch_inside` in a private network namespace (SSDP needs port 1900)."""
    inner = f'{NETNS_SETUP} || exit 125; exec "$0" "$@"'
    spec = json.dumps({"watches": watches, "emulator": list(emulator_args)})
    argv = ["unshare", "-rn", "sh", "-c", inner, sys.executable, __file__, "--watch-inside",
            str(work), str(card), str(dest), str(state), spec]  # fmt: skip
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=TWO_WATCH_TIMEOUT + 60, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"two-watch scenario failed: {proc.stderr.strip()[-500:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if "unknown_fault" in out:
        raise FaultUnknownError(out["unknown_fault"])
    records = [json.loads(x) for x in (work / "faulted.jsonl").read_text().splitlines() if x]
    code = max(out["exits"], key=abs)  # 0 only when both watches exited 0
    return Session(code, [], "\n".join(out["stderr"]), records, extra=out)


def check_two_watch(result: Result, session: Session) -> None:
    """Each watch is honest on its own: one imports everything and powers the camera off; the
    other finds the camera taken and says so, or finds nothing new. No traceback."""
    out = session.extra
    if "Traceback" in session.stderr:
        result.fail("two watches: a traceback")
    finished = [e for events in out["events"] for e in events if e.get("event") == "summary"]
    failed = [e for events in out["events"] for e in events if e.get("event") == "session_failed"]
    if not any(e.get("ok") and e.get("powered_off") for e in finished):
        result.fail("two watches: neither imported everything and powered the camera off")
    for e in finished:
        if bool(e.get("powered_off")) != session.camera_powered_off:
            result.fail("two watches: a summary's powered_off disagrees with the camera's log")
    for exit_code, events in zip(out["exits"], out["events"], strict=True):
        ok = any(e.get("event") == "summary" and e.get("ok") for e in events)
        if exit_code not in (0, 1) or (exit_code == 0) != ok:
            result.fail(f"two watches: exit {exit_code} for {[e.get('event') for e in events]}")
    sessions = sum(r["event"] == "session_start" for r in session.records)
    result.faulted = (
        f"exits {out['exits']}: {len(finished)} session(s) finished, {len(failed)} failed "
        f"({'; '.join(e.get('error', '')[:80] for e in failed)}); {sessions} camera session(s)"
    )


def check_watch_survives(result: Result, session: Session) -> None:
    """A hostile camera under `watch`: the process keeps running and ends by itself (no
    signal, no traceback), reports the failure, and does not call the camera powered off."""
    out = session.extra
    (exit_code,) = out["exits"]
    (events,) = out["events"]
    if exit_code not in (0, 1):
        result.fail(f"watch: exit status {exit_code} (a crash or a kill, not a clean end)")
    if "Traceback" in session.stderr:
        result.fail("watch: a traceback")
    finished = [e for e in events if e.get("event") == "summary"]
    failed = [e for e in events if e.get("event") in ("session_failed", "failed")]
    if not finished and not failed:
        result.fail("watch: no session was reported")
    for e in finished:
        if bool(e.get("powered_off")) != session.camera_powered_off:
            result.fail("watch: the summary's powered_off disagrees with the camera's log")
        if e.get("ok") and exit_code != 0:
            result.fail(f"watch: exit {exit_code} after a complete session")
    result.faulted = f"watch exit {exit_code}: " + "; ".join(
        str(e.get("message", ""))[:100]
        for e in events
        if e.get("event") in ("summary", "session_failed")
    )


def watch_inside(
    work: Path, card: Path, dest: Path, state: Path, spec: dict[str, Any]
) -> dict[str, Any]:
    """Inside the namespace: a camera announcing over SSDP, ``spec["watches"]`` processes of
    `watch --once` on one state and destination."""
    cli = [sys.executable, "-m", "sony_pm_alt"]
    camera = subprocess.Popen(
        [*cli, "emulate", "--ssdp", "--port", "15740", "--notify-interval", "0.3", "--guid",
         PAIRED_GUID, "--card", str(card), "--inactivity-timeout", "10",
         "--log", str(work / "faulted.jsonl"), *spec["emulator"]],
        stdout=subprocess.PIPE, stderr=(work / "emulator.stderr").open("w"), text=True,
    )  # fmt: skip
    assert camera.stdout is not None
    if not camera.stdout.readline().strip().isdigit():
        camera.wait(timeout=30)
        lines = (work / "emulator.stderr").read_text().strip().splitlines()
        return {"unknown_fault": lines[-1] if lines else "the emulator did not start"}
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "config")}
    watch_argv = [*cli, "watch", "--once", "--guid", PAIRED_GUID, "--dest", str(dest),
                  "--state", str(state), "--cooldown", "600"]  # fmt: skip
    watches = [
        subprocess.Popen(
            watch_argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        for _ in range(spec["watches"])
    ]
    deadline = time.monotonic() + TWO_WATCH_TIMEOUT
    exits: list[int] = []
    outputs: list[str] = []
    errors: list[str] = []
    for watch in watches:
        try:
            out, err = watch.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(watch.pid, signal.SIGTERM)  # the loser may wait for a camera forever
            out, err = watch.communicate(timeout=30)
        exits.append(watch.returncode)
        outputs.append(out)
        errors.append(err)
    camera.terminate()
    camera.wait(timeout=30)
    # Off a terminal every line of watch's standard output is a JSON record (log records
    # too: a traceback logged by a worker is in a record's "exception").
    events = [[json.loads(x) for x in out.splitlines()] for out in outputs]
    told = [
        err[-2000:] + "".join(str(e.get("exception", "")) for e in records)
        for err, records in zip(errors, events, strict=True)
    ]
    return {"exits": exits, "events": events, "stderr": told}


def clean_session(work: Path, card: Path, dest: Path, state: Path) -> Session:
    with emulator(work, "clean", card, ()) as emu:
        code, lines, stderr = run_sync(sync_argv(emu, dest, state, ()))
        records = _stop(emu)
    _keep_output(work / "clean", lines, stderr)
    return Session(code, lines, stderr, records)


def run_case(case: Case, work: Path) -> Result:
    result = Result(case)
    card = make_card(work / "card", case.card)
    card_hashes = {
        str(p.relative_to(card)): sha256(p) for p in sorted(card.rglob("*")) if p.is_file()
    }
    dest, state = work / "dest", work / "state.sqlite3"
    moved = dest.with_name(dest.name + ".moved")
    try:
        faulted = faulted_session(case, work, card, dest, state)
    except FaultUnknownError as exc:
        result.faulted = f"fault unknown to the emulator ({exc})"
        result.fail("the emulator does not know this case's fault")
        return result
    result.faulted = faulted.describe()
    fired = {r.get("kind") for r in faulted.records if r["event"] == "fault"}
    for arg, spec in zip(case.emulator, case.emulator[1:], strict=False):
        expected = RECORDED_FAULTS.get(spec.partition("=")[0]) if arg == "--fault" else None
        if expected is not None and expected not in fired:
            result.fail(f"the fault {spec} never fired: the case tested nothing")
    dests = [dest, moved]
    killed = case.local == "sigkill"
    # A file placed just before a kill, or before the store became unwritable, is complete but
    # not recorded; the next session finds the identical copy and records it.
    unrecorded_ok = killed or case.local == "state-locked-mid-run"
    told = faulted.stderr + "".join(json.dumps(line) for line in faulted.lines)
    for text in case.forbid:
        if text in told:
            result.fail(f"faulted session: misleading message ({text!r})")
    if case.local == "two-watch":
        check_two_watch(result, faulted)
    elif case.local == "watch":
        check_watch_survives(result, faulted)
    else:
        check_honest(result, "faulted session", faulted, must_fail=case.expect_failure)
    check_disk(result, "after the fault", card_hashes, dests, state, all_recorded=not unrecorded_ok)
    if faulted.exit == 0:
        present = {sha256(p) for d in dests for p in visible_files(d)}
        missing = sum(1 for digest in card_hashes.values() if digest not in present)
        if missing:
            result.fail(f"faulted session: exit 0 but {missing} card file(s) did not arrive")
    if case.local == "disk-full":
        check_disk_full(result, faulted, dest)
    if case.local == "state-corrupt":
        # What the error line tells the user to do: move the unusable file aside.
        state.rename(state.with_name(state.name + ".corrupt"))

    clean = clean_session(work, card, dest, state)
    result.clean = clean.describe()
    check_honest(result, "clean session", clean, must_fail=False)
    if clean.exit != 0:
        result.fail(f"clean session: exit {clean.exit}")
    if not clean.camera_powered_off:
        result.fail("clean session: the camera was not powered off")
    leftovers = partial_files(dest) + partial_files(moved)
    if leftovers:
        result.fail(f"clean session: {len(leftovers)} partial file(s) left")
    check_disk(result, "after the clean session", card_hashes, dests, state)
    if "running" in session_results(state):
        result.fail("a session is still 'running' in the history")
    present = {sha256(p) for d in dests for p in visible_files(d)}
    result.lost = sum(1 for digest in card_hashes.values() if digest not in present)
    if result.lost:
        result.fail(f"{result.lost} card file(s) not at a final name")
    return result


def check_disk_full(result: Result, session: Session, dest: Path) -> None:
    """Issue 9 finding 5: at most one file read after the disk is full, no empty files."""
    saved = sum(1 for line in session.lines if line.get("event") == "saved")
    requested = len(session.requested_objects())
    if requested > saved + 2:
        result.fail(
            f"disk full: {requested} files requested from the camera, {saved} saved "
            "(at most one more after the one that filled the disk)"
        )
    empty = [p for p in dest.rglob("*") if p.is_file() and p.stat().st_size == 0]
    if empty:
        result.fail(f"disk full: {len(empty)} empty file(s) left")
    told = (session.stderr + "".join(json.dumps(line) for line in session.lines)).lower()
    if not any(word in told for word in ("room", "space", "free at least")):
        result.fail("disk full: no message about the room needed")


def run_case_in(case: Case, base: Path) -> Result:
    work = base / case.name
    work.mkdir(parents=True)
    try:
        result = run_case(case, work)
    except Exception as exc:  # a harness failure is a failed case, reported with the rest
        result = Result(case)
        result.fail(f"harness error: {type(exc).__name__}: {exc}")
    # The report names paths relative to the case's scratch directory.
    result.faulted = result.faulted.replace(f"{work}/", "")
    result.clean = result.clean.replace(f"{work}/", "")
    result.problems = [p.replace(f"{work}/", "") for p in result.problems]
    return result


def run_matrix(
    cases: Sequence[Case], base: Path, jobs: int, report: Callable[[Result], None]
) -> list[Result]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_case_in, case, base) for case in cases]
        results = []
        for future in futures:
            result = future.result()
            report(result)
            results.append(result)
    return results


# --- the report -------------------------------------------------------------------------------


def _notes(result: Result) -> str:
    return "; ".join(result.problems)


def markdown(results: Sequence[Result], seconds: float) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lost = sum(r.lost or 0 for r in results)
    counts = {s: sum(r.status == s for r in results) for s in ("PASS", "FAIL")}
    rows = [
        f"| {r.case.name} | {cell(r.case.injection)} | {r.status} | {cell(r.faulted)} | "
        f"{cell(r.clean)} | {'' if r.lost is None else r.lost} | "
        f"{cell(_notes(r))} |"
        for r in results
    ]
    return "\n".join(
        [
            "# Reliability: the fault matrix",
            "",
            "Written by `make reliability` (`tests/reliability.py`); do not edit by hand.",
            "Each case runs one `sony-pm-alt sync` against the emulator with the fault injected,",
            "then a clean session against a camera without it, and checks: nothing partial, empty",
            "or corrupt at a final name; the state store and the disk agree; exit status and",
            'summary say what happened (exit 0 only when everything arrived, "powered off"',
            "only when the camera's log shows it, never a traceback); the clean session",
            "completes, leaves no partial file and powers the camera off. *Lost* counts card",
            "files that are not at a final name after the clean session.",
            "",
            "One case: `python tests/reliability.py --only NAME --keep DIR` keeps the card, the",
            "destination, the state, both emulator logs and both sessions' output.",
            "",
            f"{len(results)} cases: {counts['PASS']} pass, {counts['FAIL']} fail; "
            f"**{lost} files lost**; {seconds:.0f} s.",
            "",
            "| case | injection | result | faulted session | clean session | lost | notes |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["--watch-inside"]:
        work, card, dest, state = (Path(a) for a in args_in[1:5])
        print(json.dumps(watch_inside(work, card, dest, state, json.loads(args_in[5]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="CASE", help="run these cases only")
    parser.add_argument("--fast", action="store_true", help="only the make-test subset")
    parser.add_argument("--jobs", type=int, default=2, help="cases at once (default 2)")
    parser.add_argument("--write", type=Path, help="write the Markdown report here")
    parser.add_argument("--keep", type=Path, help="keep each case's files under this directory")
    args = parser.parse_args(argv)
    for tool in ("unshare", "mount"):
        if shutil.which(tool) is None:
            print(f"reliability: {tool} (util-linux) is needed", file=sys.stderr)
            return 2
    by_name = {case.name: case for case in CASES}
    unknown = [name for name in args.only or () if name not in by_name]
    if unknown:
        print(f"reliability: unknown case(s) {', '.join(unknown)}; known: {', '.join(by_name)}",
              file=sys.stderr)  # fmt: skip
        return 2
    cases = [by_name[n] for n in args.only] if args.only else list(CASES)
    if args.fast:
        cases = [c for c in cases if c.fast]

    def report(result: Result) -> None:
        print(f"{result.status:7} {result.case.name}: {result.faulted} → {result.clean}"
              + "".join(f"\n        {p}" for p in result.problems), flush=True)  # fmt: skip

    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            base = Path(tempfile.mkdtemp(prefix="reliability-", dir=args.keep))
        else:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reliability-")))
        results = run_matrix(cases, base, max(1, args.jobs), report)
    seconds = time.monotonic() - start
    if args.write:
        args.write.write_text(markdown(results, seconds), encoding="utf-8")
    failed = [r for r in results if r.status == "FAIL"]
    lost = sum(r.lost or 0 for r in results)
    print(f"{len(results)} cases, {len(failed)} failed, {lost} files lost")
    return 1 if failed or lost else 0


if __name__ == "__main__":
    sys.exit(main())
