"""One PTP/IP session with a Sony camera through python-gphoto2.

With the native layer (``make build``) the camera gets our identity for this connection only
and the vendor profile runs inside libgphoto2's own session: the start steps right after
OpenSession/GetDeviceInfo, the end steps right before CloseSession, on the same TCP connection
as the listing and downloads in between. Without it, the stock camlib is used: the GUID goes
through libgphoto2's settings file and libgphoto2's built-in Sony handling applies.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tenacity import (
    Retrying,
    retry_if_exception_type,
    sleep_using_event,
    stop_after_attempt,
    stop_when_event_set,
    wait_exponential,
)

from .. import native as native_layer
from ..errors import (
    GP_ERROR_CAMERA_BUSY,
    GP_TRANSPORT_ERRORS,
    TRANSPORT_ERRORS,
    CameraBusy,
    CameraConnectError,
    CameraRefusedGuid,
    NativeLayerUnavailable,
    from_gphoto2,
    libgphoto2_errors,
    no_answer,
    raise_for_response,
)
from ..identity import Identity
from ..profiles import Profile, default_profile
from ..ptpip.codes import PTPIP_PORT as PTPIP_PORT  # engine.sync imports it from here
from ..ptpip.codes import InitFailReason, OperationCode, ResponseCode
from . import download as dl
from . import gphoto_settings
from .camera import Camera, Reader, Unreadable
from .listing import Listing, list_camera
from .model import CameraObject
from .vendor import StepResult, run_steps

log = logging.getLogger("sony_pm_alt.session")

CONNECT_ATTEMPTS = 4  # the PTP/IP server may not accept for a moment after it announces
MODEL = "PTP/IP Camera"
_python_logging: Any = None  # python-gphoto2 stops forwarding logs when this is collected

# libgphoto2 holds its libltdl mutex while it loads port drivers and camlibs, and logs from
# inside it into Python (use_python_logging). python-gphoto2 keeps the GIL in some of those
# calls (PortInfoList.load), so a second thread loading while the first logs deadlocks: one
# waits for the GIL, the other for the mutex. watch opens cameras from a thread each, so
# every call that takes that mutex runs under this lock, and the lists are loaded once.
_library_lock = threading.Lock()
_lists: dict[str, tuple[Any, Any]] = {}  # CAMLIBS → (PortInfoList, CameraAbilitiesList)


def _port_and_abilities(gp: Any) -> tuple[Any, Any]:
    """The loaded port and camlib lists for the current ``CAMLIBS`` (the caller holds
    ``_library_lock``)."""
    key = os.environ.get("CAMLIBS", "")
    if key not in _lists:
        ports = gp.PortInfoList()
        ports.load()
        abilities = gp.CameraAbilitiesList()
        abilities.load()
        _lists[key] = (ports, abilities)
    return _lists[key]


def port_path(host: str, port: int = PTPIP_PORT) -> str:
    """libgphoto2's port path; both ports spelled out, or the event port stays at 15740."""
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"{host!r}: libgphoto2 reaches cameras by IPv4 address only") from None
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is not a TCP port")
    return f"ptpip:{host}:{port}:{port}"


