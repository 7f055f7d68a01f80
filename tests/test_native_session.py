"""The native layer against the emulator: vendor profiles on the same connection as the
listing and downloads, per-connection identity, raw transactions, a clear refused-GUID error,
and the stock wire behaviour when no hook is registered.

Each session runs in a child process (tests/clients/spa_session.py) with a private HOME, so
libgphoto2's once-per-process settings and the camlib registry start fresh every time.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from capture import LiveCapture, tshark
from emulator_proc import PAIRED_GUID, card_files, gphoto2_home, running_emulator
from sony_pm_alt import native
from sony_pm_alt.emulator import build_demo_card
from sony_pm_alt.emulator.process import EmulatorProcess
from sony_pm_alt.profiles import Profile, load_profile

pytestmark = pytest.mark.integration

CLIENTS = Path(__file__).parent / "clients"
ROOT = Path(__file__).parent.parent
NAME = "sony-pm-alt-test"
OTHER_GUID = "00:11:22:33:44:55:66:77:88:99:00:00:00:00:00:00"


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_card(tmp_path_factory.mktemp("card"), photos=2)


def test_the_installed_native_layer_is_built_from_these_patches() -> None:
    """`make test` builds first: the layer in use carries every patch of the series, applied to
    the Debian source of the libgphoto2 python-gphoto2 loads, and today's inputs hash."""
    spec = importlib.util.spec_from_file_location("build", ROOT / "build.py")
    assert spec is not None
    assert spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    sys.modules["build"] = build  # dataclasses look their module up there
    spec.loader.exec_module(build)
    layer = native.load()
    series = (ROOT / "vendor" / "libgphoto2-patches" / "series").read_text().split()
    assert layer.info.patches == tuple(series)
    assert layer.info.libgphoto2 == "2.5.31"
    assert layer.info.key == f"2.5.31-{build.inputs_hash()}"
    assert layer.info.source.startswith("Debian libgphoto2 2.5.31-")


