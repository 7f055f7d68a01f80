"""The emulated Sony body without sockets: :class:`Camera`, :class:`Card`, :class:`BodyConfig`,
fault specs and the demo card.

Facts pinned here come from ``docs/protocol.md`` (§4.3 TIDs, §5 identity, §6 GUIDs, §8
DeviceInfo, §9 session rules, §10 vendor operations, §12 datasets, §13 downloads).
"""

from __future__ import annotations

import os
import struct
from datetime import datetime
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator_harness import Driver, Log, data_of, handle_of, make_camera, open_camera
from golden import POWER_OFF, SENDING, SETTER_GUID
from sony_pm_alt.emulator import (
    BodyConfig,
    Card,
    FaultSpecError,
    Screen,
    build_demo_card,
    format_guid,
    parse_faults,
    parse_guid,
)
from sony_pm_alt.emulator.body import SONY_OPERATIONS, parse_mac
from sony_pm_alt.emulator.camera import SONY_BLOB_SIZE, InitDecision
from sony_pm_alt.emulator.card import FORMAT_BY_EXTENSION, HANDLE_BASE, CardObject
from sony_pm_alt.emulator.demo import DEMO_START
from sony_pm_alt.emulator.faults import Faults
from sony_pm_alt.ptpip.codes import (
    AccessCapability,
    AssociationType,
    DataType,
    DevicePropCode,
    EventCode,
    FilesystemType,
    ObjectFormat,
    ObjectPropCode,
    ResponseCode,
    StorageType,
)
from sony_pm_alt.ptpip.codes import OperationCode as Op
from sony_pm_alt.ptpip.datasets import (
    DeviceInfo,
    DevicePropDesc,
    ObjectInfo,
    ObjectPropList,
    StorageInfo,
    decode_u16_array,
    decode_u32_array,
)
from sony_pm_alt.ptpip.primitives import Reader, encode_string

GUID = SETTER_GUID
OTHER_GUID = bytes.fromhex("0000000000000000ffff080027f5164f")
STORAGE = 0x00010001
ALL = 0xFFFFFFFF
ROOT = 0xFFFFFFFF
# docs/protocol.md §10: the "cancelled" 0x9280 (selector 4) payload (SENDING, POWER_OFF: golden.py).
CANCEL = bytes.fromhex("00000000 04000000 00000000 00000000 020000")
# Modification times set on the test card (naive = local, as the camera's clock).
SHOT_1 = datetime(2024, 5, 1, 10, 7, 0)
SHOT_2 = datetime(2024, 5, 1, 10, 14, 30)
CLIP = datetime(2024, 5, 2, 18, 0, 5)


# --- helpers ------------------------------------------------------------------------------------


def screen(drive: Driver) -> Screen:
    """The camera's screen (a call, so that mypy does not keep an earlier narrowing)."""
    return drive.camera.screen


def stamp(path: Path, when: datetime) -> None:
    ts = when.timestamp()
    os.utime(path, (ts, ts))


def pattern(size: int, seed: int) -> bytes:
    """Distinct, position-dependent bytes, so an off-by-one range shows."""
    return bytes((i * 7 + seed) % 251 for i in range(size))


@pytest.fixture
def card_dir(tmp_path: Path) -> Path:
    """A card as a Sony body shows it over MTP: date folders at the root (docs/protocol.md §8)."""
    root = tmp_path / "card"
    day1, day2, empty = root / "2024-05-01", root / "2024-05-02", root / "EMPTY"
    for folder in (day1, day2, empty):
        folder.mkdir(parents=True)
    (day1 / "DSC00001.JPG").write_bytes(pattern(5000, 1))
    (day1 / "DSC00002.ARW").write_bytes(pattern(700, 2))
    (day2 / "C0001.MP4").write_bytes(pattern(1234, 3))
    stamp(day1 / "DSC00001.JPG", SHOT_1)
    stamp(day1 / "DSC00002.ARW", SHOT_2)
    stamp(day2 / "C0001.MP4", CLIP)
    return root


@pytest.fixture
def card(card_dir: Path) -> Card:
    return Card.scan(card_dir)


# --- BodyConfig: identity, DeviceInfo, StorageInfo ----------------------------------------------


def test_camera_guid_is_eight_zero_bytes_ffff_and_the_mac() -> None:
    body = BodyConfig(mac=bytes.fromhex("d8c46a9769b4"))
    # The ILCE-5000's Init Command Ack GUID (docs/protocol.md §5).
    assert body.guid == bytes.fromhex("0000000000000000ffffd8c46a9769b4")
    assert len(BodyConfig().guid) == 16
    assert BodyConfig().guid[:10] == bytes(8) + b"\xff\xff"


def test_device_info_is_that_of_a_body_in_send_to_computer_mode() -> None:
    body = BodyConfig(model="ILCE-5000", serial_number="00000000000000003282651203392641")
    info = DeviceInfo.decode(body.device_info().encode())
    assert info.standard_version == 100
    assert info.vendor_extension_id == 0xFFFFFFFF  # MTP, not Sony's 0x11
    assert info.vendor_extension_version == 100
    assert info.vendor_extension_desc == ""
    assert info.functional_mode == 0
    assert info.manufacturer == "Sony Corporation"  # exactly: gphoto2 keys on it
    assert info.model == "ILCE-5000"
    assert info.device_version == "1.0"
    assert info.serial_number == "00000000000000003282651203392641"
    ops = info.operations_supported
    for code in (0x9280, 0x9281, 0x9805, 0x1001, 0x1002, 0x1003, 0x1004, 0x1007, 0x1008, 0x1009):
        assert code in ops
    assert 0x101B in ops  # gphoto2 downloads files > 1 MiB with GetPartialObject
    assert 0x9202 not in ops  # would start gphoto2's PC-Remote handshake (§8)
    assert ops[:3] == (0x1002, 0x1003, 0x1001)  # the order of the real dumps
    assert info.events_supported == (
        EventCode.STORE_ADDED,
        EventCode.STORE_REMOVED,
        EventCode.DEVICE_PROP_CHANGED,
    )
    assert set(info.device_properties_supported) == {0x5001, 0xD402, 0xD406, 0xD407, 0xD303}
    assert info.capture_formats == ()
    assert ObjectFormat.EXIF_JPEG in info.image_formats
    assert ObjectFormat.SONY_ARW in info.image_formats
    assert ObjectFormat.MTP_MP4 in info.image_formats


