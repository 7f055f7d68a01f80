"""The ``hostile-names`` fault: files keep their data but are reported under nasty names.

The names are still valid PTP Strings, so a client's codec accepts them; what the sync engine
does with ``../../escape.JPG`` or ``..`` is its own tests' business. Here: the names on the wire
(ObjectInfo, GetObjPropList, GetObjectPropValue, decoded with our codec) are exactly the list,
in card order, cycling, for files only; the data is byte-identical to the card's files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from emulator_harness import Log, loopback_emulator, open_camera, scenario
from ptpip_client import CommandClient, connect_session
from sony_pm_alt.cli import main
from sony_pm_alt.emulator import (
    Card,
    EmulatorConfig,
    Faults,
    FaultSpecError,
    parse_faults,
    read_log,
)
from sony_pm_alt.emulator.card import HOSTILE_NAMES
from sony_pm_alt.ptpip.codes import ObjectPropCode
from sony_pm_alt.ptpip.codes import OperationCode as Op
from sony_pm_alt.ptpip.datasets import ObjectInfo, ObjectPropList, decode_u32_array
from sony_pm_alt.ptpip.primitives import Reader, encode_string

# The fault's names, spelled out here so that a change to the list is a visible test change.
EXPECTED = [
    "../../escape.JPG",
    "/etc/passwd.JPG",
    "..\\..\\win.JPG",
    "a/b/c.JPG",
    "\x1b[31mred.JPG",
    "tab\tname.JPG",
    "..JPG",
    ".",
    "..",
    "x" * 240 + ".JPG",
    "cafe\u0301.JPG",
    " .JPG",
]
STORAGE = 0x00010001
ALL = 0xFFFFFFFF
FOLDERS = ("100MSDCF", "101MSDCF")


@pytest.fixture
def card_dir(tmp_path: Path) -> Path:
    """14 files in two folders, so the 12 names cycle; a file at the root comes first."""
    root = tmp_path / "card"
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True)
    (root / "0ROOT.JPG").write_bytes(b"root file")
    for i in range(8):
        (root / FOLDERS[0] / f"DSC{i:05}.JPG").write_bytes(bytes([i]) * (100 + i))
    for i in range(5):
        (root / FOLDERS[1] / f"C{i:04}.MP4").write_bytes(f"clip {i}".encode() * 50)
    return root


def card_files(root: Path) -> list[Path]:
    """The files in card order: the scan walks names in order, a folder's files under it."""
    return [root / "0ROOT.JPG"] + [
        path for folder in FOLDERS for path in sorted((root / folder).iterdir())
    ]


def expected_names(count: int) -> list[str]:
    return [EXPECTED[i % len(EXPECTED)] for i in range(count)]


# --- the fault spec and the list ----------------------------------------------------------------


def test_parse_hostile_names() -> None:
    assert Faults().hostile_names is False
    assert parse_faults([]).hostile_names is False
    assert parse_faults(["hostile-names=1"]).hostile_names is True
    assert parse_faults(["hostile-names=1", "hostile-names=0"]).hostile_names is False
    with pytest.raises(FaultSpecError, match=r"hostile-names: expected 1 \(on\) or 0 \(off\)"):
        parse_faults(["hostile-names=yes"])
    with pytest.raises(FaultSpecError, match=r"known: .*hostile-names"):
        parse_faults(["hostile=1"])


def test_the_names_are_the_list_and_each_is_a_valid_ptp_string() -> None:
    assert list(HOSTILE_NAMES) == EXPECTED
    for name in HOSTILE_NAMES:
        assert Reader(encode_string(name), "name").string() == name


# --- Camera (no sockets) ------------------------------------------------------------------------


