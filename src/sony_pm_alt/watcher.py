"""The main job: discovery → one worker per camera → sync, for as long as it runs.

Each camera (by UDN) has at most one session at a time. After a session ends, announcements
from that camera are ignored for the cooldown: a camera keeps announcing for a moment after
it powers off, and the original tool re-downloaded on every stray NOTIFY.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .discovery import DiscoveredCamera, Discovery, DiscoveryConfig
from .engine.events import SessionEnded, SyncEvent, SyncSummary
from .engine.state import StateStore
from .engine.sync import SyncCancelled, sync
from .errors import SonyPmAltError
from .identity import GUID_HOWTO, NO_GUID
from .ptpip.codes import PTPIP_PORT
from .settings import CameraSettings, Settings, shared

log = logging.getLogger("sony_pm_alt.watch")

# A worker stops after its current chunk (at most 1 MiB): well within this.
STOP_JOIN_TIMEOUT = 60.0


WatchKind = Literal[
    "found", "ignored", "started", "sync", "finished", "failed", "cancelled", "stopped", "ftp"
]


@dataclass(frozen=True)
class WatchEvent:
    """What the watcher reports: ``kind`` says what happened, ``camera`` the camera concerned,
    ``detail`` a sync event ("sync"), a summary ("finished"), a reason ("ignored", "failed",
    "cancelled") or the FTP receiver's (host, port, TLS note) ("ftp"). console.records turns
    each into its JSON record."""

    kind: WatchKind
    camera: DiscoveredCamera | None = None
    detail: object = None


class Watcher:
    def __init__(
        self,
        config: Settings,
        *,
        state_path: Path,
        on_event: Callable[[WatchEvent], None] | None = None,
        ptpip_port: int = PTPIP_PORT,
        once: bool = False,
    ) -> None:
        self.config = config
        self._state_path = state_path
        self._emit = on_event or (lambda event: None)
        self._port = ptpip_port
        self._once = once
        self._lock = threading.Lock()
        self._workers: dict[str, threading.Thread] = {}
        self._finished_at: dict[str, float] = {}
        self._stop = threading.Event()
        self.done = threading.Event()  # with once=True: set after the first session ended
        discovery = DiscoveryConfig(**shared(config.discovery, DiscoveryConfig))
        self._discovery = Discovery(discovery, self._on_camera)

    def run(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set (or, with ``once``, until one session ended); with
        ``[ftp] enabled``, the FTP receiver runs alongside."""
        receiver = self._start_ftp()
        try:
            self._discovery.start()
        except BaseException:
            if receiver is not None:
                receiver.stop()
            raise
        try:
            while not stop.wait(0.2):
                if self._once and self.done.is_set():
                    break
        finally:
            self._stop.set()
            if receiver is not None:
                receiver.stop()
                self._ftp_store.close()
            self._discovery.stop()
            with self._lock:
                workers = list(self._workers.values())
            for worker in workers:
                worker.join(STOP_JOIN_TIMEOUT)
            self._emit(WatchEvent("stopped"))

    def _start_ftp(self) -> Any:
        """The running FTP receiver, or None when [ftp] is not enabled."""
        if not self.config.ftp.enabled:
            return None
        from .ftp.server import FtpReceiver
        from .ftp.settings import accounts, receiver_settings

        settings, note = receiver_settings(self.config.ftp, accounts(self.config))
        store = StateStore(self._state_path)

        def relay(link: Any, event: SyncEvent) -> None:
            camera = DiscoveredCamera(link.peer, "", "", link.camera.serial,
                                      f"FTP {link.account.user}", link.account.user,
                                      link.camera.manufacturer)  # fmt: skip
            if isinstance(event, SessionEnded):
                self._emit(WatchEvent("finished", camera, event.summary))
            else:
                self._emit(WatchEvent("sync", camera, event))

        try:
            receiver = FtpReceiver(settings, store, on_link_event=relay).start()
        except BaseException:
            store.close()
            raise
        self._ftp_store = store
        host, port = receiver.address
        self._emit(WatchEvent("ftp", None, (host, port, note)))
        return receiver

    def _on_camera(self, camera: DiscoveredCamera) -> None:
        key = camera.udn or camera.host
        with self._lock:
            if self._stop.is_set():
                return
            if key in self._workers:
                return  # a session with this camera is running
            since = time.monotonic() - self._finished_at.get(key, float("-inf"))
            if since < self.config.discovery.cooldown:
                log.info("%s at %s announced again %.0f s after its session; within the "
                         "cooldown, ignored", camera.model, camera.host, since)  # fmt: skip
                self._emit(WatchEvent("ignored", camera, "cooldown"))
                return
            worker = threading.Thread(target=self._session, args=(key, camera),
                                      name=f"sony-pm-alt-{camera.host}", daemon=True)  # fmt: skip
            self._workers[key] = worker
        self._emit(WatchEvent("found", camera))
        worker.start()

    def _session(self, key: str, camera: DiscoveredCamera) -> None:
        try:
            settings = self.config.for_camera(camera.serial, camera.udn)
            summary = self._sync(camera, settings)
            self._emit(WatchEvent("finished", camera, summary))
        except SyncCancelled as exc:  # SIGINT/SIGTERM: a clean stop, resumed next time
            self._emit(WatchEvent("cancelled", camera, str(exc)))
        except SonyPmAltError as exc:  # reported by the event alone: no second log line
            self._emit(WatchEvent("failed", camera, str(exc)))
        except Exception as exc:  # a worker must never take the daemon down
            log.exception("%s at %s: unexpected error", camera.model, camera.host)
            self._emit(WatchEvent("failed", camera, f"unexpected error: {exc}"))
        finally:
            with self._lock:
                self._finished_at[key] = time.monotonic()
                del self._workers[key]
            self._discovery.forget(camera.host)
            self.done.set()

    def _sync(self, camera: DiscoveredCamera, settings: CameraSettings) -> SyncSummary:
        identity = settings.identity()
        if identity is None:
            raise SonyPmAltError(f"{NO_GUID} for {camera.model} ({camera.serial}): {GUID_HOWTO}")
        if settings.dest is None:
            raise SonyPmAltError(
                f"no destination for {camera.model} ({camera.serial}): set --dest, "
                "SONY_PM_ALT_DEST or dest in the config file"
            )
        options = settings.sync_options(settings.dest)
        self._emit(WatchEvent("started", camera))

        def relay(event: SyncEvent) -> None:
            self._emit(WatchEvent("sync", camera, event))

        with StateStore(self._state_path) as store:
            return sync(camera.host, port=self._port, identity=identity, options=options,
                        state=store, on_event=relay, cancel=self._stop)  # fmt: skip