def test_model_is_configurable() -> None:
    assert BodyConfig(model="DSC-RX100M6").device_info().model == "DSC-RX100M6"
    assert BodyConfig().manufacturer == "Sony Corporation"


def test_without_operations_removes_them_from_device_info(card: Card) -> None:
    body = BodyConfig(without_operations=frozenset({Op.MTP_GET_OBJ_PROP_LIST}))
    assert 0x9805 not in body.device_info().operations_supported
    assert not body.supports(0x9805)
    assert body.operations == tuple(op for op in SONY_OPERATIONS if op != 0x9805)
    drive = open_camera(card, body=body)
    assert drive(Op.MTP_GET_OBJ_PROP_LIST, ALL, 0, ALL, 0, 0).code == (
        ResponseCode.OPERATION_NOT_SUPPORTED
    )
    assert drive(Op.GET_STORAGE_IDS).code == ResponseCode.OK


def test_storage_info_is_a_read_only_removable_card() -> None:
    info = StorageInfo.decode(BodyConfig().storage_info().encode())
    assert info.storage_type == StorageType.REMOVABLE_RAM
    assert info.filesystem_type == FilesystemType.GENERIC_HIERARCHICAL
    assert info.access_capability == AccessCapability.READ_ONLY
    assert (info.max_capacity, info.free_space_bytes) == (0, 0)
    assert info.free_space_images == 0xFFFFFFFF
    assert info.description == "Storage Media"
    assert info.volume_label == ""


@pytest.mark.parametrize(
    "text",
    [
        "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a",
        "ffff525400b6fda9ffff523c2807a93a",
        "FFFF5254-00B6-FDA9-FFFF-523C2807A93A",
        "  ff ff 52 54 00 b6 fd a9 ff ff 52 3c 28 07 a9 3a\n",
    ],
)
def test_parse_guid_accepts_the_usual_spellings(text: str) -> None:
    assert parse_guid(text) == GUID


@pytest.mark.parametrize("text", ["", "ff:ff", "zz" * 16, "ff" * 17, "ff" * 15 + "f"])
def test_parse_guid_rejects_anything_but_16_bytes(text: str) -> None:
    with pytest.raises(ValueError, match="is not 16 bytes of hex"):
        parse_guid(text)


def test_format_guid_round_trips() -> None:
    assert format_guid(GUID) == "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
    assert parse_guid(format_guid(OTHER_GUID)) == OTHER_GUID


def test_parse_mac() -> None:
    assert parse_mac("d8:c4:6a:97:69:b4") == bytes.fromhex("d8c46a9769b4")
    assert parse_mac("d8-c4-6a-97-69-b4") == bytes.fromhex("d8c46a9769b4")
    with pytest.raises(ValueError, match="not 6 bytes"):
        parse_mac("d8:c4:6a")


# --- Card ----------------------------------------------------------------------------------------


def test_scan_gives_sony_style_handles_in_name_order(card: Card) -> None:
    listing = [(o.handle, o.parent, o.name, o.is_folder) for o in card]
    day1, day2 = HANDLE_BASE, HANDLE_BASE + 3
    assert listing == [
        (day1, 0, "2024-05-01", True),
        (day1 + 1, day1, "DSC00001.JPG", False),
        (day1 + 2, day1, "DSC00002.ARW", False),
        (day2, 0, "2024-05-02", True),
        (day2 + 1, day2, "C0001.MP4", False),
        (HANDLE_BASE + 5, 0, "EMPTY", True),
    ]
    assert len(card) == 6
    assert HANDLE_BASE == 0x00040000  # handles as in a real RX100M6 log


def test_children_and_subtree(card: Card) -> None:
    assert [o.name for o in card.children(0)] == ["2024-05-01", "2024-05-02", "EMPTY"]
    assert [o.name for o in card.children(HANDLE_BASE)] == ["DSC00001.JPG", "DSC00002.ARW"]
    assert card.children(HANDLE_BASE + 5) == []
    # Parents before children, depth first, in name order.
    assert [o.name for o in card.subtree(0)] == [o.name for o in card]
    assert [o.name for o in card.subtree(HANDLE_BASE + 3)] == ["C0001.MP4"]
    assert card.get(0x12345678) is None


def test_card_objects_carry_format_size_and_date(card: Card) -> None:
    jpg = card.get(handle_of(card, "DSC00001.JPG"))
    arw = card.get(handle_of(card, "DSC00002.ARW"))
    mp4 = card.get(handle_of(card, "C0001.MP4"))
    folder = card.get(HANDLE_BASE)
    assert jpg is not None
    assert arw is not None
    assert mp4 is not None
    assert folder is not None
    assert (jpg.object_format, jpg.size, jpg.capture_date) == (0x3801, 5000, "20240501T100700")
    assert (arw.object_format, arw.size, arw.capture_date) == (0xB101, 700, "20240501T101430")
    assert (mp4.object_format, mp4.size, mp4.capture_date) == (0xB982, 1234, "20240502T180005")
    assert (folder.object_format, folder.size, folder.capture_date) == (0x3001, 0, "")


def test_unknown_extensions_are_undefined_objects(tmp_path: Path) -> None:
    (tmp_path / "notes.bin").write_bytes(b"x")
    (tmp_path / "lower.jpg").write_bytes(b"x")
    card = Card.scan(tmp_path)
    formats = {o.name: o.object_format for o in card}
    assert formats == {"lower.jpg": ObjectFormat.EXIF_JPEG, "notes.bin": ObjectFormat.UNDEFINED}