class CameraSession:
    """Open with ``with CameraSession(host, identity=…) as session:``; ``session.camera`` is
    the python-gphoto2 ``Camera``. ``native=None`` uses the native layer when it is built,
    ``True`` requires it, ``False`` never uses it. ``close(power_off=False)`` releases the
    camera without the profile's end steps (it then stays on, e.g. after a failed download).
    It is the engine's :class:`~sony_pm_alt.engine.camera.Camera`: it owns the camera's lock
    (:meth:`exclusive`) and knows when it was last used."""

    def __init__(
        self,
        host: str,
        *,
        identity: Identity,
        port: int = PTPIP_PORT,
        profile: Profile | None = None,
        native: bool | None = None,
    ) -> None:
        self.path = port_path(host, port)
        self.address = f"{host}:{port}"
        self.identity = identity
        self.profile = profile or default_profile()
        self._want_native = native
        self._native: native_layer.Native | None = None
        self._camera: Any = None
        self._run_end_steps = True
        self.start_results: list[StepResult] = []
        self.end_results: list[StepResult] = []
        self._lock = threading.Lock()
        self._last_used = time.monotonic()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """The camera's lock; holding it counts as using the camera."""
        with self._lock:
            self._last_used = time.monotonic()
            try:
                yield
            finally:
                self._last_used = time.monotonic()

    @property
    def idle_seconds(self) -> float:
        return time.monotonic() - self._last_used

    @property
    def camera(self) -> Any:
        if self._camera is None:
            raise RuntimeError("the session is not open")
        return self._camera

    @property
    def uses_native_layer(self) -> bool:
        return self._native is not None

    def transport(self) -> native_layer.Transport:
        """Raw transactions on this session's connection (needs the native layer)."""
        if self._native is None:
            raise NativeLayerUnavailable(
                "raw transactions need the native layer; run `make build` (sony-pm-alt doctor)"
            )
        return self._native.camera_transport(self.camera)

    def open(self) -> CameraSession:
        import gphoto2 as gp

        global _python_logging
        if _python_logging is None:
            _python_logging = gp.use_python_logging()
        self._native = self._load_native()
        if self._native is not None:
            self._native.set_identity(self.path, self.identity.guid, self.identity.friendly_name)
            self._native.set_hook(self.path, self._hook)
        elif gphoto_settings.merge_guid(self.identity.guid):
            log.warning(
                "wrote the GUID into %s (libgphoto2 reads it only from there)",
                gphoto_settings.settings_path(),
            )
        camera = gp.Camera()
        try:
            with _library_lock:
                ports, abilities = _port_and_abilities(gp)
                camera.set_port_info(ports[ports.lookup_path(self.path)])
                camera.set_abilities(abilities[abilities.lookup_model(MODEL)])
                camera.init()  # loads the camlib: the same mutex
        except gp.GPhoto2Error as exc:
            reason = self._native.last_init_fail(self.path) if self._native else 0
            if reason == InitFailReason.REJECTED_INITIATOR:
                raise CameraRefusedGuid(self.identity.guid, reason) from None
            if exc.code == GP_ERROR_CAMERA_BUSY:  # the camlib asked again for seconds already
                raise CameraBusy("opening the session") from None
            if reason:
                why = f"it answered Init Fail reason {reason}"
            elif exc.code in GP_TRANSPORT_ERRORS:
                why = no_answer(GP_TRANSPORT_ERRORS[exc.code])
            else:
                why = str(from_gphoto2(exc, "opening the session"))
            raise CameraConnectError(self.address, why, code=exc.code) from None
        self._camera = camera
        failure = self._native.hook_errors.get(self.path) if self._native else None
        if failure is not None:
            self.close(power_off=False)
            raise failure
        return self

    def _load_native(self) -> native_layer.Native | None:
        if self._want_native is False:
            return None
        try:
            return native_layer.load()
        except NativeLayerUnavailable as exc:
            if self._want_native:
                raise
            log.warning(
                "native layer unavailable (%s): using libgphoto2's own camlib, so the "
                "vendor profile and per-camera identity are not available, and this "
                "libgphoto2 cannot power the camera off: it stays on after the session",
                exc,
            )
            return None

    # --- what a sync asks of the camera (engine.camera.Camera) ---------------------------------

    def ping(self) -> None:
        """GetDeviceInfo (StorageInfo without the native layer); an answer other than OK still
        shows the camera is there."""
        with self.exclusive():
            if self.uses_native_layer:
                opcode = OperationCode.GET_DEVICE_INFO
                result = self.transport().transaction(opcode, data_in=True, check=False)
                if result.code in TRANSPORT_ERRORS:
                    raise_for_response(opcode, result.code)
            else:
                with libgphoto2_errors("asking the camera whether it is still there"):
                    self.camera.get_storageinfo()

    def list(self, *, bulk: bool) -> Listing:
        with self.exclusive():
            return list_camera(self, bulk=bulk)

    def reader(self, obj: CameraObject, listing: Listing) -> Reader:
        # Without a handle the object came from libgphoto2's listing, whose size for "4 GiB or
        # more" may be the 32-bit 0xFFFFFFFF, and the 64-bit read needs the handle: refuse.
        if obj.size >= dl.FOUR_GIB - 1 and not obj.handle:
            raise Unreadable(
                "4 GiB or more, and this listing gives neither its true size nor its handle "
                "(the native layer's bulk listing does); left on the camera for a later "
                "session (nothing recorded)"
            )
        resumable = True
        if obj.size >= dl.FOUR_GIB:
            if not (self.uses_native_layer and listing.offers(OperationCode.GET_PARTIAL_OBJECT_64)):
                raise Unreadable(
                    "4 GiB or more and the camera offers no 64-bit partial read; left on the "
                    "camera for a later session (nothing recorded)"
                )
            read = dl.partial64_reader(self.transport(), obj)
        elif listing.offers(OperationCode.GET_PARTIAL_OBJECT) is False:
            resumable = False  # no partial reads: a restart, never a resume
            read = dl.whole_file_reader(self.camera, obj)
        else:
            read = dl.gphoto2_reader(self.camera, obj)

        def more_than_listed() -> bool:
            """One byte asked for past the listed end: a camera that listed a wrong size."""
            with self.exclusive():
                result = self.transport().transaction(
                    OperationCode.GET_PARTIAL_OBJECT,
                    [obj.handle, obj.size, 1],
                    data_in=True,
                    check=False,
                )
            return result.code == ResponseCode.OK and len(result.data) > 0

        # Only where a raw read by handle can ask (libgphoto2 itself stops at the listed size).
        probe: Callable[[], bool] | None = None
        can_probe = (
            self.uses_native_layer
            and obj.handle
            and obj.size < dl.FOUR_GIB - 1
            and listing.offers(OperationCode.GET_PARTIAL_OBJECT)
        )
        if can_probe:  # one round trip per chunk, the check for unlisted data included
            read, probe = dl.partial_reader(self.transport(), obj, more_than_listed)

        def locked_read(offset: int, buffer: memoryview) -> int:
            with self.exclusive():
                return read(offset, buffer)

        return Reader(locked_read, resumable, probe)

    def _hook(self, transport: native_layer.Transport, phase: int) -> None:
        if phase == native_layer.HOOK_START:
            self.start_results = []
            run_steps(transport, "start", self.profile.start, self.start_results)
        elif self._run_end_steps:
            self.end_results = []
            run_steps(transport, "end", self.profile.end, self.end_results)

    @property
    def sending_confirmed(self) -> bool:
        """The camera answered OK to the profile's "Sending…" command and every start step
        after it (never true on the stock camlib: its own start pair is not ours to see)."""
        return _block_confirmed(self.profile.sending, self.profile.start, self.start_results)

    @property
    def power_off_confirmed(self) -> bool:
        """The camera answered OK to the profile's power-off command and to every end step
        after it, a 0x9281 among them: newer bodies only arm the power-off on the 0x9280 and
        switch off on the 0x9281 that follows (libgphoto2 PR #1220)."""
        return power_off_confirmed(self.profile, self.end_results)

    def close(self, *, power_off: bool = True) -> None:
        """End the session: the profile's end steps (power off), then CloseSession."""
        if self._camera is None:
            return
        self._run_end_steps = power_off
        camera, self._camera = self._camera, None
        failure: BaseException | None = None
        try:
            with self.exclusive(), _library_lock:  # unloads the camlib: the same mutex
                camera.exit()
        finally:
            if self._native is not None:
                failure = self._native.hook_errors.pop(self.path, None)
                self._native.set_hook(self.path, None)
                self._native.clear_identity(self.path)
        if failure is not None:
            raise failure

    def __enter__(self) -> CameraSession:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.close(power_off=exc_type is None)