def run_client(
    emu: EmulatorProcess,
    home: Path,
    dest: Path,
    profile: str,
    *extra: str,
    guid: str = PAIRED_GUID,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one session in a child process; ``env`` defaults to a fresh private HOME."""
    dest.mkdir(exist_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            str(CLIENTS / "spa_session.py"),
            str(emu.port),
            guid,
            NAME,
            profile,
            str(dest),
            *extra,
        ],
        env=env or gphoto2_home(home),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return out


def wire_steps(profile_steps: Profile, block: str) -> list[tuple[int, list[int], str | None]]:
    steps = profile_steps.start if block == "start" else profile_steps.end
    return [(s.opcode, list(s.params), s.data.hex() if s.data is not None else None) for s in steps]


def recorded(emu: EmulatorProcess) -> list[tuple[int, list[int], str | None]]:
    return [(r["opcode"], r["params"], r["data"]) for r in emu.events("operation")]


@pytest.mark.parametrize(
    ("profile", "emulator_args"),
    [("upstream", ()), ("playmemories", ("--legacy-power-off",)), ("none", ())],
)
def test_profile_runs_on_the_session_connection(
    tmp_path: Path, card: Path, profile: str, emulator_args: tuple[str, ...]
) -> None:
    expected = load_profile(profile)
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, *emulator_args, card=card) as emu:
        out = run_client(emu, tmp_path, tmp_path / "dest", profile)
        assert out["native"] is True
        ops = recorded(emu)
        start, end = wire_steps(expected, "start"), wire_steps(expected, "end")
        # OpenSession, GetDeviceInfo, then exactly the profile's start steps, in order …
        assert [op for op, _, _ in ops[:2]] == [0x1002, 0x1001]
        assert ops[2 : 2 + len(start)] == start
        # … listing and downloads, then exactly the end steps, then CloseSession. The old body
        # is gone after the power-off 0x9280: the trailing 0x9281 (and CloseSession) find no
        # camera, as the profile allows.
        legacy = bool(emulator_args)
        if legacy:
            ignored = [e["opcode"] for e in emu.events("ignored_after_power_off")]
            assert (end[-1][0], ignored) == (0x9281, [0x9281])
            end = end[:-1]
        tail = 0 if legacy else 1
        middle = ops[2 + len(start) : len(ops) - len(end) - tail]
        assert {op for op, _, _ in middle} >= {0x1004, 0x1007, 0x1008}
        assert not {0x9280, 0x9281} & {op for op, _, _ in middle}
        assert ops[len(ops) - len(end) - tail : len(ops) - tail] == end
        assert (ops[-1][0] == 0x1003) is not legacy
        # One TCP connection carried all of it.
        assert len({r["peer"] for r in emu.events("operation")}) == 1
        screens = [s["state"] for s in emu.events("screen")]
        if profile == "none":
            assert screens == []
            assert not {0x9280, 0x9281} & {op for op, _, _ in ops}
        else:
            assert screens == ["sending", "powered_off"]
            assert emu.wait(timeout=30) == 0  # a powered-off camera is gone
    for rel, source in card_files(card).items():
        assert (tmp_path / "dest" / Path(rel).name).read_bytes() == source.read_bytes()


def test_identity_is_sent_and_settings_files_are_untouched(tmp_path: Path, card: Path) -> None:
    env = gphoto2_home(tmp_path, guid=OTHER_GUID)
    legacy = Path(env["HOME"]) / ".gphoto" / "settings"
    legacy.write_bytes(b"gphoto2=port=usb:\nptp2_ip=guid=" + OTHER_GUID.encode() + b"\n")
    xdg = Path(env["XDG_CONFIG_HOME"]) / "gphoto" / "settings"
    xdg.parent.mkdir(parents=True)
    xdg.write_bytes(b"ptp2_ip=guid=" + OTHER_GUID.encode() + b"\n")
    before = {p: p.read_bytes() for p in (legacy, xdg)}
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        out = run_client(emu, tmp_path, tmp_path / "dest", "upstream", env=env)
        assert "error" not in out
        (init,) = emu.events("init")
        assert (init["guid"], init["name"]) == (PAIRED_GUID, NAME)
    assert {p: p.read_bytes() for p in (legacy, xdg)} == before
    assert sorted(p.name for p in legacy.parent.iterdir()) == ["settings"]


def test_a_refused_guid_is_a_distinct_error_naming_the_guid(tmp_path: Path, card: Path) -> None:
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        out = run_client(emu, tmp_path, tmp_path / "dest", "upstream", guid=OTHER_GUID)
        assert out["error"]["type"] == "CameraRefusedGuid"
        assert OTHER_GUID in out["error"]["message"]
        assert "Unspecified error" not in out["error"]["message"]
        assert [f["reason"] for f in emu.events("init_fail")] == [1]


def test_raw_get_object_prop_list_returns_the_card(tmp_path: Path, card: Path) -> None:
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        out = run_client(emu, tmp_path, tmp_path / "dest", "upstream", "--proplist")
    sizes = {
        props[str(0xDC07)]: props[str(0xDC04)]
        for props in out["proplist"].values()
        if props[str(0xDC02)] != 0x3001
    }
    assert sizes == {Path(rel).name: p.stat().st_size for rel, p in card_files(card).items()}


def test_a_failing_raw_transaction_raises_with_its_response_code(
    tmp_path: Path, card: Path
) -> None:
    with running_emulator(
        tmp_path, "--without-op", "0x9805", "--guid", PAIRED_GUID, card=card
    ) as emu:
        out = run_client(emu, tmp_path, tmp_path / "dest", "upstream", "--op", "0x9805")
        assert out["error"]["type"] == "CameraResponseError"
        assert out["error"]["code"] == 0x2005
        assert "OPERATION_NOT_SUPPORTED (0x2005)" in out["error"]["message"]
        assert emu.events("power_off") == []  # a failed session does not power the camera off


def test_ptp2_debug_logs_reach_python_logging(tmp_path: Path, card: Path) -> None:
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        out = run_client(emu, tmp_path, tmp_path / "dest", "upstream")
    assert any("spa: running the start hook" in line for line in out["log"])
    assert any("ptpip connected!" in line for line in out["log"])


def stock_client(emu: EmulatorProcess, home: Path, camlibs: str | None) -> list[dict[str, Any]]:
    env = gphoto2_home(home)
    if camlibs:
        env["CLIENT_CAMLIBS"] = camlibs
    dest = home / f"dest-{bool(camlibs)}"
    result = subprocess.run(
        [sys.executable, str(CLIENTS / "pygphoto2_download.py"), emu.gphoto2_port, str(dest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    expected_dir = camlibs or "site-packages/gphoto2"
    assert expected_dir in summary["camlib"]
    return [
        {k: r[k] for k in ("type", "opcode", "params", "data_phase", "total", "length") if k in r}
        for r in emu.events("packet")
    ]


def test_without_hooks_the_wire_matches_the_stock_camlib(tmp_path: Path, card: Path) -> None:
    packets = []
    for camlibs in (None, str(native.NATIVE_DIR / "camlibs")):
        run_dir = tmp_path / ("patched" if camlibs else "stock")
        run_dir.mkdir()
        with running_emulator(run_dir, "--guid", PAIRED_GUID, card=card) as emu:
            packets.append(stock_client(emu, run_dir, camlibs))
            inits = emu.events("init")
            assert [i["guid"] for i in inits] == [PAIRED_GUID]
    stock, patched = packets
    assert patched == stock
    assert any(p.get("opcode") == 0x9280 for p in stock)


def test_tshark_decodes_the_profile_data_phases(tmp_path: Path, card: Path) -> None:
    """Each 0x9280 of the profile is a data-out phase tshark decodes: the request (DataPhaseInfo
    2), Start Data and End Data with one TID and the profile's length, and the End Data frame
    carries the profile's bytes. (Wireshark 4.0 shows no payload field for ptpip data packets,
    so the bytes are read from the frame's TCP payload behind the 12-byte End Data header; the
    patched camlib sets TCP_NODELAY, so every packet of the phase has a segment of its own.)"""
    pcap = tmp_path / "session.pcapng"
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        live = LiveCapture(emu.port, pcap)
        try:
            run_client(emu, tmp_path, tmp_path / "dest", "upstream")
            live.wait_for_requests(len(emu.events("operation")))
        finally:
            live.stop()
    rows = [
        line.split("\t")
        for line in tshark(
            pcap,
            emu.port,
            "-Y",
            f"ptpip && tcp.dstport == {emu.port}",
            "-T",
            "fields",
            "-e",
            "ptpip.pktType",
            "-e",
            "ptpip.opcode",
            "-e",
            "ptpip.phaseinfo",
            "-e",
            "ptpip.transactionID",
            "-e",
            "ptpip.datalen",
            "-e",
            "ptpip.len",
            "-e",
            "tcp.payload",
        )
    ]
    phases = []
    for i, (ptype, opcode, phase, tid, *_rest) in enumerate(rows):
        if ptype == "0x00000006" and opcode == "0x9280":
            start, end = rows[i + 1], rows[i + 2]
            assert phase == "0x00000002"
            assert (start[0], start[3]) == ("0x00000009", tid)
            assert (end[0], end[3]) == ("0x0000000c", tid)
            assert int(end[5]) == 12 + int(start[4])
            phases.append(bytes.fromhex(end[6])[12:].hex())
    upstream = load_profile("upstream")
    assert phases == [s.data.hex() for s in upstream.start + upstream.end if s.data is not None]


def test_without_the_native_layer_the_stock_camlib_and_settings_file_are_used(
    tmp_path: Path, card: Path
) -> None:
    env = gphoto2_home(tmp_path, guid=OTHER_GUID)
    settings = Path(env["HOME"]) / ".gphoto" / "settings"
    settings.write_bytes(b"gphoto2=port=usb:\nptp2_ip=guid=" + OTHER_GUID.encode() + b"\n")
    env["SONY_PM_ALT_NATIVE_DIR"] = str(tmp_path / "not-built")
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        out = run_client(emu, tmp_path, tmp_path / "dest", "upstream", "--native", "auto", env=env)
        assert out["native"] is False
        warnings = [line for line in out["log"] if line.startswith("native layer unavailable")]
        assert len(warnings) == 1
        assert "run `make build`" in warnings[0]
        (init,) = emu.events("init")
        assert init["guid"] == PAIRED_GUID  # through the settings file
        # libgphoto2 2.5.31's own Sony handling: the start pair, never a power-off.
        sony = [
            (r["opcode"], r["params"]) for r in emu.events("operation") if r["opcode"] >= 0x9280
        ]
        assert sony == [(0x9280, [4]), (0x9281, [4])]
    # The GUID line was replaced; every other line is kept.
    assert (
        settings.read_bytes() == b"gphoto2=port=usb:\nptp2_ip=guid=" + PAIRED_GUID.encode() + b"\n"
    )


_CONCURRENT_LOADS = """
import threading
from sony_pm_alt import native