@given(st.text(st.sampled_from("aJ.pgGx"), min_size=1, max_size=8))
def test_formats_follow_the_extension_as_path_suffix_reads_it(name: str) -> None:
    obj = CardObject(HANDLE_BASE, 0, name, f"/card/{name}", False, 1, 0.0)
    suffix = PurePosixPath(f"/card/{name}").suffix.lower()
    assert obj.object_format == FORMAT_BY_EXTENSION.get(suffix, ObjectFormat.UNDEFINED)


def test_scan_skips_symlinks_special_files_and_unrepresentable_names(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "SECRET.JPG").write_bytes(b"not on the card")
    root = tmp_path / "card"
    dcim = root / "DCIM"
    dcim.mkdir(parents=True)
    (dcim / "DSC00001.JPG").write_bytes(b"jpeg")
    (dcim / "LINK.JPG").symlink_to(dcim / "DSC00001.JPG")  # a link to a file on the card
    (root / "ESCAPE").symlink_to(outside, target_is_directory=True)  # a link out of the card
    (dcim / "DANGLING.JPG").symlink_to(tmp_path / "missing")
    os.mkfifo(dcim / "PIPE")
    # A name whose bytes are not UTF-8 arrives as surrogate escapes: no UTF-16 for it.
    bad = os.fsencode(dcim) + b"/DSC\xff0002.JPG"
    with open(bad, "wb") as f:
        f.write(b"x")
    (dcim / ("A" * 255)).write_bytes(b"x")  # 255 units: one more than a PTP String holds
    longest = "B" * 254
    (dcim / longest).write_bytes(b"x")

    card = Card.scan(root)

    assert sorted(o.name for o in card) == sorted(["DCIM", "DSC00001.JPG", longest])
    assert all(o.path.is_relative_to(root.resolve()) for o in card)
    assert "ESCAPE" not in {o.name for o in card}


def test_scan_of_a_missing_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Card.scan(tmp_path / "nope")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        Card.scan(tmp_path / "file")


# --- Camera: initiators and the session ----------------------------------------------------------


def test_allow_list_accepts_a_listed_guid_once_and_then_ignores_everyone(card: Card) -> None:
    camera = make_camera(card, body=BodyConfig(allowed_guids=frozenset({GUID})))
    assert camera.check_initiator(OTHER_GUID, "intruder") is InitDecision.REJECT
    assert not camera.session_used  # a refused initiator does not use up the activation
    assert camera.check_initiator(GUID, "linux") is InitDecision.ACCEPT
    assert camera.initiator_name == "linux"
    # One session per activation (docs/protocol.md §9): even the paired host is ignored now.
    assert camera.check_initiator(GUID, "linux") is InitDecision.IGNORE
    assert camera.check_initiator(OTHER_GUID, "intruder") is InitDecision.IGNORE


def test_without_allow_list_any_guid_is_accepted(card: Card) -> None:
    assert make_camera(card).check_initiator(OTHER_GUID, "x") is InitDecision.ACCEPT
    assert make_camera(card).check_initiator(bytes(16), "x") is InitDecision.ACCEPT


def test_only_get_device_info_works_before_open_session(card: Card) -> None:
    drive = Driver(make_camera(card))
    info = drive.ok(Op.GET_DEVICE_INFO)
    assert DeviceInfo.decode(data_of(info)).manufacturer == "Sony Corporation"
    h = handle_of(card, "DSC00001.JPG")
    for code, params in [
        (Op.GET_STORAGE_IDS, ()),
        (Op.GET_STORAGE_INFO, (STORAGE,)),
        (Op.GET_OBJECT_HANDLES, (STORAGE, 0, ROOT)),
        (Op.GET_OBJECT_INFO, (h,)),
        (Op.GET_OBJECT, (h,)),
        (Op.CLOSE_SESSION, ()),
        (Op.SONY_GET_REQUEST, (4,)),
    ]:
        assert drive(code, *params).code == ResponseCode.SESSION_NOT_OPEN, hex(code)
    assert drive(Op.SONY_SET_REQUEST, 4, data=SENDING).code == ResponseCode.SESSION_NOT_OPEN


def test_open_session_twice_is_session_already_open(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log)
    again = drive(Op.OPEN_SESSION, 1)
    assert again.code == ResponseCode.SESSION_ALREADY_OPEN
    assert again.params == (1,)
    assert log.named("session_start") == [{"session_id": 1, "initiator": ""}]


def test_open_session_needs_a_nonzero_session_id(card: Card) -> None:
    drive = Driver(make_camera(card))
    assert drive(Op.OPEN_SESSION, 0).code == ResponseCode.INVALID_PARAMETER
    assert drive(Op.OPEN_SESSION).code == ResponseCode.INVALID_PARAMETER
    assert drive(Op.OPEN_SESSION, 7).code == ResponseCode.OK


def test_close_session_ends_the_session(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log)
    drive.ok(Op.CLOSE_SESSION)
    assert log.named("session_end") == [{"session_id": 1}]
    assert drive(Op.GET_STORAGE_IDS).code == ResponseCode.SESSION_NOT_OPEN


def test_strict_tids_refuse_a_skipped_transaction_id(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log)
    drive.ok(Op.GET_DEVICE_INFO)  # TID 1
    skipped = drive(Op.GET_STORAGE_IDS, tid=3)
    assert skipped.code == ResponseCode.INVALID_TRANSACTION_ID
    assert log.named("tid_mismatch") == [
        {"opcode": Op.GET_STORAGE_IDS, "tid": 3, "problems": ["request TID 3, expected 2"]}
    ]
    assert drive(Op.GET_STORAGE_IDS).code == ResponseCode.OK  # TID 4 follows 3


