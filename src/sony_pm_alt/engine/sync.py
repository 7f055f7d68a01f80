"""One sync: connect, list, plan what is new, download it safely, record it, power off.

The camera is powered off (the profile's end steps) only when every planned file is safe and
the listing is complete; otherwise it is released without them and the summary says what will
be retried next time and what could not be listed. ``powered_off`` is reported only when the
camera answered OK to every power-off step (:attr:`Camera.power_off_confirmed`). A file whose
read fails with a :class:`~sony_pm_alt.errors.CameraTransportError` ends the session: the
camera is gone, so the files after it are reported as not attempted (the error type says so;
the camera is not asked again).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from queue import Queue
from typing import Any

from ..errors import (
    RECONNECT_HINT,
    TRANSPORT_ERRORS,
    CameraError,
    CameraTransportError,
    DestinationError,
    DestinationFull,
    SyncCancelled,
    describe_code,
    libgphoto2_errors,
)
from ..identity import Identity
from ..profiles import Profile, default_profile
from . import download as dl
from .camera import Camera, KeepAlive, Opener, Unreadable
from .events import (
    FileDone,
    FileFailed,
    FileProgress,
    FileSkipped,
    FileStarted,
    SessionEnded,
    SessionStarted,
    SyncEvent,
    SyncSummary,
)
from .filters import Filters
from .hooks import run_hook
from .listing import Listing
from .model import CameraInfo, CameraObject
from .naming import DEFAULT_TEMPLATE, Template
from .sanitize import UnsafeName, contained_path
from .session import CONNECT_ATTEMPTS, PTPIP_PORT, CameraTarget, connect, port_path
from .state import StateStore

__all__ = ["Failed", "SyncCancelled", "SyncOptions", "iter_sync", "plan", "sync"]

log = logging.getLogger("sony_pm_alt.sync")

EventSink = Callable[[SyncEvent], None]
# A Sony body gives up after ~2 minutes without a request (docs/protocol.md §9); airnef pings
# every 5 s. 20 s keeps a wide margin without adding noticeable traffic.
KEEPALIVE_INTERVAL = 20.0


@dataclass(frozen=True)
class SyncOptions:
    dest: Path
    template: Template = Template(DEFAULT_TEMPLATE)  # noqa: RUF009 - immutable
    filters: Filters = field(default_factory=Filters)
    profile: Profile = field(default_factory=default_profile)
    redownload: bool = False
    dry_run: bool = False
    hook: str | None = None
    bulk_listing: bool = True
    keepalive_interval: float = KEEPALIVE_INTERVAL
    connect_attempts: int = CONNECT_ATTEMPTS
    partial_max_age_days: float = dl.PARTIAL_MAX_AGE_DAYS  # 0: never remove old partial files


@dataclass(frozen=True)
class Failed:
    """A file not brought to disk in this session (it stays planned): ``reason`` for the
    summary, and the lost connection when that is why (the session cannot go on)."""

    reason: str
    camera_gone: CameraTransportError | None = None


Outcome = dl.Downloaded | Failed


@dataclass(frozen=True)
class _Pending:
    """File ``index`` of the plan, handed to the writer thread: fsync, place, record."""

    index: int
    obj: CameraObject
    future: Future[Outcome]


@dataclass
class _Run:
    """One session's fixed context and its running tally."""

    camera: Camera
    options: SyncOptions
    template: Template
    store: StateStore
    emit: EventSink
    cancel: threading.Event
    destination: dl.Destination | None
    started: float = field(default_factory=time.monotonic)
    listing: Listing | None = None
    session_id: int | None = None
    transferred: int = 0
    bytes_done: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    stopped: str = ""
    pending: _Pending | None = None  # the file being made durable on the writer thread

    @property
    def info(self) -> CameraInfo | None:
        return self.listing.camera if self.listing is not None else None

    def fail(self, obj: CameraObject, reason: str) -> None:
        self.failed.append(f"{obj.folder}/{obj.name}: {reason}")
        self.emit(FileFailed(obj, reason))

    def not_attempted(self, objects: list[CameraObject], reason: str) -> None:
        for obj in objects:
            self.fail(obj, f"not attempted: {reason}")

    def end_record(self, powered_off: bool = False) -> None:
        """Close the session's history record; never in the way of releasing the camera (it
        happens after), and a failure here loses no file: the transfers are recorded already."""
        if self.session_id is None:
            return
        self.store.end_session_or_warn(
            self.session_id,
            self.transferred,
            len(self.failed),
            self.bytes_done,
            complete=not self.failed and not self.unlisted,
            powered_off=powered_off,
        )