def test_camera_reports_the_names_everywhere_and_the_data_is_unchanged(card_dir: Path) -> None:
    log = Log()
    drive = open_camera(Card.scan(card_dir), log, hostile_names=True)
    assert log.lines[0] == ("fault", {"kind": "hostile_names", "files": 14})
    handles = decode_u32_array(drive.data(Op.GET_OBJECT_HANDLES, STORAGE, 0, 0))
    infos = {h: ObjectInfo.decode(drive.data(Op.GET_OBJECT_INFO, h)) for h in handles}
    folders = [h for h in handles if infos[h].object_format == 0x3001]
    files = [h for h in handles if h not in folders]
    assert files == sorted(files)  # card order is handle order
    assert [infos[h].filename for h in folders] == list(FOLDERS)  # folders keep their names
    assert [infos[h].filename for h in files] == expected_names(14)
    props = ObjectPropList.decode(drive.data(Op.MTP_GET_OBJ_PROP_LIST, ALL, 0, ALL, 0, 0))
    by_handle = props.by_handle()
    for h in handles:
        assert by_handle[h][ObjectPropCode.OBJECT_FILE_NAME] == infos[h].filename
        value = drive.data(Op.MTP_GET_OBJECT_PROP_VALUE, h, ObjectPropCode.OBJECT_FILE_NAME)
        assert Reader(value, "ObjectFileName").string() == infos[h].filename
    for h, path in zip(files, card_files(card_dir), strict=True):
        assert drive.data(Op.GET_OBJECT, h) == path.read_bytes()
        assert infos[h].compressed_size == path.stat().st_size


def test_without_the_fault_the_real_names_are_reported(card_dir: Path) -> None:
    log = Log()
    drive = open_camera(Card.scan(card_dir), log)
    assert log.named("fault") == []
    handles = decode_u32_array(drive.data(Op.GET_OBJECT_HANDLES, STORAGE, 0, 0))
    names = [ObjectInfo.decode(drive.data(Op.GET_OBJECT_INFO, h)).filename for h in handles]
    assert "../../escape.JPG" not in names
    assert "0ROOT.JPG" in names


def test_the_card_on_disk_is_untouched(card_dir: Path) -> None:
    card = Card.scan(card_dir)
    hostile = card.with_hostile_names()
    assert [o.name for o in hostile] == [o.name for o in card]
    assert [o.path for o in hostile] == [o.path for o in card]
    assert [o.reported_name for o in card] == [o.name for o in card]


# --- over loopback ------------------------------------------------------------------------------


async def names_on_the_wire(command: CommandClient) -> tuple[list[int], list[str], list[str]]:
    """Every file's handle, ObjectInfo Filename and ObjectFileName (0xDC07), in card order."""
    handles = decode_u32_array(await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, 0]))
    infos = [ObjectInfo.decode(await command.call_ok(Op.GET_OBJECT_INFO, [h])) for h in handles]
    props = ObjectPropList.decode(
        await command.call_ok(Op.MTP_GET_OBJ_PROP_LIST, [ALL, 0, ALL, 0, 0])
    ).by_handle()
    files = [(h, i) for h, i in zip(handles, infos, strict=True) if i.object_format != 0x3001]
    return (
        [h for h, _ in files],
        [i.filename for _, i in files],
        [str(props[h][ObjectPropCode.OBJECT_FILE_NAME]) for h, _ in files],
    )


@pytest.mark.integration
def test_hostile_names_on_the_wire_with_the_data_intact(card_dir: Path, tmp_path: Path) -> None:
    log_path = tmp_path / "emulator.jsonl"
    config = EmulatorConfig(card_dir=card_dir, faults=parse_faults(["hostile-names=1"]))

    async def run() -> None:
        async with loopback_emulator(config, log_path) as running:
            session = await connect_session(running.port)
            try:
                command = session.command
                handles, filenames, prop_names = await names_on_the_wire(command)
                assert filenames == expected_names(14)
                assert prop_names == filenames
                for handle, path in zip(handles, card_files(card_dir), strict=True):
                    assert await command.call_ok(Op.GET_OBJECT, [handle]) == path.read_bytes()
            finally:
                await session.close()

    scenario(run())
    lines = read_log(log_path)
    (fault,) = [line for line in lines if line["event"] == "fault"]
    assert (fault["kind"], fault["files"]) == ("hostile_names", 14)


# --- the emulate command ------------------------------------------------------------------------


def test_emulate_help_documents_the_fault() -> None:
    result = CliRunner().invoke(main, ["emulate", "--help"])
    assert result.exit_code == 0
    assert "hostile-names=1" in " ".join(result.output.split())


def test_emulate_refuses_a_bad_hostile_names_value() -> None:
    result = CliRunner().invoke(main, ["emulate", "--fault", "hostile-names=2"])
    assert result.exit_code == 2
    assert "hostile-names: expected 1 (on) or 0 (off)" in result.output