def test_lenient_tids_answer_and_record_the_mismatch(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log, strict_tids=False)
    reply = drive(Op.GET_STORAGE_IDS, tid=17)  # PlayMemories-style fixed TIDs
    assert reply.code == ResponseCode.OK
    assert decode_u32_array(data_of(reply)) == (STORAGE,)
    (mismatch,) = log.named("tid_mismatch")
    assert mismatch["tid"] == 17


def test_a_data_phase_under_another_tid_is_a_mismatch(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log)
    reply = drive(Op.SONY_SET_REQUEST, 4, data=SENDING, data_tid=99)
    assert reply.code == ResponseCode.INVALID_TRANSACTION_ID
    assert log.named("tid_mismatch")[0]["problems"] == ["data phase labelled TID 99"]
    lenient = open_camera(card, Log(), strict_tids=False)
    assert lenient(Op.SONY_SET_REQUEST, 4, data=SENDING, data_tid=99).code == ResponseCode.OK


def test_close_session_accepts_any_tid(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log)
    assert drive(Op.CLOSE_SESSION, tid=0).code == ResponseCode.OK  # Leica-style
    assert log.named("tid_mismatch") == []


# --- Camera: storage and listing ----------------------------------------------------------------


def test_storage_ids_and_storage_info(card: Card) -> None:
    drive = open_camera(card)
    assert decode_u32_array(data_of(drive.ok(Op.GET_STORAGE_IDS))) == (0x00010001,)
    info = StorageInfo.decode(data_of(drive.ok(Op.GET_STORAGE_INFO, STORAGE)))
    assert info.description == "Storage Media"
    assert drive(Op.GET_STORAGE_INFO, 0x00020001).code == ResponseCode.INVALID_STORAGE_ID
    assert drive(Op.GET_STORAGE_INFO).code == ResponseCode.INVALID_STORAGE_ID


@pytest.mark.parametrize("code", [Op.GET_OBJECT_HANDLES, Op.GET_NUM_OBJECTS])
@pytest.mark.parametrize("params", [(), (STORAGE,), (STORAGE, 0)])
def test_listing_needs_all_three_parameters(card: Card, code: int, params: tuple[int, ...]) -> None:
    assert open_camera(card)(code, *params).code == ResponseCode.PARAMETER_NOT_SUPPORTED


def handles(drive: Driver, *params: int) -> tuple[int, ...]:
    return decode_u32_array(data_of(drive.ok(Op.GET_OBJECT_HANDLES, *params)))


def test_object_handles_root_all_and_folder(card: Card) -> None:
    drive = open_camera(card)
    everything = tuple(o.handle for o in card)
    root = tuple(o.handle for o in card.children(0))
    day1 = handle_of(card, "2024-05-01")
    for storage in (STORAGE, ALL):
        assert handles(drive, storage, 0, ROOT) == root
        assert handles(drive, storage, 0, 0) == everything
        assert handles(drive, storage, 0, day1) == (day1 + 1, day1 + 2)
    assert handles(drive, STORAGE, 0, handle_of(card, "EMPTY")) == ()
    assert handles(drive, STORAGE, ObjectFormat.SONY_ARW, 0) == (day1 + 2,)
    assert handles(drive, STORAGE, ObjectFormat.ASSOCIATION, ROOT) == root


def test_object_handles_errors(card: Card) -> None:
    drive = open_camera(card)
    jpg = handle_of(card, "DSC00001.JPG")
    assert drive(Op.GET_OBJECT_HANDLES, 0x00020001, 0, ROOT).code == (
        ResponseCode.INVALID_STORAGE_ID
    )
    assert drive(Op.GET_OBJECT_HANDLES, STORAGE, 0, 0x0BADBAD0).code == (
        ResponseCode.INVALID_OBJECT_HANDLE
    )
    assert drive(Op.GET_OBJECT_HANDLES, STORAGE, 0, jpg).code == (
        ResponseCode.INVALID_PARENT_OBJECT
    )


def test_num_objects_counts_what_handles_list(card: Card) -> None:
    drive = open_camera(card)
    day2 = handle_of(card, "2024-05-02")
    for parent, count in [(ROOT, 3), (0, 6), (day2, 1)]:
        reply = drive.ok(Op.GET_NUM_OBJECTS, STORAGE, 0, parent)
        assert reply.params == (count,)
        assert reply.data is None  # the count comes in Param1, no data phase
        assert len(handles(drive, STORAGE, 0, parent)) == count


def object_info(drive: Driver, handle: int) -> ObjectInfo:
    return ObjectInfo.decode(data_of(drive.ok(Op.GET_OBJECT_INFO, handle)))


def test_object_info_of_a_file(card: Card) -> None:
    drive = open_camera(card)
    day1 = handle_of(card, "2024-05-01")
    info = object_info(drive, handle_of(card, "DSC00002.ARW"))
    assert info.storage_id == STORAGE
    assert info.object_format == ObjectFormat.SONY_ARW
    assert info.protection_status == 0
    assert info.compressed_size == 700
    assert info.parent_object == day1
    assert info.association_type == AssociationType.NONE
    assert info.filename == "DSC00002.ARW"
    assert info.capture_date == "20240501T101430"
    assert info.modification_date == "20240501T101430"
    assert info.thumb_format == 0


def test_object_info_of_a_folder(card: Card) -> None:
    drive = open_camera(card)
    info = object_info(drive, handle_of(card, "2024-05-02"))
    assert info.object_format == ObjectFormat.ASSOCIATION
    assert info.association_type == AssociationType.GENERIC_FOLDER
    assert info.compressed_size == 0
    assert info.parent_object == 0  # root
    assert info.filename == "2024-05-02"
    assert (info.capture_date, info.modification_date) == ("", "")  # Sony folders have none


def test_object_info_of_an_unknown_handle(card: Card) -> None:
    assert open_camera(card)(Op.GET_OBJECT_INFO, 0x0BADBAD0).code == (
        ResponseCode.INVALID_OBJECT_HANDLE
    )


# --- Camera: downloads -----------------------------------------------------------------------