def plan(listing: Listing, options: SyncOptions, state: StateStore) -> list[CameraObject]:
    wanted = [o for o in listing.objects if options.filters.accepts(o)]
    if options.redownload:
        return wanted
    return state.new_objects(listing.camera, wanted)


def sync(
    host: str,
    *,
    identity: Identity,
    options: SyncOptions,
    port: int = PTPIP_PORT,
    state: StateStore | None = None,
    on_event: EventSink | None = None,
    native: bool | None = None,
    cancel: threading.Event | None = None,
    camera: Opener | None = None,
) -> SyncSummary:
    """Run one session with the camera at ``host``; see :class:`SyncOptions`.

    ``camera`` opens the camera instead of :func:`~sony_pm_alt.engine.session.connect` (a
    fake in tests). Raises :class:`~sony_pm_alt.errors.SonyPmAltError` subclasses when the
    camera cannot be opened (e.g. :class:`~sony_pm_alt.errors.CameraRefusedGuid`); per-file
    problems are reported as :class:`FileFailed` events and in the summary, never raised.
    Setting ``cancel`` stops between two chunks: the file being transferred stays a hidden
    partial file (resumed next time), the camera is released without powering off, and
    :class:`SyncCancelled` is raised."""
    emit: EventSink = on_event or (lambda event: None)
    template = options.template
    own_state = state is None
    store = state or StateStore.open_default()
    cancel = cancel or threading.Event()
    opener = camera or camera_opener(host, identity, options, port, native, cancel)
    try:
        for record in store.mark_interrupted():
            log.warning(
                "session %d with %s, started %s, was interrupted (its process ended without "
                "closing it); the %d files it recorded are safe, the rest is fetched again",
                record.id,
                record.model,
                record.started_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                record.transferred,
            )
        port_path(host, port)  # a host libgphoto2 cannot reach is refused before any write
        # Checked before the camera is contacted: it takes one connection per activation.
        destination = None if options.dry_run else dl.Destination.open(options.dest)
        run_hook(options.hook, "init")
        # Anything libgphoto2 raises that no step turned into a clearer error already.
        with libgphoto2_errors("talking to the camera"):
            run = _Run(opener(), options, template, store, emit, cancel, destination)
            return _run_session(run)
    except CameraError as exc:  # the stop signal itself breaks libgphoto2's waits (EINTR)
        if cancel.is_set():
            raise SyncCancelled("stopped on request") from exc
        raise
    finally:
        if own_state:
            store.close()


def camera_opener(
    host: str,
    identity: Identity,
    options: SyncOptions,
    port: int = PTPIP_PORT,
    native: bool | None = None,
    cancel: threading.Event | None = None,
) -> functools.partial[Camera]:
    """How :func:`sync` opens the camera when it is given none: :func:`connect`."""
    target = CameraTarget(host, identity, port, options.profile, native)
    return functools.partial(connect, target, attempts=options.connect_attempts, cancel=cancel)


