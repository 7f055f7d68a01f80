"""sony-pm-alt: wireless photo import from Sony cameras in "Send to Computer" mode.

The library API, in a few names::

    from sony_pm_alt import Identity, SyncOptions, sync

    summary = sync("192.168.1.50", identity=Identity.from_text(GUID),
                   options=SyncOptions(dest=Path("photos")))

:func:`sync` runs one session (connect, list, plan what is new, download safely, record,
power off); :func:`iter_sync` yields its events instead of calling back. For lower-level work,
:class:`CameraSession` opens the camera (python-gphoto2 plus the vendor profile), and
:func:`list_camera` / :func:`plan` list it and decide what is new against a
:class:`StateStore`. :class:`Camera` is the seam between a sync and the camera: ``sync(…,
camera=opener)`` runs against whatever ``opener()`` returns. Every error raised on purpose is a
:class:`SonyPmAltError`; :class:`CameraTransportError` (no answer) is told apart from
:class:`CameraResponseError` (the camera answered with a code).
"""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .engine.camera import Camera
    from .engine.events import (
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
    from .engine.filters import Filters
    from .engine.listing import Listing, list_camera
    from .engine.model import CameraInfo, CameraObject, Kind
    from .engine.session import CameraSession
    from .engine.state import StateStore
    from .engine.sync import SyncOptions, iter_sync, plan, sync
    from .errors import (
        CameraBusy,
        CameraConnectError,
        CameraError,
        CameraRefusedGuid,
        CameraResponseError,
        CameraTimedOut,
        CameraTransportError,
        DestinationError,
        DestinationFull,
        NativeLayerUnavailable,
        SonyPmAltError,
        SyncCancelled,
        VendorStepFailed,
    )
    from .identity import Identity

__all__ = [
    "Camera",
    "CameraBusy",
    "CameraConnectError",
    "CameraError",
    "CameraInfo",
    "CameraObject",
    "CameraRefusedGuid",
    "CameraResponseError",
    "CameraSession",
    "CameraTimedOut",
    "CameraTransportError",
    "DestinationError",
    "DestinationFull",
    "FileDone",
    "FileFailed",
    "FileProgress",
    "FileSkipped",
    "FileStarted",
    "Filters",
    "Identity",
    "Kind",
    "Listing",
    "NativeLayerUnavailable",
    "SessionEnded",
    "SessionStarted",
    "SonyPmAltError",
    "StateStore",
    "SyncCancelled",
    "SyncEvent",
    "SyncOptions",
    "SyncSummary",
    "VendorStepFailed",
    "__version__",
    "iter_sync",
    "list_camera",
    "plan",
    "sync",
]


# Where each public name lives. They are imported on first use (PEP 562), so `import
# sony_pm_alt.cli` for `--help` or a config command does not load python-gphoto2 and the engine.
_EXPORTS = {
    ".engine.camera": "Camera",
    ".engine.events": "FileDone FileFailed FileProgress FileSkipped FileStarted SessionEnded "
    "SessionStarted SyncEvent SyncSummary",
    ".engine.filters": "Filters",
    ".engine.listing": "Listing list_camera",
    ".engine.model": "CameraInfo CameraObject Kind",
    ".engine.session": "CameraSession",
    ".engine.state": "StateStore",
    ".engine.sync": "SyncOptions iter_sync plan sync",
    ".errors": "CameraBusy CameraConnectError CameraError CameraRefusedGuid CameraResponseError "
    "CameraTimedOut CameraTransportError DestinationError DestinationFull "
    "NativeLayerUnavailable SonyPmAltError SyncCancelled VendorStepFailed",
    ".identity": "Identity",
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names.split()}


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