def test_get_object_is_the_whole_file(card_dir: Path, card: Card) -> None:
    drive = open_camera(card)
    for name, path in [
        ("DSC00001.JPG", card_dir / "2024-05-01" / "DSC00001.JPG"),
        ("C0001.MP4", card_dir / "2024-05-02" / "C0001.MP4"),
    ]:
        assert data_of(drive.ok(Op.GET_OBJECT, handle_of(card, name))) == path.read_bytes()
    assert drive(Op.GET_OBJECT, HANDLE_BASE).code == ResponseCode.INVALID_OBJECT_HANDLE  # folder
    assert drive(Op.GET_OBJECT, 0x0BADBAD0).code == ResponseCode.INVALID_OBJECT_HANDLE


@pytest.mark.parametrize(
    ("offset", "max_bytes", "expected"),
    [
        (0, 1024, 1024),
        (4000, 1024, 1000),
        (1024, 4096, 3976),
        (4999, 10, 1),
        (5000, 10, 0),
        (6000, 10, 0),
        (0, 0, 0),
        (0, 0xFFFFFFFF, 5000),
    ],
)
def test_get_partial_object_ranges(
    card_dir: Path, card: Card, offset: int, max_bytes: int, expected: int
) -> None:
    drive = open_camera(card)
    content = (card_dir / "2024-05-01" / "DSC00001.JPG").read_bytes()
    reply = drive.ok(Op.GET_PARTIAL_OBJECT, handle_of(card, "DSC00001.JPG"), offset, max_bytes)
    assert reply.params == (expected,)  # Param1 = bytes actually sent
    assert data_of(reply) == content[offset : offset + max_bytes]


def test_get_partial_object_is_a_slice_of_the_file(card_dir: Path, card: Card) -> None:
    drive = open_camera(card)
    handle = handle_of(card, "DSC00001.JPG")
    content = (card_dir / "2024-05-01" / "DSC00001.JPG").read_bytes()

    @settings(max_examples=150, deadline=None)
    @given(st.integers(0, 6000), st.integers(0, 0xFFFFFFFF))
    def check(offset: int, max_bytes: int) -> None:
        reply = drive.ok(Op.GET_PARTIAL_OBJECT, handle, offset, max_bytes)
        expected = content[offset : offset + max_bytes]
        assert reply.params == (len(expected),)
        assert data_of(reply) == expected

    check()


def test_get_partial_object_errors(card: Card) -> None:
    drive = open_camera(card)
    jpg = handle_of(card, "DSC00001.JPG")
    assert drive(Op.GET_PARTIAL_OBJECT, jpg, 0).code == ResponseCode.INVALID_PARAMETER
    assert drive(Op.GET_PARTIAL_OBJECT, HANDLE_BASE, 0, 10).code == ResponseCode.INVALID_PARAMETER
    assert drive(Op.GET_PARTIAL_OBJECT, 0x0BADBAD0, 0, 10).code == (
        ResponseCode.INVALID_OBJECT_HANDLE
    )


def test_get_thumb_has_no_thumbnail(card: Card) -> None:
    drive = open_camera(card)
    assert drive(Op.GET_THUMB, handle_of(card, "DSC00001.JPG")).code == (
        ResponseCode.NO_THUMBNAIL_PRESENT
    )


def test_a_file_of_4_gib_or_more_reports_its_size_through_obj_prop_list(tmp_path: Path) -> None:
    size = (4 << 30) + 1
    clip = tmp_path / "PRIVATE" / "C0002.MP4"
    clip.parent.mkdir()
    clip.touch()
    os.truncate(clip, size)  # sparse: nothing is written, nothing is read
    card = Card.scan(tmp_path)
    drive = open_camera(card)
    handle = handle_of(card, "C0002.MP4")

    info = object_info(drive, handle)
    assert info.compressed_size == 0xFFFFFFFF  # "4 GiB or more, ask ObjectSize"

    # gphoto2's single-object call: (handle, 0, 0xFFFFFFFF, 0, 0) (docs/protocol.md §12.6).
    reply = drive.ok(Op.MTP_GET_OBJ_PROP_LIST, handle, 0, ALL, 0, 0)
    elements = ObjectPropList.decode(data_of(reply)).elements
    (size_element,) = [e for e in elements if e.prop_code == ObjectPropCode.OBJECT_SIZE]
    assert size_element.handle == handle
    assert size_element.data_type == DataType.UINT64
    assert size_element.value == size

    single = drive.ok(Op.MTP_GET_OBJ_PROP_LIST, handle, 0, ObjectPropCode.OBJECT_SIZE, 0, 0)
    raw = data_of(single)
    assert raw == struct.pack("<IIHHQ", 1, handle, 0xDC04, DataType.UINT64, size)

    value = drive.ok(Op.MTP_GET_OBJECT_PROP_VALUE, handle, ObjectPropCode.OBJECT_SIZE)
    assert data_of(value) == struct.pack("<Q", size)


def test_obj_prop_list_of_all_objects_matches_the_card(card: Card) -> None:
    drive = open_camera(card)
    reply = drive.ok(Op.MTP_GET_OBJ_PROP_LIST, ALL, 0, ALL, 0, 0)
    props = ObjectPropList.decode(data_of(reply)).by_handle()
    assert list(props) == [o.handle for o in card]
    for obj in card:
        assert props[obj.handle] == {
            0xDC01: STORAGE,
            0xDC02: obj.object_format,
            0xDC03: 0,
            0xDC04: obj.size,
            0xDC05: 1 if obj.is_folder else 0,
            0xDC06: 0,
            0xDC07: obj.name,
            0xDC08: obj.capture_date,
            0xDC09: obj.capture_date,
            0xDC0A: "",
            0xDC0B: obj.parent,
        }
        info = object_info(drive, obj.handle)
        assert (info.filename, info.parent_object, info.object_format) == (
            props[obj.handle][0xDC07],
            props[obj.handle][0xDC0B],
            props[obj.handle][0xDC02],
        )


