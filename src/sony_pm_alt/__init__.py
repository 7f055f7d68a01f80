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
    from .engine.camera import Camera as Camera
    from .engine.events import FileDone as FileDone
    from .engine.events import FileFailed as FileFailed
    from .engine.events import FileProgress as FileProgress
    from .engine.events import FileSkipped as FileSkipped
    from .engine.events import FileStarted as FileStarted
    from .engine.events import SessionEnded as SessionEnded
    from .engine.events import SessionStarted as SessionStarted
    from .engine.events import SyncEvent as SyncEvent
    from .engine.events import SyncSummary as SyncSummary
    from .engine.filters import Filters as Filters
    from .engine.listing import Listing as Listing
    from .engine.listing import list_camera as list_camera
    from .engine.model import CameraInfo as CameraInfo
    from .engine.model import CameraObject as CameraObject
    from .engine.model import Kind as Kind
    from .engine.session import CameraSession as CameraSession
    from .engine.state import StateStore as StateStore
    from .engine.sync import SyncOptions as SyncOptions
    from .engine.sync import iter_sync as iter_sync
    from .engine.sync import plan as plan
    from .engine.sync import sync as sync
    from .errors import CameraBusy as CameraBusy
    from .errors import CameraConnectError as CameraConnectError
    from .errors import CameraError as CameraError
    from .errors import CameraRefusedGuid as CameraRefusedGuid
    from .errors import CameraResponseError as CameraResponseError
    from .errors import CameraTimedOut as CameraTimedOut
    from .errors import CameraTransportError as CameraTransportError
    from .errors import DestinationError as DestinationError
    from .errors import DestinationFull as DestinationFull
    from .errors import NativeLayerUnavailable as NativeLayerUnavailable
    from .errors import SonyPmAltError as SonyPmAltError
    from .errors import SyncCancelled as SyncCancelled
    from .errors import VendorStepFailed as VendorStepFailed
    from .identity import Identity as Identity

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
__all__ = ["__version__", *_MODULE_OF]


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
