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
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from .. import native as native_layer
from ..errors import (
    GP_ERROR_CAMERA_BUSY,
    GP_TRANSPORT_ERRORS,
    CameraBusy,
    CameraRefusedGuid,
    NativeLayerUnavailable,
    SonyPmAltError,
    from_gphoto2,
)
from ..identity import Identity
from ..profiles import DEFAULT_PROFILE, Profile, load_profile
from ..ptpip.codes import InitFailReason
from ..ptpip.packets import PTPIP_PORT as PTPIP_PORT  # engine.sync imports it from here
from . import gphoto_settings
from .vendor import StepResult, run_steps

log = logging.getLogger("sony_pm_alt.session")

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


class CameraConnectError(SonyPmAltError):
    """The camera could not be opened for another reason than a refused GUID."""


def port_path(host: str, port: int = PTPIP_PORT) -> str:
    """libgphoto2's port path; both ports spelled out, or the event port stays at 15740."""
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"{host!r}: libgphoto2 reaches cameras by IPv4 address only") from None
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is not a TCP port")
    return f"ptpip:{host}:{port}:{port}"


@contextmanager
def libgphoto2_errors(doing: str) -> Iterator[None]:
    """Turn python-gphoto2's ``GPhoto2Error`` raised inside the block into the
    :class:`~sony_pm_alt.errors.CameraError` it is (see :func:`.errors.from_gphoto2`)."""
    import gphoto2 as gp

    try:
        yield
    except gp.GPhoto2Error as exc:
        raise from_gphoto2(exc, doing) from exc


def _route_libgphoto2_logs(gp: Any) -> None:
    global _python_logging
    if _python_logging is None:
        _python_logging = gp.use_python_logging()


class CameraSession:
    """Open with ``with CameraSession(host, identity=…) as session:``; ``session.camera`` is
    the python-gphoto2 ``Camera``. ``native=None`` uses the native layer when it is built,
    ``True`` requires it, ``False`` never uses it. ``close(power_off=False)`` releases the
    camera without the profile's end steps (it then stays on, e.g. after a failed download)."""

    def __init__(
        self,
        host: str,
        *,
        identity: Identity,
        port: int = PTPIP_PORT,
        profile: Profile | str = DEFAULT_PROFILE,
        native: bool | None = None,
    ) -> None:
        self.path = port_path(host, port)
        self.identity = identity
        self.profile = load_profile(profile) if isinstance(profile, str) else profile
        self._want_native = native
        self._native: native_layer.Native | None = None
        self._camera: Any = None
        self._run_end_steps = True
        self.start_results: list[StepResult] = []
        self.end_results: list[StepResult] = []

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

        _route_libgphoto2_logs(gp)
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
                why = (
                    f"no PTP/IP answer ({GP_TRANSPORT_ERRORS[exc.code]}); check that the camera "
                    'shows "Send to Computer" at that address and that no other program is '
                    "connected to it"
                )
            else:
                why = f"libgphoto2 reported {exc}"
            raise CameraConnectError(f"cannot open the camera at {self.path}: {why}") from None
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
        return self.profile.power_off_paired and _block_confirmed(
            self.profile.power_off, self.profile.end, self.end_results
        )

    def close(self, *, power_off: bool = True) -> None:
        """End the session: the profile's end steps (power off), then CloseSession."""
        if self._camera is None:
            return
        self._run_end_steps = power_off
        camera, self._camera = self._camera, None
        failure: BaseException | None = None
        try:
            with _library_lock:  # unloads the camlib: the same mutex
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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(power_off=exc is None)


def _block_confirmed(
    first: int | None, steps: tuple[object, ...], results: list[StepResult]
) -> bool:
    if first is None or len(results) != len(steps):
        return False
    return all(result.ok for result in results[first:])