def test_obj_prop_list_depths_formats_and_errors(card: Card) -> None:
    drive = open_camera(card)
    day1 = handle_of(card, "2024-05-01")

    def listed(*params: int) -> list[int]:
        reply = drive.ok(Op.MTP_GET_OBJ_PROP_LIST, *params)
        return list(ObjectPropList.decode(data_of(reply)).by_handle())

    assert listed(day1, 0, ALL, 0, 0) == [day1]
    assert listed(day1, 0, ALL, 0, 1) == [day1 + 1, day1 + 2]
    assert listed(day1, 0, ALL, 0, 0xFFFFFFFF) == [day1, day1 + 1, day1 + 2]
    assert listed(0, 0, ALL, 0, 1) == [o.handle for o in card.children(0)]
    assert listed(ALL, ObjectFormat.EXIF_JPEG, ALL, 0, 0) == [day1 + 1]
    names = drive.ok(Op.MTP_GET_OBJ_PROP_LIST, ALL, 0, ObjectPropCode.OBJECT_FILE_NAME, 0, 0)
    assert [e.value for e in ObjectPropList.decode(data_of(names)).elements] == [
        o.name for o in card
    ]
    assert drive(Op.MTP_GET_OBJ_PROP_LIST, day1, 0, ALL, 0, 2).code == (
        ResponseCode.MTP_SPECIFICATION_BY_DEPTH_UNSUPPORTED
    )
    assert drive(Op.MTP_GET_OBJ_PROP_LIST, day1, 0, 0, 0, 0).code == (
        ResponseCode.MTP_SPECIFICATION_BY_GROUP_UNSUPPORTED
    )
    assert drive(Op.MTP_GET_OBJ_PROP_LIST, day1, 0, 0xDCFF, 0, 0).code == (
        ResponseCode.MTP_INVALID_OBJECT_PROP_CODE
    )
    assert drive(Op.MTP_GET_OBJ_PROP_LIST, 0x0BADBAD0, 0, ALL, 0, 0).code == (
        ResponseCode.INVALID_OBJECT_HANDLE
    )


def test_object_props_supported_and_desc(card: Card) -> None:
    drive = open_camera(card)
    supported = decode_u16_array(data_of(drive.ok(Op.MTP_GET_OBJECT_PROPS_SUPPORTED, 0x3801)))
    assert set(supported) == set(range(0xDC01, 0xDC0C))
    desc = data_of(drive.ok(Op.MTP_GET_OBJECT_PROP_DESC, ObjectPropCode.OBJECT_SIZE, 0x3801))
    assert struct.unpack_from("<HHB", desc) == (0xDC04, DataType.UINT64, 0)
    assert drive(Op.MTP_GET_OBJECT_PROP_DESC, 0xDCFF, 0).code == (
        ResponseCode.MTP_INVALID_OBJECT_PROP_CODE
    )


# --- Camera: device properties -------------------------------------------------------------------


def test_device_properties(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log, body=BodyConfig(model="ILCE-7M3", battery_level=60))
    battery = DevicePropDesc.decode(data_of(drive.ok(Op.GET_DEVICE_PROP_DESC, 0x5001)))
    assert (battery.data_type, battery.get_set, battery.current) == (DataType.UINT8, 0, 60)
    name = data_of(drive.ok(Op.GET_DEVICE_PROP_VALUE, DevicePropCode.FRIENDLY_DEVICE_NAME))
    assert Reader(name).string() == "ILCE-7M3"
    assert drive(Op.GET_DEVICE_PROP_DESC, 0x5003).code == ResponseCode.DEVICE_PROP_NOT_SUPPORTED
    assert drive(Op.SET_DEVICE_PROP_VALUE, 0x5001, data=b"\x14").code == (
        ResponseCode.ACCESS_DENIED
    )
    info = DevicePropCode.SESSION_INITIATOR_INFO
    drive.ok(Op.SET_DEVICE_PROP_VALUE, info, data=encode_string("Windows/PMH"))
    assert Reader(data_of(drive.ok(Op.GET_DEVICE_PROP_VALUE, info))).string() == "Windows/PMH"
    assert log.named("session_initiator_info") == [{"value": "Windows/PMH"}]
    drive.ok(Op.SET_DEVICE_PROP_VALUE, info)  # PlayMemories sends it without a data phase
    bad = drive(Op.SET_DEVICE_PROP_VALUE, info, data=b"\x09A")  # claims 9 units, has half of one
    assert bad.code == ResponseCode.INVALID_PARAMETER
    assert log.named("bad_data")[0]["opcode"] == Op.SET_DEVICE_PROP_VALUE


# --- Camera: Sony vendor operations (docs/protocol.md §10) ----------------------------------------


def test_start_pair_shows_sending(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log)
    assert screen(drive) is Screen.CONNECTING
    drive.ok(Op.SONY_SET_REQUEST, 4, data=SENDING)
    assert screen(drive) is Screen.SENDING
    blob = drive.ok(Op.SONY_GET_REQUEST, 4)
    assert data_of(blob) == bytes(SONY_BLOB_SIZE)
    assert SONY_BLOB_SIZE == 8192
    assert log.named("screen") == [{"state": "sending", "text": "Sending…"}]
    (command,) = log.named("sony_command")
    assert command == {
        "selector": 4,
        "word0": 2,
        "cmd": 2,
        "data": SENDING.hex(),
        "effect": "sending",
    }
    # Later Sony requests work: the pair was complete.
    drive.ok(Op.GET_STORAGE_IDS)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=SENDING)


def test_airnef_sending_payload_also_shows_sending(card: Card) -> None:
    drive = open_camera(card)
    drive.ok(
        Op.SONY_SET_REQUEST, 4, data=bytes.fromhex("020000000200000000000000000000000100020000")
    )
    assert screen(drive) is Screen.SENDING


