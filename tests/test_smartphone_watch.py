"""``watch``'s smartphone side: the camera's SSID appears, the computer joins, imports, returns."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from phone_helpers import fake_nmcli, files_under, phone
from sony_pm_alt.config import load_config
from sony_pm_alt.engine.events import SyncSummary
from sony_pm_alt.smartphone.watch import PhoneWatcher
from sony_pm_alt.watcher import WatchEvent

pytestmark = pytest.mark.integration


def test_watch_imports_when_the_camera_network_appears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_nmcli(
        tmp_path,
        monkeypatch,
        active="Home:802-11-wireless:wlan0",
        visible="Neighbours\nDIRECT-ab12\\:ILCE-7C",
    )
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        '[[camera]]\nmatch = "A7C"\n'
        f"dest = {json.dumps(str(tmp_path / 'out'))}\n"
        'wifi_ssid = "DIRECT-ab12:ILCE-7C"\nwifi_password = "s3cretPW"\n'
        '[[camera]]\nmatch = "other"\nwifi_ssid = "NotVisible"\n'
        f"dest = {json.dumps(str(tmp_path / 'other'))}\n"
    )
    stop = threading.Event()
    events: list[WatchEvent] = []

    def on_event(event: WatchEvent) -> None:
        events.append(event)
        if event.kind in ("finished", "failed"):
            stop.set()

    with phone(shots=2) as emulator:
        watcher = PhoneWatcher(
            load_config(config_path),
            state_path=tmp_path / "state.db",
            on_event=on_event,
            interval=0.05,
            address="127.0.0.1",
            port=emulator.port,
        )
        thread = threading.Thread(target=watcher.run, args=(stop,))
        thread.start()
        finished = stop.wait(60)
        stop.set()
        thread.join(60)
    assert finished
    assert events[0].kind == "found"
    last = events[-1]
    assert last.kind == "finished"
    assert isinstance(last.detail, SyncSummary)
    assert last.detail.transferred == 2
    assert len(files_under(tmp_path / "out")) == 2
    assert not (tmp_path / "other").exists()
    calls = log.read_text().splitlines()
    assert calls[0] == "-t -f SSID device wifi list"
    assert any("wifi connect DIRECT-ab12:ILCE-7C password s3cretPW" in c for c in calls)
    assert calls[-1].endswith("connection up id Home")
