"""One sync: connect, list, plan what is new, download it safely, record it, power off.

The camera is powered off (the profile's end steps) only when every planned file is safe and
the listing is complete; otherwise it is released without them and the summary says what will
be retried next time and what could not be listed. ``powered_off`` is reported only when the
camera answered OK to every power-off step (:attr:`CameraSession.power_off_confirmed`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from queue import Queue
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from ..errors import (
    RECONNECT_HINT,
    TRANSPORT_ERRORS,
    CameraError,
    DestinationError,
    DestinationFull,
    PTPResponseError,
    SonyPmAltError,
    TransportError,
)
from ..identity import Identity
from ..profiles import DEFAULT_PROFILE, Profile
from ..ptpip.codes import OperationCode, ResponseCode, code_name
from . import download as dl
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
from .listing import Listing, list_camera
from .model import CameraInfo, CameraObject
from .naming import DEFAULT_TEMPLATE, Template
from .sanitize import UnsafeName, contained_path
from .session import (
    PTPIP_PORT,
    CameraConnectError,
    CameraSession,
    libgphoto2_errors,
    port_path,
)
from .state import StateStore

log = logging.getLogger("sony_pm_alt.sync")

EventSink = Callable[[SyncEvent], None]
# A Sony body gives up after ~2 minutes without a request (docs/protocol.md §9); airnef pings
# every 5 s. 20 s keeps a wide margin without adding noticeable traffic.
KEEPALIVE_INTERVAL = 20.0
CONNECT_ATTEMPTS = 4  # the PTP/IP server may not accept for a moment after it announces


@dataclass(frozen=True)
class SyncOptions:
    dest: Path
    template: str = DEFAULT_TEMPLATE
    filters: Filters = field(default_factory=Filters)
    profile: Profile | str = DEFAULT_PROFILE
    redownload: bool = False
    dry_run: bool = False
    hook: str | None = None
    bulk_listing: bool = True
    keepalive_interval: float = KEEPALIVE_INTERVAL
    connect_attempts: int = CONNECT_ATTEMPTS
    partial_max_age_days: float = dl.PARTIAL_MAX_AGE_DAYS  # 0: never remove old partial files


class SyncCancelled(SonyPmAltError):
    """The sync was asked to stop; finished files are recorded, the rest stays planned."""


class KeepAlive:
    """Sends GetDeviceInfo when the camera has been idle for ``interval`` seconds, so that slow
    disks or hooks do not let the camera's idle timer end the session. Every camera call goes
    through :meth:`use`, so the ping never interleaves with a transfer."""

    def __init__(self, session: CameraSession, interval: float) -> None:
        self._session = session
        self._interval = interval
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sony-pm-alt-keepalive", daemon=True)
        self.pings = 0

    def __enter__(self) -> KeepAlive:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def use(self) -> threading.Lock:
        self._last = time.monotonic()
        return self._lock

    def touch(self) -> None:
        self._last = time.monotonic()

    def ping(self) -> bool:
        """One request the camera must answer (GetDeviceInfo, or StorageInfo without the
        native layer), under the camera lock; False when it does not answer."""
        with self.use():
            try:
                if self._session.uses_native_layer:
                    self._session.transport().transaction(
                        OperationCode.GET_DEVICE_INFO, data_in=True
                    )
                else:
                    self._session.camera.get_storageinfo()
            except PTPResponseError as exc:  # an answer, even a refusal: it is still there
                log.debug("the camera answered the ping with %s", exc)
            except Exception as exc:  # the caller decides what a silent camera means
                log.debug("the camera did not answer: %s", exc)
                return False
            finally:
                self._last = time.monotonic()
        return True

    def _run(self) -> None:
        while not self._stop.wait(min(self._interval / 4, 5.0)):
            if time.monotonic() - self._last >= self._interval and self.ping():
                self.pings += 1


def connect(
    host: str, port: int, identity: Identity, options: SyncOptions, native: bool | None
) -> CameraSession:
    """Open the session, retrying a camera that does not accept yet; a refused GUID is final."""
    retrying = Retrying(
        stop=stop_after_attempt(max(1, options.connect_attempts)),
        wait=wait_exponential(multiplier=0.5, max=4),
        retry=retry_if_exception_type(CameraConnectError),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            session = CameraSession(
                host, port=port, identity=identity, profile=options.profile, native=native
            )
            return session.open()
    raise AssertionError("unreachable")  # pragma: no cover


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
) -> SyncSummary:
    """Run one session with the camera at ``host``; see :class:`SyncOptions`.

    Raises :class:`~sony_pm_alt.errors.SonyPmAltError` subclasses when the camera cannot be
    opened (e.g. :class:`~sony_pm_alt.errors.CameraRefusedGuid`); per-file problems are
    reported as :class:`FileFailed` events and in the summary, never raised. Setting
    ``cancel`` stops between two chunks: the file being transferred stays a hidden partial
    file (resumed next time), the camera is released without powering off, and
    :class:`SyncCancelled` is raised."""
    emit: EventSink = on_event or (lambda event: None)
    template = Template(options.template)
    own_state = state is None
    store = state or StateStore.open_default()
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
            session = connect(host, port, identity, options, native)
            return _run_session(
                session, template, options, store, emit, cancel or threading.Event(), destination
            )
    finally:
        if own_state:
            store.close()


def _run_session(
    session: CameraSession,
    template: Template,
    options: SyncOptions,
    store: StateStore,
    emit: EventSink,
    cancel: threading.Event,
    destination: dl.Destination | None,
) -> SyncSummary:
    started = time.monotonic()
    camera: CameraInfo | None = None
    transferred = bytes_done = skipped = 0
    failed: list[str] = []
    session_id: int | None = None
    listing_method = ""
    unlisted: list[str] = []
    stopped = ""
    try:
        with KeepAlive(session, options.keepalive_interval) as keepalive:
            listing = _list(session, keepalive, options)
            camera, listing_method = listing.camera, listing.method
            todo = plan(listing, options, store)
            unlisted = list(listing.problems)
            for problem in unlisted:
                log.warning("listing incomplete: %s", problem)
            emit(
                SessionStarted(
                    camera,
                    len(listing.objects),
                    len(todo),
                    sum(o.size for o in todo),
                    listing.method,
                    session.sending_confirmed,
                )
            )
            run_hook(options.hook, "start", camera=camera.model, planned=len(todo))
            if not options.dry_run:
                session_id = store.start_session(camera, len(todo))
            for index, obj in enumerate(todo, 1):
                if cancel.is_set():
                    raise SyncCancelled("stopped on request before all files were transferred")
                if options.dry_run or destination is None:
                    emit(FileSkipped(obj, "dry run"))
                    skipped += 1
                    continue
                try:
                    outcome = _transfer(
                        session,
                        keepalive,
                        camera,
                        obj,
                        index,
                        template,
                        options,
                        emit,
                        cancel,
                        listing,
                        destination,
                        sum(o.size for o in todo[index - 1 :]),
                    )
                except DestinationError as exc:  # stop: the next files would fail the same way
                    stopped = str(exc)  # the summary carries it: said once, by the caller
                    _not_attempted(
                        todo[index - 1 :], "the destination cannot take it", failed, emit
                    )
                    break
                if isinstance(outcome, str):
                    failed.append(f"{obj.folder}/{obj.name}: {outcome}")
                    emit(FileFailed(obj, outcome))
                    if not keepalive.ping():  # is the camera still there?
                        stopped = (
                            f"the connection to the camera was lost during {obj.name}; "
                            f"{RECONNECT_HINT}"
                        )
                        reason = "the connection to the camera was lost"
                        _not_attempted(todo[index:], reason, failed, emit)
                        break
                    continue
                assert session_id is not None
                store.record_transfer(session_id, camera, obj, outcome.path, outcome.sha256)
                transferred += 1
                bytes_done += outcome.size - outcome.resumed_from
                emit(
                    FileDone(
                        obj,
                        outcome.path,
                        outcome.size,
                        time.monotonic() - started,
                        outcome.already_there,
                    )
                )
                keepalive.touch()
                run_hook(
                    options.hook,
                    "download",
                    str(outcome.path),
                    camera=camera.model,
                    name=obj.name,
                    folder=obj.folder,
                    size=obj.size,
                )
    except BaseException as exc:
        failed.append(f"session: {exc}")
        _release(session, left_on="the session failed")
        _end_session(store, session_id, transferred, failed, bytes_done, unlisted)
        raise
    # Power off only when every planned file is safe and the listing complete, never after a
    # dry run: a camera left on can be asked again.
    left_on: str | None = None
    if failed:
        left_on = "some files failed (retried next time)"
    elif unlisted:
        left_on = "the listing is incomplete"
    elif options.dry_run:
        left_on = "dry run"
    powered_off, why_on = _release(session, left_on=left_on)
    power_due = left_on is None and session.profile.power_off is not None
    _end_session(store, session_id, transferred, failed, bytes_done, unlisted, powered_off)
    if destination is not None and camera is not None:
        keep = {dl.partial_name(camera.key, obj) for obj in listing.objects}
        try:
            dl.remove_orphaned_partials(
                destination.root, keep, options.partial_max_age_days, time.time()
            )
        except OSError as exc:  # housekeeping only: never fails the session
            log.warning("looking for old partial downloads in %s: %s", destination.root, exc)
    run_hook(options.hook, "stop", transferred=transferred, failed=len(failed))
    summary = SyncSummary(
        camera,
        len(todo),
        transferred,
        bytes_done,
        time.monotonic() - started,
        skipped,
        failed,
        powered_off,
        listing_method,
        camera_left_on=why_on,
        power_off_failed=power_due and not powered_off,
        unlisted=unlisted,
        sending=session.sending_confirmed,
        stopped=stopped,
    )
    emit(SessionEnded(summary))
    return summary


def _list(session: CameraSession, keepalive: KeepAlive, options: SyncOptions) -> Listing:
    """The listing; a failure libgphoto2 does not explain (``[-1] Unspecified error``) is
    reported as a lost connection only once the camera does not answer a ping either."""
    try:
        with keepalive.use():
            return list_camera(session, bulk=options.bulk_listing)
    except TransportError as exc:  # the operation that noticed is in the debug log
        log.debug("listing: %s", exc)
        raise TransportError(
            "listing the camera's files", exc.detail, opcode=exc.opcode, code=exc.code
        ) from exc
    except CameraError as exc:
        if keepalive.ping():
            raise
        raise TransportError("listing the camera's files", str(exc)) from exc


def _not_attempted(
    objects: list[CameraObject], reason: str, failed: list[str], emit: EventSink
) -> None:
    for obj in objects:
        failed.append(f"{obj.folder}/{obj.name}: not attempted: {reason}")
        emit(FileFailed(obj, f"not attempted: {reason}"))


def _release(session: CameraSession, *, left_on: str | None) -> tuple[bool, str]:
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
    except TransportError as exc:  # an older body switches off before the last end step
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


def _power_off_failure(session: CameraSession, problem: str) -> str:
    """Why the power-off is not confirmed, from what the camera answered to each step."""
    first = session.profile.power_off
    assert first is not None
    results = session.end_results
    if len(results) <= first:
        return f"the power-off was not sent ({problem or 'an earlier end step failed'})"
    command, rest = results[first], results[first + 1 :]
    if command.code in TRANSPORT_ERRORS:
        return f"the power-off was not answered ({_answer(command.code)})"
    if not command.ok:
        return f"the camera refused the power-off ({_answer(command.code)})"
    if not session.profile.power_off_paired:
        return (
            "the camera accepted the power-off but not the step after it (this profile sends "
            "no 0x9281 after it); an older body switches off there, a newer one stays on"
        )
    unanswered = next((r for r in rest if not r.ok), None)
    code = _answer(unanswered.code) if unanswered else "no answer"
    return (
        f"the camera accepted the power-off but not the step after it ({code}); an older "
        "body switches off there, a newer one stays on"
    )


def _answer(code: int) -> str:
    return TRANSPORT_ERRORS.get(code) or code_name(code, ResponseCode)


def _end_session(
    store: StateStore,
    session_id: int | None,
    transferred: int,
    failed: list[str],
    size: int,
    unlisted: list[str],
    powered_off: bool = False,
) -> None:
    """Close the session's history record; never in the way of releasing the camera (it
    happens after), and a failure here loses no file: the transfers are recorded already."""
    if session_id is None:
        return
    try:
        store.end_session(
            session_id,
            transferred=transferred,
            failed=len(failed),
            bytes=size,
            result="ok" if not failed and not unlisted else "incomplete",
            powered_off=powered_off,
        )
    except SonyPmAltError as exc:
        log.warning("could not close the session record: %s", exc)


def _transfer(
    session: CameraSession,
    keepalive: KeepAlive,
    camera: CameraInfo,
    obj: CameraObject,
    index: int,
    template: Template,
    options: SyncOptions,
    emit: EventSink,
    cancel: threading.Event,
    listing: Listing,
    destination: dl.Destination,
    remaining: int,
) -> dl.Downloaded | str:
    """Download one object; a string is the reason it failed (it stays planned). A
    destination that cannot take it raises :class:`DestinationError` (``remaining``: the
    bytes of every file still planned, for the message)."""
    try:
        relative = template.render(obj, camera, index, datetime.now())
        final = contained_path(options.dest, relative)
    except UnsafeName as exc:
        log.warning("not downloading %r: %s", obj.name, exc)
        return f"unsafe name: {exc}"
    partial = dl.partial_path(final, camera.key, obj)
    # Without a handle the object came from libgphoto2's listing, whose size for "4 GiB or
    # more" may be the 32-bit 0xFFFFFFFF, and the 64-bit read needs the handle: refuse.
    if obj.size >= dl.FOUR_GIB - 1 and not obj.handle:
        return (
            "4 GiB or more, and this listing gives neither its true size nor its handle (the "
            "native layer's bulk listing does); left on the camera for a later session "
            "(nothing recorded)"
        )
    if obj.size >= dl.FOUR_GIB:
        if not (session.uses_native_layer and listing.offers(OperationCode.GET_PARTIAL_OBJECT_64)):
            return (
                "4 GiB or more and the camera offers no 64-bit partial read; left on the "
                "camera for a later session (nothing recorded)"
            )
        read = dl.partial64_reader(session.transport(), obj)
    elif listing.offers(OperationCode.GET_PARTIAL_OBJECT) is False:
        partial.unlink(missing_ok=True)  # no partial reads: a restart, never a resume
        read = dl.whole_file_reader(session.camera, obj)
    else:
        read = dl.gphoto2_reader(session.camera, obj)
    resumed = partial.stat().st_size if partial.exists() else 0
    destination.check(obj.name, max(0, obj.size - resumed), remaining - min(resumed, obj.size))
    emit(FileStarted(obj, final, index, resumed))

    def locked_read(offset: int, buffer: memoryview) -> int:
        if cancel.is_set():
            raise SyncCancelled(f"stopped on request during {obj.name}")
        with keepalive.use():
            return read(offset, buffer)

    def more_than_listed() -> bool:
        """One byte asked for past the listed end: a camera that has it listed a wrong size."""
        with keepalive.use():
            result = session.transport().transaction(
                OperationCode.GET_PARTIAL_OBJECT,
                [obj.handle, obj.size, 1],
                data_in=True,
                check=False,
            )
        return result.code == ResponseCode.OK and len(result.data) > 0

    # Only where a raw read by handle can ask (libgphoto2 itself stops at the listed size).
    can_probe = (
        session.uses_native_layer
        and obj.handle
        and obj.size < dl.FOUR_GIB - 1
        and listing.offers(OperationCode.GET_PARTIAL_OBJECT)
    )
    try:
        return dl.fetch(
            obj,
            final,
            partial,
            locked_read,
            lambda done: emit(FileProgress(obj, done, obj.size)),
            more_than_listed if can_probe else None,
        )
    except DestinationFull as exc:
        raise DestinationFull(exc.root, exc.name, exc.needed, exc.free, remaining) from exc
    except (SyncCancelled, DestinationError):
        raise
    except Exception as exc:  # gphoto2 errors, OS errors: reported, the file stays planned
        if cancel.is_set():  # the stop signal itself can break a read (EINTR in libgphoto2)
            raise SyncCancelled(f"stopped on request during {obj.name}") from exc
        log.warning("%s/%s: %s", obj.folder, obj.name, exc)
        return str(exc) or type(exc).__name__


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