def _run_session(run: _Run) -> SyncSummary:
    options, camera = run.options, run.camera
    todo: list[CameraObject] = []
    try:
        with KeepAlive(camera, options.keepalive_interval):
            listing = run.listing = _list(camera, options)
            info = listing.camera
            todo = plan(listing, options, run.store)
            run.unlisted = list(listing.problems)
            for problem in run.unlisted:
                log.warning("listing incomplete: %s", problem)
            run.emit(
                SessionStarted(
                    info,
                    len(listing.objects),
                    len(todo),
                    sum(o.size for o in todo),
                    listing.method,
                    camera.sending_confirmed,
                )
            )
            run_hook(options.hook, "start", camera=info.model, planned=len(todo))
            if not options.dry_run:
                run.session_id = run.store.start_session(info, len(todo))
            with ThreadPoolExecutor(1, thread_name_prefix="sony-pm-alt-writer") as writer:
                _transfer_all(run, todo, writer)
    except BaseException as exc:
        _drain(run)  # the file on the writer comes first: it may be recorded already
        run.failed.append(f"session: {exc}")
        _release(camera, left_on="the session failed")
        run.end_record()
        raise
    # Power off only when every planned file is safe and the listing complete, never after a
    # dry run: a camera left on can be asked again.
    left_on: str | None = None
    if run.failed:
        left_on = "some files failed (retried next time)"
    elif run.unlisted:
        left_on = "the listing is incomplete"
    elif options.dry_run:
        left_on = "dry run"
    powered_off, why_on = _release(camera, left_on=left_on)
    power_due = left_on is None and camera.profile.power_off is not None
    run.end_record(powered_off)
    if run.destination is not None and run.info is not None:
        key = run.info.key

        def keep() -> set[str]:  # the partial names of what is still on the camera
            return {dl.partial_name(key, obj) for obj in listing.objects}

        try:
            dl.remove_orphaned_partials(
                run.destination.root, keep, options.partial_max_age_days, time.time()
            )
        except OSError as exc:  # housekeeping only: never fails the session
            log.warning("looking for old partial downloads in %s: %s", run.destination.root, exc)
    run_hook(options.hook, "stop", transferred=run.transferred, failed=len(run.failed))
    summary = SyncSummary(
        run.info,
        len(todo),
        run.transferred,
        run.bytes_done,
        time.monotonic() - run.started,
        run.skipped,
        run.failed,
        powered_off,
        listing.method,
        camera_left_on=why_on,
        power_off_failed=power_due and not powered_off,
        unlisted=run.unlisted,
        sending=camera.sending_confirmed,
        stopped=run.stopped,
    )
    run.emit(SessionEnded(summary))
    return summary


def _transfer_all(run: _Run, todo: list[CameraObject], writer: ThreadPoolExecutor) -> None:
    """Every planned file, in order. File N is fsynced, placed and recorded on the writer
    thread while file N+1 arrives; N's outcome is reported before N+1 is handed over, so the
    writer holds at most one file (two descriptors, no data) and records follow the plan's
    order. With a hook there is no overlap: the user's program sees each file before the
    next one starts, as it always has (it may act on the destination)."""
    options = run.options
    left = sum(o.size for o in todo)  # bytes of this file and every one after it
    for index, obj in enumerate(todo, 1):
        remaining, left = left, left - obj.size
        if run.cancel.is_set():
            raise SyncCancelled("stopped on request before all files were transferred")
        if options.dry_run or run.destination is None:
            run.emit(FileSkipped(obj, "dry run"))
            run.skipped += 1
            continue
        try:
            outcome = _transfer(run, obj, index, remaining)
        except DestinationError as exc:  # stop: the next files would fail the same way
            if _settle(run) is None:  # the file before comes first
                run.stopped = str(exc)  # the summary carries it: said once, by the caller
            run.not_attempted(todo[index - 1 :], "the destination cannot take it")
            return
        try:
            stop = _settle(run)
        except BaseException:
            if isinstance(outcome, dl.Received):
                outcome.close()  # complete but not durable: resumed next time
            raise
        if stop is not None:  # the destination failed the file before: this one cannot land
            if isinstance(outcome, dl.Received):
                outcome.discard()
                outcome = Failed("not saved: the destination cannot take it")
            run.fail(obj, outcome.reason)
            run.not_attempted(todo[index:], "the destination cannot take it")
            return
        if isinstance(outcome, Failed):
            run.fail(obj, outcome.reason)
            if (gone := outcome.camera_gone) is not None:
                run.stopped = f"{gone.what} during {obj.name}; {RECONNECT_HINT}"
                run.not_attempted(todo[index:], gone.what)
                return
            continue
        future = writer.submit(_make_durable, run, outcome, remaining)
        run.pending = _Pending(index, obj, future)
        if options.hook and _settle(run) is not None:
            run.not_attempted(todo[index:], "the destination cannot take it")
            return
    _settle(run)


