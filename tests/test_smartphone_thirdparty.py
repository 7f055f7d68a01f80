"""The smartphone emulator, checked with a UPnP client we did not write (``upnpclient``),
following the request sequence of docs/smartphone.md: description, X_TransferStart, Browse
PushRoot page by page, GET of the largest res, X_TransferEnd ErrCode 0."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import upnpclient

from sony_pm_alt.emulator.process import spawn_emulator

pytestmark = pytest.mark.integration

DIDL = "{urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/}"
DC = "{http://purl.org/dc/elements/1.1/}"


def upnpclient_requests() -> Any:
    import requests

    return requests


def _browse(device: upnpclient.Device, object_id: str) -> list[ElementTree.Element]:
    children: list[ElementTree.Element] = []
    start, total = 0, 1
    while start < total:
        answer = device.ContentDirectory.Browse(
            ObjectID=object_id, BrowseFlag="BrowseDirectChildren", Filter="*",
            StartingIndex=start, RequestedCount=3, SortCriteria="",
        )  # fmt: skip
        total = int(answer["TotalMatches"])
        start += int(answer["NumberReturned"])
        children.extend(ElementTree.fromstring(answer["Result"]))
    return children


def test_upnpclient_browses_and_downloads(tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    (card / "DSC00001.JPG").write_bytes(b"\xff\xd8original one\xff\xd9")
    (card / "DSC00002.ARW").write_bytes(b"raw data")
    args = ["--smartphone", "--port", "0", "--page-size", "2", "--card", str(card)]
    with spawn_emulator(args, log_path=tmp_path / "emu.jsonl") as emu:
        device = upnpclient.Device(f"http://127.0.0.1:{emu.port}/DmsDescPush.xml")
        assert device.manufacturer == "Sony Corporation"
        device.XPushList.X_TransferStart()
        items = []
        for container in _browse(device, "PushRoot"):
            assert container.tag == f"{DIDL}container"
            items += _browse(device, container.attrib["id"])
        titles = sorted(item.findtext(f"{DC}title") or "" for item in items)
        assert titles == ["DSC00001.JPG", "DSC00002.ARW"]
        for item in items:
            sized = [r for r in item.findall(f"{DIDL}res") if r.get("size")]
            if item.findtext(f"{DC}title") == "DSC00002.ARW":
                assert sized == []  # RAW: no original in this mode
                continue
            original = max(sized, key=lambda r: int(r.attrib["size"]))
            assert original.text is not None
            # requests, as upnpclient itself uses, for the file too.
            answer = upnpclient_requests().get(original.text, timeout=10)
            assert answer.content == (card / "DSC00001.JPG").read_bytes()
            assert int(answer.headers["Content-Length"]) == int(original.attrib["size"])
        device.XPushList.X_TransferEnd(ErrCode=0)
        modes = [(e["screen"], e.get("err_code")) for e in emu.events("phone_mode")]
        assert modes == [("Transferring", None), ("left", "0")]
