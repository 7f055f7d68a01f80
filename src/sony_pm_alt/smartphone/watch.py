"""``watch`` for bodies with only "Send to Smartphone": when a configured camera's SSID is
visible, join it, import, go back (``docs/smartphone.md``, "Joining the camera's Wi-Fi").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

from ..discovery import DiscoveredCamera
from ..engine.events import SyncEvent
from ..engine.state import StateStore
from ..errors import SonyPmAltError
from ..settings import CameraSettings, Settings
from ..watcher import WatchEvent
from .client import DEFAULT_ADDRESS, DEFAULT_PORT
from .sync import PhoneOptions, phone_sync
from .wifi import joined, nmcli, split_terse

log = logging.getLogger("sony_pm_alt.smartphone.watch")

SCAN_INTERVAL = 30.0  # the camera waits for its phone far longer than this


def visible_ssids() -> set[str]:
    out = nmcli("-t", "-f", "SSID", "device", "wifi", "list")
    return {fields[0] for line in out.splitlines() if (fields := split_terse(line))[0]}


def phone_cameras(config: Settings) -> list[tuple[str, CameraSettings]]:
    return [(m, s) for m, s in config.cameras if s.wifi_ssid and s.dest is not None]


@dataclass
class PhoneWatcher:
    config: Settings
    _: KW_ONLY
    state_path: Path
    on_event: Callable[[WatchEvent], None]
    interval: float = SCAN_INTERVAL
    address: str = DEFAULT_ADDRESS
    port: int = DEFAULT_PORT

    def run(self, stop: threading.Event) -> None:
        """Scan and import until ``stop`` is set (checked between files of an import too)."""
        last: dict[str, float] = {}  # when each camera was last attempted
        while not stop.is_set():
            try:
                visible = visible_ssids()
            except SonyPmAltError as exc:
                log.warning("cannot list Wi-Fi networks: %s", exc)
                visible = set()
            for match, settings in phone_cameras(self.config):
                since = time.monotonic() - last.get(match, float("-inf"))
                cooldown = self.config.discovery.cooldown
                if stop.is_set() or settings.wifi_ssid not in visible or since < cooldown:
                    continue
                self._import(match, settings, stop)
                last[match] = time.monotonic()
            stop.wait(self.interval)

    def _import(self, match: str, settings: CameraSettings, stop: threading.Event) -> None:
        assert settings.wifi_ssid is not None
        assert settings.dest is not None
        camera = DiscoveredCamera(
            host=self.address, location="", udn="", serial=match,
            model=f"Wi-Fi {settings.wifi_ssid}", friendly_name=match, manufacturer="",
        )  # fmt: skip
        self.on_event(WatchEvent("found", camera))
        options = PhoneOptions(dest=settings.dest, template=settings.template, hook=settings.hook)

        def relay(event: SyncEvent) -> None:
            self.on_event(WatchEvent("sync", camera, event))

        try:
            with (
                joined(settings.wifi_ssid, settings.wifi_password),
                StateStore(self.state_path) as store,
            ):
                result = phone_sync(
                    self.address, port=self.port, options=options, state=store,
                    on_event=relay, cancel=stop,
                )  # fmt: skip
        except SonyPmAltError as exc:
            self.on_event(WatchEvent("failed", camera, str(exc)))
            return
        self.on_event(WatchEvent("finished", camera, result.summary))


def start_phone_watcher(
    config: Settings,
    state_path: Path,
    on_event: Callable[[WatchEvent], None],
    stop: threading.Event,
) -> threading.Thread | None:
    """A thread running :class:`PhoneWatcher` when some camera is configured for it."""
    if not phone_cameras(config):
        return None
    watcher = PhoneWatcher(config, state_path=state_path, on_event=on_event)
    thread = threading.Thread(target=watcher.run, args=(stop,), name="sony-pm-alt-phone")
    thread.start()
    return thread