real_import = native._import_shim
both_inside = threading.Barrier(2)
imports = []

def slow_import():
    imports.append(threading.get_ident())
    try:
        both_inside.wait(timeout=1)  # a second caller, if it can get here, meets the first
    except threading.BrokenBarrierError:
        pass
    return real_import()

native._import_shim = slow_import
layers = []
threads = [threading.Thread(target=lambda: layers.append(native.load())) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(imports), len({id(layer) for layer in layers}))
"""


def test_cameras_opened_from_two_threads_share_one_native_layer() -> None:
    # watch opens each camera in its own thread: two loads used to bind the C callback to the
    # second Native, so the first camera's hooks (start and power-off steps) never ran.
    out = subprocess.run(
        [sys.executable, "-c", _CONCURRENT_LOADS], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["1", "1"]


class _CamlibNotLoaded:
    """The compiled shim as it answers when its camlib is not loaded."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lib, name)

    def spa_shim_transaction(self, *args: Any) -> int:
        return int(self._lib.SPA_SHIM_NOT_LOADED)


def test_a_shim_without_its_camlib_is_no_camera_answer() -> None:
    """It used to answer a fake GeneralError (0x2002), reported as the camera refusing."""
    import gphoto2  # noqa: F401  (before the native layer, as load() requires)

    from sony_pm_alt.errors import NativeLayerUnavailable

    loaded = native.load()
    unloaded = native.Native(loaded._ffi, _CamlibNotLoaded(loaded._lib), loaded.info)
    transport = native.Transport(unloaded, loaded._ffi.NULL)
    with pytest.raises(NativeLayerUnavailable, match="run `make build`"):
        transport.transaction(0x1001, data_in=True, check=False)
    assert loaded._lib.SPA_SHIM_NOT_LOADED not in (0x2001, 0x2002)