def power_off_confirmed(profile: Profile, end_results: Sequence[StepResult]) -> bool:
    """The camera answered OK to ``profile``'s power-off command and every end step after it,
    a 0x9281 among them (see :attr:`CameraSession.power_off_confirmed`)."""
    return profile.power_off_paired and _block_confirmed(
        profile.power_off, profile.end, end_results
    )


def _block_confirmed(
    first: int | None, steps: tuple[object, ...], results: Sequence[StepResult]
) -> bool:
    if first is None or len(results) != len(steps):
        return False
    return all(result.ok for result in results[first:])


@dataclass(frozen=True)
class CameraTarget:
    """Where and as whom to open a session (see :class:`CameraSession`)."""

    host: str
    identity: Identity
    port: int = PTPIP_PORT
    profile: Profile | None = None  # None: the default profile
    native: bool | None = None


def open_session(target: CameraTarget) -> CameraSession:
    return CameraSession(**vars(target)).open()  # its fields are CameraSession's arguments


def connect(
    target: CameraTarget,
    *,
    attempts: int = CONNECT_ATTEMPTS,
    opener: Callable[[CameraTarget], Camera] = open_session,
    sleep: Callable[[float], None] = time.sleep,
    cancel: threading.Event | None = None,
) -> Camera:
    """Open the session, retrying a camera that does not accept yet (a fresh session per
    attempt, waits doubling from 0.5 s up to 4 s); a refused GUID or a busy camera is final,
    and so is any failure once ``cancel`` is set (its wait ends early, too)."""
    stop = stop_after_attempt(max(1, attempts))
    retrying = Retrying(
        stop=stop if cancel is None else stop | stop_when_event_set(cancel),
        wait=wait_exponential(multiplier=0.5, max=4),
        retry=retry_if_exception_type(CameraConnectError),
        reraise=True,
        sleep=sleep if cancel is None else sleep_using_event(cancel),
    )
    for attempt in retrying:
        with attempt:
            return opener(target)
    raise AssertionError("unreachable")  # pragma: no cover
