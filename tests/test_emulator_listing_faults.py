"""The emulator's listing faults: ``folder-cycle``, ``huge-counts``, ``bad-dates`` and
``listing-size-mismatch``. On the wire (decoded with our codec, no sockets) each misbehaves
exactly as documented and nothing else changes; Debian's gphoto2 CLI, a third-party client,
still lists the card under each (what the sync engine makes of them: test_sync_hostile_listing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulator_harness import Driver, open_camera
from emulator_proc import PAIRED_GUID, card_files, gphoto2_cli, gphoto2_home, run, running_emulator
from sony_pm_alt.emulator import (
    Card,
    FaultSpecError,
    build_demo_card,
    parse_faults,
)
from sony_pm_alt.emulator.card import BAD_DATES
from sony_pm_alt.ptpip.codes import ObjectFormat, ObjectPropCode
from sony_pm_alt.ptpip.codes import OperationCode as Op
from sony_pm_alt.ptpip.datasets import ObjectInfo, ObjectPropList, decode_u32_array
from sony_pm_alt.ptpip.errors import ProtocolError

ALL = 0xFFFFFFFF
P = ObjectPropCode


def test_parse_the_listing_faults() -> None:
    faults = parse_faults(
        ["folder-cycle=1", "huge-counts=1", "bad-dates=1", "listing-size-mismatch=-100"]
    )
    assert (faults.folder_cycle, faults.huge_counts, faults.bad_dates) == (True, True, True)
    assert faults.listing_size_mismatch == -100
    assert parse_faults(["listing-size-mismatch=0x10"]).listing_size_mismatch == 16
    with pytest.raises(FaultSpecError, match=r"folder-cycle: expected 1 \(on\) or 0 \(off\)"):
        parse_faults(["folder-cycle=yes"])
    with pytest.raises(FaultSpecError, match="listing-size-mismatch: 'many' is not a number"):
        parse_faults(["listing-size-mismatch=many"])
    with pytest.raises(FaultSpecError, match=r"known: .*bad-dates, listing-size-mismatch"):
        parse_faults(["bad-date=1"])


def object_infos(drive: Driver) -> dict[int, ObjectInfo]:
    handles = decode_u32_array(drive.data(Op.GET_OBJECT_HANDLES, ALL, 0, 0))
    return {h: ObjectInfo.decode(drive.data(Op.GET_OBJECT_INFO, h)) for h in handles}


def bulk_props(drive: Driver) -> dict[int, dict[int, Any]]:
    raw = drive.data(Op.MTP_GET_OBJ_PROP_LIST, ALL, 0, ALL, 0, 0)
    return ObjectPropList.decode(raw).by_handle()


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Card:
    return Card.scan(build_demo_card(tmp_path_factory.mktemp("card"), photos=3))


def test_folder_cycle_loops_the_bulk_listing_and_object_info_keeps_the_truth(card: Card) -> None:
    drive = open_camera(card, folder_cycle=True)
    infos = object_infos(drive)
    dcim = next(h for h, i in infos.items() if i.filename == "DCIM")
    msdcf = next(h for h, i in infos.items() if i.filename == "100MSDCF")
    (fault,) = drive.log.named("fault")
    assert fault == {"kind": "folder_cycle", "folder": dcim, "parent": msdcf}
    props = bulk_props(drive)
    assert props[dcim][P.PARENT_OBJECT] == msdcf  # DCIM → 100MSDCF → DCIM
    assert props[msdcf][P.PARENT_OBJECT] == dcim
    value = drive.data(Op.MTP_GET_OBJECT_PROP_VALUE, dcim, P.PARENT_OBJECT)
    assert int.from_bytes(value, "little") == msdcf
    assert infos[dcim].parent_object == 0  # ObjectInfo is untouched
    clean = bulk_props(open_camera(card))
    assert {h: p for h, p in props.items() if h != dcim} == {
        h: p for h, p in clean.items() if h != dcim
    }


def test_huge_counts_claim_four_billion_elements(card: Card) -> None:
    drive = open_camera(card, huge_counts=True)
    raw = drive.data(Op.MTP_GET_OBJ_PROP_LIST, ALL, 0, ALL, 0, 0)
    assert int.from_bytes(raw[:4], "little") == 0xFFFFFFF0
    with pytest.raises(ProtocolError, match="4294967280 elements"):
        ObjectPropList.decode(raw)
    clean = open_camera(card).data(Op.MTP_GET_OBJ_PROP_LIST, ALL, 0, ALL, 0, 0)
    assert raw[4:] == clean[4:]


def test_bad_dates_date_the_files_only(card: Card) -> None:
    drive = open_camera(card, bad_dates=True)
    infos = object_infos(drive)
    files = sorted(h for h, i in infos.items() if i.object_format != ObjectFormat.ASSOCIATION)
    expected = [BAD_DATES[n % len(BAD_DATES)] for n in range(len(files))]
    assert [infos[h].capture_date for h in files] == expected
    assert [infos[h].modification_date for h in files] == expected
    props = bulk_props(drive)
    assert [props[h][P.DATE_CREATED] for h in files] == expected
    assert all(i.capture_date == "" for h, i in infos.items() if h not in files)


@pytest.mark.parametrize("skew", [100, -100])
def test_listing_size_mismatch_changes_the_listed_size_not_the_data(card: Card, skew: int) -> None:
    drive = open_camera(card, listing_size_mismatch=skew)
    assert drive.log.named("fault") == [{"kind": "listing_size_mismatch", "skew": skew}]
    infos = object_infos(drive)
    props = bulk_props(drive)
    for handle, info in infos.items():
        obj = card.get(handle)
        assert obj is not None
        if obj.is_folder:
            continue
        assert info.compressed_size == obj.size + skew
        assert props[handle][P.OBJECT_SIZE] == obj.size + skew
        assert drive.data(Op.GET_OBJECT, handle) == obj.path.read_bytes()


@pytest.mark.integration
@pytest.mark.parametrize(
    "fault",
    ["folder-cycle=1", "huge-counts=1", "bad-dates=1", "listing-size-mismatch=100"],
)
def test_gphoto2_cli_still_lists_the_card(tmp_path: Path, fault: str) -> None:
    card_dir = build_demo_card(tmp_path / "card", photos=2)
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, "--fault", fault, card=card_dir) as emu:
        base = [gphoto2_cli(), "--port", emu.gphoto2_port, "--camera", "PTP/IP Camera"]
        listing = run([*base, "-L"], env=gphoto2_home(tmp_path), cwd=tmp_path)
        assert listing.returncode == 0, listing.stderr
        # huge-counts only shows in GetObjPropList replies, which gphoto2's listing never asks.
        asked_prop_list = any(
            r["opcode"] == Op.MTP_GET_OBJ_PROP_LIST for r in emu.events("operation")
        )
        assert emu.events("fault") != [] or not asked_prop_list
    for rel in card_files(card_dir):
        assert Path(rel).name in listing.stdout