def _make_durable(run: _Run, received: dl.Received, remaining: int) -> Outcome:
    """On the writer thread: fsync and place one received file, then record it (never before
    it is durable at its final name). A destination that cannot take it raises
    :class:`DestinationError`; a state store that cannot record it, its error."""
    obj, info = received.obj, run.info
    assert info is not None
    assert run.session_id is not None
    try:
        done = dl.finalize(received, run.destination)
    except DestinationFull as exc:
        raise DestinationFull(exc.root, exc.name, exc.needed, exc.free, remaining) from exc
    except DestinationError:
        raise
    except Exception as exc:  # OS errors (EIO, a folder removed): the file stays planned
        log.warning("%s/%s: %s", obj.folder, obj.name, exc)
        return Failed(str(exc) or type(exc).__name__)
    run.store.record_transfer(run.session_id, info, obj, done.path, done.sha256)
    return done


def _settle(run: _Run) -> DestinationError | None:
    """Wait for the file on the writer and report it; the destination's error when it could
    not take the file (the session stops: the next files would fail the same way). Any other
    error of the writer (e.g. the state store) is raised."""
    pending, run.pending = run.pending, None
    if pending is None:
        return None
    try:
        outcome = pending.future.result()
    except DestinationError as exc:
        run.stopped = run.stopped or str(exc)
        run.fail(pending.obj, "not saved: the destination cannot take it")
        return exc
    if isinstance(outcome, Failed):
        run.fail(pending.obj, outcome.reason)
    else:
        _report_done(run, pending.obj, outcome)
    return None


def _poll(run: _Run) -> None:
    """Between two chunks: report the file on the writer if it is durable and recorded by
    now (its "saved" then comes while the next file arrives, not after it)."""
    pending = run.pending
    if pending is not None and pending.future.done() and pending.future.exception() is None:
        _settle(run)


def _drain(run: _Run) -> None:
    """The session is ending on an error or a stop request, and the writer has finished its
    file (its executor is shut down): report that file as it ended, never raising."""
    pending, run.pending = run.pending, None
    if pending is None:
        return
    try:
        outcome = pending.future.result()
    except BaseException as exc:
        outcome = Failed(str(exc) or type(exc).__name__)
    if isinstance(outcome, Failed):
        run.fail(pending.obj, outcome.reason)
        return
    try:
        _report_done(run, pending.obj, outcome)
    except Exception as exc:  # e.g. a failing hook: it must not hide why the session ended
        log.warning("after %s: %s", pending.obj.name, exc)


def _report_done(run: _Run, obj: CameraObject, done: dl.Downloaded) -> None:
    """A file durable at its final name and recorded: counted, announced, the hook run."""
    info = run.info
    assert info is not None
    run.transferred += 1
    run.bytes_done += done.size - done.resumed_from
    seconds = time.monotonic() - run.started
    run.emit(FileDone(obj, done.path, done.size, seconds, done.already_there))
    run_hook(
        run.options.hook,
        "download",
        str(done.path),
        camera=info.model,
        name=obj.name,
        folder=obj.folder,
        size=obj.size,
    )


def _list(camera: Camera, options: SyncOptions) -> Listing:
    try:
        return camera.list(bulk=options.bulk_listing)
    except CameraTransportError as exc:  # the operation that noticed is in the debug log
        log.debug("listing: %s", exc)
        raise exc.while_doing("listing the camera's files") from exc


def _release(session: Camera, *, left_on: str | None) -> tuple[bool, str]:
    """Close the session, with the profile's end steps unless ``left_on`` says why not.
    Returns (powered off, why the camera stays on): powered off only when the camera answered
    OK to every power-off step, never because the steps were merely sent."""
    power_off = left_on is None and session.profile.power_off is not None
    if power_off and not session.uses_native_layer:
        power_off = False
        left_on = (
            "this libgphoto2 cannot power the camera off (the native layer is not built: "
            "sony-pm-alt doctor); the camera stays on"
        )
    elif left_on is None and not power_off:
        left_on = f"the {session.profile.name!r} profile sends no power-off"
    problem = ""
    try:
        session.close(power_off=power_off)
    except CameraTransportError as exc:  # an older body switches off before the last end step
        log.warning(
            "the power-off was not confirmed: the connection was lost while %s (%s)",
            exc.doing,
            exc.detail,
        )
        problem = str(exc)
    except Exception as exc:  # the files are safe already; the camera is gone or confused
        log.warning("releasing the camera: %s", exc)
        problem = str(exc) or type(exc).__name__
    if not power_off:
        assert left_on is not None
        return False, left_on
    if session.power_off_confirmed:
        return True, ""
    return False, _power_off_failure(session, problem)