def test_power_off_sequence(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=POWER_OFF)
    assert not drive.camera.powered_off  # armed only: the 0x9281 completes it
    assert log.named("power_off") == []
    blob = drive.ok(Op.SONY_GET_REQUEST, 4)
    assert len(data_of(blob)) == 8192
    assert drive.camera.powered_off
    assert screen(drive) is Screen.POWERED_OFF
    assert log.named("power_off") == [{}]
    assert log.named("screen")[-1]["state"] == "powered_off"


def test_cancel_after_sending(card: Card) -> None:
    drive = open_camera(card)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=CANCEL)  # before "Sending…": no visible effect
    drive.ok(Op.SONY_GET_REQUEST, 4)
    assert screen(drive) is Screen.CONNECTING
    drive.ok(Op.SONY_SET_REQUEST, 4, data=SENDING)
    drive.ok(Op.SONY_GET_REQUEST, 4)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=CANCEL)
    drive.ok(Op.SONY_GET_REQUEST, 4)
    assert screen(drive) is Screen.CANCELLED


def test_a_9280_not_followed_by_9281_makes_later_9280_busy(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=SENDING)
    drive.ok(Op.GET_STORAGE_IDS)  # other operations in between do not break the pair
    assert log.named("sony_unpaired") == []
    for _ in range(3):  # the pair was never closed: this 0x9280 and every later one is busy
        assert drive(Op.SONY_SET_REQUEST, 4, data=POWER_OFF).code == ResponseCode.DEVICE_BUSY
        drive.ok(Op.SONY_GET_REQUEST, 4)
    assert log.named("sony_unpaired") == [{"opcode": Op.SONY_SET_REQUEST}]
    assert not drive.camera.powered_off  # the busy power-off did nothing


def test_a_pair_may_span_listing_and_downloads(card: Card) -> None:
    """The 2015 PlayMemories-derived sequence: "Sending…" 0x9280 at start, listing, then the
    close block's 0x9281 and the power-off 0x9280 (docs/protocol.md §11)."""
    log = Log()
    drive = open_camera(card, log)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=SENDING)
    drive.ok(Op.GET_STORAGE_IDS)
    drive.ok(Op.SONY_GET_REQUEST, 4)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=POWER_OFF)
    assert log.named("sony_unpaired") == []


def test_a_second_9280_right_after_an_unpaired_9280_is_busy(card: Card) -> None:
    """The 0x9280 that itself breaks the pairing is already refused, not executed."""
    log = Log()
    drive = open_camera(card, log)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=SENDING)
    assert drive(Op.SONY_SET_REQUEST, 4, data=POWER_OFF).code == ResponseCode.DEVICE_BUSY
    drive.ok(Op.SONY_GET_REQUEST, 4)
    assert not drive.camera.powered_off
    assert [f["effect"] for f in log.named("sony_command")] == ["sending"]
    assert drive(Op.SONY_SET_REQUEST, 4, data=SENDING).code == ResponseCode.DEVICE_BUSY


def test_9280_selector_5_is_parameter_not_supported(card: Card) -> None:
    drive = open_camera(card)
    # PlayMemories "tries this multiple times but gets back 0x2006" (docs/protocol.md §10).
    assert drive(Op.SONY_SET_REQUEST, 5).code == ResponseCode.PARAMETER_NOT_SUPPORTED
    assert drive(Op.SONY_SET_REQUEST, 5, data=bytes(16)).code == (
        ResponseCode.PARAMETER_NOT_SUPPORTED
    )
    assert drive(Op.SONY_GET_REQUEST, 5).code == ResponseCode.PARAMETER_NOT_SUPPORTED
    assert drive(Op.SONY_SET_REQUEST).code == ResponseCode.PARAMETER_NOT_SUPPORTED
    # A refused 0x9280 opens no pair, so nothing is wedged.
    drive.ok(Op.GET_STORAGE_IDS)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=SENDING)


def test_selector_1_pair_answers_without_data(card: Card) -> None:
    drive = open_camera(card)
    drive.ok(Op.SONY_SET_REQUEST, 1, data=bytes.fromhex("00000000 01000000 00000000 00000000"))
    assert drive.ok(Op.SONY_GET_REQUEST, 1).data is None  # "no data sent back"
    drive.ok(Op.GET_STORAGE_IDS)
    drive.ok(Op.SONY_SET_REQUEST, 4, data=SENDING)


def test_short_9280_payload_is_accepted_and_ignored(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log)
    drive.ok(Op.SONY_SET_REQUEST, 4)
    assert log.named("sony_command") == [{"selector": 4, "data": "", "effect": "ignored"}]
    drive.ok(Op.SONY_GET_REQUEST, 4)
    assert screen(drive) is Screen.CONNECTING


def test_listed_unknown_sony_operations_are_not_supported(card: Card) -> None:
    drive = open_camera(card)
    for code in (Op.SONY_9282, Op.SONY_9283, Op.SONY_9284, Op.SONY_9285):
        assert drive(code).code == ResponseCode.OPERATION_NOT_SUPPORTED
    assert drive(0x9202).code == ResponseCode.OPERATION_NOT_SUPPORTED


def test_busy_first_answers_device_busy_to_the_first_operations(card: Card) -> None:
    log = Log()
    drive = open_camera(card, log, busy_first=2)  # OpenSession itself is never busy
    assert drive(Op.GET_DEVICE_INFO).code == ResponseCode.DEVICE_BUSY
    assert drive(Op.GET_STORAGE_IDS).code == ResponseCode.DEVICE_BUSY
    drive.ok(Op.GET_STORAGE_IDS)
    drive.ok(Op.GET_DEVICE_INFO)
    assert [f["kind"] for f in log.named("fault")] == ["busy", "busy"]
    drive.ok(Op.CLOSE_SESSION)


def test_screen_changes_are_recorded_once(card: Card) -> None:
    log = Log()
    camera = make_camera(card, log)
    camera.set_screen(Screen.TIMED_OUT)
    camera.set_screen(Screen.TIMED_OUT)
    assert log.named("screen") == [
        {"state": "timed_out", "text": "Cannot connect to the computer to be saved."}
    ]


