"""sony-pm-alt: wireless photo import from Sony cameras in "Send to Computer" mode.

The library API, in a few names::

    from sony_pm_alt import Identity, SyncOptions, sync

    summary = sync("192.168.1.50", identity=Identity.from_text(GUID),
                   options=SyncOptions(dest=Path("photos")))

:func:`sync` runs one session (connect, list, plan what is new, download safely, record,
power off); :func:`iter_sync` yields its events instead of calling back. For lower-level work,
:class:`CameraSession` opens the camera (python-gphoto2 plus the vendor profile), and
:func:`list_camera` / :func:`plan` list it and decide what is new against a
:class:`StateStore`. Every error raised on purpose is a :class:`SonyPmAltError`.
"""

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
from .engine.session import CameraConnectError, CameraSession
from .engine.state import StateStore
from .engine.sync import SyncOptions, iter_sync, plan, sync
from .errors import (
    CameraBusy,
    CameraError,
    CameraRefusedGuid,
    DestinationError,
    DestinationFull,
    NativeLayerUnavailable,
    PTPResponseError,
    SonyPmAltError,
    TransportError,
    VendorStepFailed,
)
from .identity import Identity

__version__ = "0.1.0"

__all__ = [
    "CameraBusy",
    "CameraConnectError",
    "CameraError",
    "CameraInfo",
    "CameraObject",
    "CameraRefusedGuid",
    "CameraSession",
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
    "PTPResponseError",
    "SessionEnded",
    "SessionStarted",
    "SonyPmAltError",
    "StateStore",
    "SyncEvent",
    "SyncOptions",
    "SyncSummary",
    "TransportError",
    "VendorStepFailed",
    "__version__",
    "iter_sync",
    "list_camera",
    "plan",
    "sync",
]