def _power_off_failure(session: Camera, problem: str) -> str:
    """Why the power-off is not confirmed, from what the camera answered to each step."""
    first = session.profile.power_off
    assert first is not None
    results = session.end_results
    if len(results) <= first:
        return f"the power-off was not sent ({problem or 'an earlier end step failed'})"
    command, rest = results[first], results[first + 1 :]
    if command.code in TRANSPORT_ERRORS:
        return f"the power-off was not answered ({describe_code(command.code)})"
    if not command.ok:
        return f"the camera refused the power-off ({describe_code(command.code)})"
    if not session.profile.power_off_paired:
        return (
            "the camera accepted the power-off but not the step after it (this profile sends "
            "no 0x9281 after it); an older body switches off there, a newer one stays on"
        )
    unanswered = next((r for r in rest if not r.ok), None)
    code = describe_code(unanswered.code) if unanswered else "no answer"
    return (
        f"the camera accepted the power-off but not the step after it ({code}); an older "
        "body switches off there, a newer one stays on"
    )


def _transfer(run: _Run, obj: CameraObject, index: int, remaining: int) -> dl.Received | Failed:
    """Receive one object into its partial file (:func:`_make_durable` makes it safe). A
    destination that cannot take it raises :class:`DestinationError` (``remaining``: the
    bytes of every file still planned, for the message); a stop request raises
    :class:`SyncCancelled`."""
    info, listing, destination = run.info, run.listing, run.destination
    assert info is not None
    assert listing is not None
    assert destination is not None
    try:
        relative = run.template.render(obj, info, index, datetime.now())
        final = contained_path(run.options.dest, relative)
    except UnsafeName as exc:
        log.warning("not downloading %r: %s", obj.name, exc)
        return Failed(f"unsafe name: {exc}")
    partial = dl.partial_path(final, info.key, obj)
    try:
        reader = run.camera.reader(obj, listing)
    except Unreadable as exc:
        return Failed(str(exc))
    if not reader.resumable:
        partial.unlink(missing_ok=True)
    resumed = partial.stat().st_size if partial.exists() else 0
    destination.check(obj.name, max(0, obj.size - resumed), remaining - min(resumed, obj.size))
    run.emit(FileStarted(obj, final, index, resumed))

    def read(offset: int, buffer: memoryview) -> int:
        if run.cancel.is_set():
            raise SyncCancelled(f"stopped on request during {obj.name}")
        _poll(run)
        return reader.read(offset, buffer)

    try:
        return dl.receive(
            obj,
            final,
            partial,
            read,
            lambda done: run.emit(FileProgress(obj, done, obj.size)),
            reader.probe,
        )
    except DestinationFull as exc:
        raise DestinationFull(exc.root, exc.name, exc.needed, exc.free, remaining) from exc
    except (SyncCancelled, DestinationError):
        raise
    except Exception as exc:  # camera errors, OS errors: reported, the file stays planned
        if run.cancel.is_set():  # the stop signal itself can break a read (EINTR in libgphoto2)
            raise SyncCancelled(f"stopped on request during {obj.name}") from exc
        if isinstance(exc, CameraTransportError):  # said once, as the session's end
            log.debug("%s/%s: %s", obj.folder, obj.name, exc)
            return Failed(str(exc), exc)
        log.warning("%s/%s: %s", obj.folder, obj.name, exc)
        return Failed(str(exc) or type(exc).__name__)


def iter_sync(host: str, **kwargs: Any) -> Iterator[SyncEvent]:
    """:func:`sync` as an iterator of events (the sync runs in a worker thread); the last
    event is :class:`SessionEnded`. Errors opening the camera are raised from the iterator."""
    queue: Queue[SyncEvent | BaseException | None] = Queue()

    def work() -> None:
        try:
            sync(host, on_event=queue.put, **kwargs)
        except BaseException as exc:
            queue.put(exc)
        finally:
            queue.put(None)

    thread = threading.Thread(target=work, name="sony-pm-alt-sync", daemon=True)
    thread.start()
    while (item := queue.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()
