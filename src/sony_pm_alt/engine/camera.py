"""The seam between a sync and the camera, as httpx's transport is for a client.

:func:`~sony_pm_alt.engine.sync.sync` talks to an open :class:`Camera` it gets from an
:data:`Opener`; the real one is :class:`~sony_pm_alt.engine.session.CameraSession` (opened
by :func:`~sony_pm_alt.engine.session.connect`), tests pass a fake (``tests/fakes.py``).
The camera owns its lock: every call that talks to it runs under :meth:`Camera.exclusive`,
which also marks it used, so :class:`KeepAlive` pings only a camera that has been idle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..errors import CameraError

if TYPE_CHECKING:
    from ..profiles import Profile
    from .download import ReadChunk
    from .listing import Listing
    from .model import CameraObject
    from .vendor import StepResult

log = logging.getLogger("sony_pm_alt.camera")


class Unreadable(Exception):
    """This camera and listing cannot read the object in this session; ``str(exc)`` says why
    (it stays on the camera, planned for a later session). Internal to the engine: the sync
    reports it as the file's failure."""


@dataclass(frozen=True)
class Reader:
    """How to read one object: ``read`` runs under the camera's lock. ``resumable`` is false
    for a whole-object read (no partial reads: a partial file is started again). ``probe``,
    when the camera can be asked, tells whether it has a byte past the listed size."""

    read: ReadChunk
    resumable: bool = True
    probe: Callable[[], bool] | None = None


class Camera(Protocol):
    """An open session with a camera, as a sync uses it."""

    @property
    def profile(self) -> Profile: ...

    @property
    def uses_native_layer(self) -> bool: ...

    @property
    def sending_confirmed(self) -> bool:
        """The camera answered OK to the profile's "Sending…" steps."""

    @property
    def power_off_confirmed(self) -> bool:
        """The camera answered OK to every power-off step (after :meth:`close`)."""

    @property
    def end_results(self) -> Sequence[StepResult]: ...

    @property
    def idle_seconds(self) -> float:
        """Seconds since the camera was last used."""

    def exclusive(self) -> AbstractContextManager[None]:
        """The camera's lock; holding it counts as using the camera."""

    def ping(self) -> None:
        """One request the camera must answer; :class:`CameraTransportError` when it does not
        (an answer, even a refusal, means it is still there)."""

    def list(self, *, bulk: bool) -> Listing: ...

    def reader(self, obj: CameraObject, listing: Listing) -> Reader:
        """How to read ``obj``; :class:`Unreadable` when it cannot be read in this session."""

    def close(self, *, power_off: bool) -> None:
        """End the session: the profile's end steps only with ``power_off``."""


Opener = Callable[[], Camera]
"""Opens the camera for a sync (retrying as it sees fit); raises a ``CameraError``."""


class KeepAlive:
    """Pings the camera when it has been idle for ``interval`` seconds, so that slow disks or
    hooks do not let the camera's idle timer end the session."""

    def __init__(self, camera: Camera, interval: float) -> None:
        self._camera = camera
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sony-pm-alt-keepalive", daemon=True)
        self.pings = 0

    def __enter__(self) -> KeepAlive:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(min(self._interval / 4, 5.0)):
            if self._camera.idle_seconds < self._interval:
                continue
            try:
                self._camera.ping()
            except CameraError as exc:  # the next real request reports it, with context
                log.debug("the camera did not answer the keep-alive: %s", exc)
            else:
                self.pings += 1