# --- parse_faults --------------------------------------------------------------------------------


def test_parse_faults_of_nothing_is_no_fault() -> None:
    faults = parse_faults([])
    assert faults == Faults()
    assert faults.latency_for(0x1009) == 0.0


def test_parse_faults_every_kind() -> None:
    faults = parse_faults(
        [
            "drop-after-bytes=100000",
            "drop-at=0x1009:2",
            "latency=0.25",
            "latency=0x101B:1.5",
            "latency=4104:0",
            "busy-first=3",
            "refuse-init=2",
        ]
    )
    assert faults.drop_after_bytes == 100000
    assert faults.drop_at == (0x1009, 2)
    assert faults.latency_all == 0.25
    assert faults.latency == {0x101B: 1.5, 0x1008: 0.0}
    assert faults.latency_for(0x101B) == 1.5
    assert faults.latency_for(0x1008) == 0.0
    assert faults.latency_for(0x1001) == 0.25
    assert faults.busy_first == 3
    assert faults.refuse_init == 2


def test_parse_faults_later_values_win() -> None:
    assert parse_faults(["busy-first=1", "busy-first=4"]).busy_first == 4


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("drop-after-bytes", r"expected KIND=VALUE, e\.g\. drop-after-bytes=100000"),
        ("explode=1", r"unknown fault 'explode'; known: drop-after-bytes, drop-at, latency"),
        ("drop-after-bytes=lots", r"drop-after-bytes: 'lots' is not a number"),
        ("drop-after-bytes=-1", r"drop-after-bytes: '-1' must not be negative"),
        ("busy-first=-3", r"busy-first: '-3' must not be negative"),
        ("drop-at=0x1009", r"drop-at: expected OPCODE:K, e\.g\. drop-at=0x1009:2"),
        ("drop-at=0x1009:0", r"drop-at: K counts from 1"),
        ("drop-at=GetObject:1", r"drop-at: 'GetObject' is not a number"),
        ("latency=soon", r"latency: 'soon' is not a number of seconds"),
        ("latency=-1", r"latency: -1\.0 s is outside 0–3600 s"),
        ("latency=0x1009:7200", r"latency: 7200\.0 s is outside 0–3600 s"),
        ("latency=nan", r"latency: nan s is outside"),
        ("latency=x:1", r"latency: 'x' is not a number"),
        ("refuse-init=4", r"refuse-init: reason must be 1 \(rejected\), 2 \(busy\) or 3"),
        ("refuse-init=0", r"refuse-init: reason must be 1"),
    ],
)
def test_parse_faults_errors_explain_themselves(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_faults([spec])


def test_fault_spec_error_is_a_value_error() -> None:
    assert issubclass(FaultSpecError, ValueError)


# --- build_demo_card -----------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, tuple[bytes, float]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_demo_card_layout(tmp_path: Path) -> None:
    root = build_demo_card(tmp_path / "demo", photos=3, photo_size=(640, 480))
    assert root == tmp_path / "demo"
    files = _tree(root)
    assert list(files) == [
        "DCIM/100MSDCF/DSC00001.JPG",
        "DCIM/100MSDCF/DSC00002.ARW",
        "DCIM/100MSDCF/DSC00002.JPG",
        "DCIM/100MSDCF/DSC00003.JPG",
        "PRIVATE/M4ROOT/CLIP/C0001.MP4",
    ]
    assert files["DCIM/100MSDCF/DSC00001.JPG"][0][:3] == b"\xff\xd8\xff"  # JPEG
    assert files["DCIM/100MSDCF/DSC00002.ARW"][0][:4] in (b"II*\x00", b"MM\x00*")  # TIFF
    assert files["PRIVATE/M4ROOT/CLIP/C0001.MP4"][0][4:12] == b"ftypXAVC"
    for n in (1, 2, 3):
        expected = datetime(2024, 5, 1, 10, 7 * n, 0).timestamp()
        assert files[f"DCIM/100MSDCF/DSC0000{n}.JPG"][1] == expected
    assert files["DCIM/100MSDCF/DSC00002.ARW"][1] == datetime(2024, 5, 1, 10, 14).timestamp()
    assert files["PRIVATE/M4ROOT/CLIP/C0001.MP4"][1] == datetime(2024, 5, 1, 10, 24).timestamp()
    assert datetime(2024, 5, 1, 10, 0, 0) == DEMO_START

    card = Card.scan(root)
    formats = {o.name: o.object_format for o in card}
    assert formats["DCIM"] == formats["100MSDCF"] == formats["CLIP"] == ObjectFormat.ASSOCIATION
    assert formats["DSC00001.JPG"] == ObjectFormat.EXIF_JPEG
    assert formats["DSC00002.ARW"] == ObjectFormat.SONY_ARW
    assert formats["C0001.MP4"] == ObjectFormat.MTP_MP4
    assert [o.name for o in card.children(0)] == ["DCIM", "PRIVATE"]


def test_demo_card_is_deterministic(tmp_path: Path) -> None:
    first = _tree(build_demo_card(tmp_path / "a", photos=2, photo_size=(320, 240)))
    second = _tree(build_demo_card(tmp_path / "b", photos=2, photo_size=(320, 240)))
    assert first == second
    again = _tree(build_demo_card(tmp_path / "a", photos=2, photo_size=(320, 240)))  # rebuilt
    assert again == first


def test_default_demo_photos_need_get_partial_object(tmp_path: Path) -> None:
    root = build_demo_card(tmp_path)
    photos = sorted((root / "DCIM" / "100MSDCF").glob("*.JPG"))
    assert [p.name for p in photos] == [f"DSC0000{n}.JPG" for n in (1, 2, 3, 4)]
    # Above 1 MiB, so gphoto2 downloads them with GetPartialObject (docs/protocol.md §13.2).
    assert all(p.stat().st_size > 1 << 20 for p in photos)
