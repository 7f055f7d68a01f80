"""`sony-pm-alt` as a user meets it: help and version, the GUID tools, the config file, sync's
usage errors and an unreachable camera, history before and after a real sync against the
emulator, doctor in a private network namespace, watch and pair refusing bad input.

Fast checks run in-process through click's CliRunner; anything that touches libgphoto2, USB or
sockets runs as a child process (``python -m sony_pm_alt``), with its network either on
127.0.0.1 with ephemeral ports or inside a namespace of ``tests/netns.py``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from emulator_proc import PAIRED_GUID, card_files, running_emulator
from netns import run_in_netns
from sony_pm_alt import __version__
from sony_pm_alt.cli import main
from sony_pm_alt.emulator import build_demo_card
from sony_pm_alt.identity import parse_guid
from sony_pm_alt.settings import EXAMPLE_CONFIG, load
from test_guid_tools import CAMERA, PC, PTPIP_PORT, README_INIT, Conversation, _write

# The sony-pm-alt README's PlayMemories GUID: its PC's MAC 08:00:27:f5:16:4f behind ff ff.
README_GUID = "00:00:00:00:00:00:00:00:ff:ff:08:00:27:f5:16:4f"
GUID_SHAPE = re.compile(r"00:00:00:00:00:00:00:00:ff:ff(?::[0-9a-f]{2}){6}")
SSDP_GROUP = "239.255.255.250"

# Every command and group a user can reach; a new one is fine, a missing one is not.
COMMANDS: list[tuple[str, ...]] = [
    (),
    ("watch",),
    ("discover",),
    ("config",),
    ("config", "init"),
    ("config", "show"),
    ("guid",),
    ("guid", "from-mac"),
    ("guid", "from-container-id"),
    ("guid", "from-capture"),
    ("guid", "new"),
    ("pair",),
    ("sync",),
    ("history",),
    ("doctor",),
    ("emulate",),
]


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No SONY_PM_ALT_* from the caller's environment; config, data and libgphoto2 settings
    under tmp_path (child processes inherit this environment). The default state directory is
    computed at import, so in-process commands get SONY_PM_ALT_STATE pointing at the same
    place a child process finds through XDG_DATA_HOME."""
    for variable in list(os.environ):
        if variable.startswith("SONY_PM_ALT_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("SONY_PM_ALT_STATE", str(default_state(tmp_path)))


def default_state(tmp_path: Path) -> Path:
    return tmp_path / "xdg-data" / "sony-pm-alt" / "state.sqlite3"


def invoke(*args: str) -> Result:
    """The command in-process; an exception other than SystemExit fails the test as it is."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_cli(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as a child process, as a shell would run it."""
    return subprocess.run(
        [sys.executable, "-m", "sony_pm_alt", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def child_env(work: Path) -> dict[str, str]:
    """For module-scoped fixtures, which run before the per-test environment is set up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SONY_PM_ALT_")}
    env.update(
        HOME=str(work / "home"),
        XDG_CONFIG_HOME=str(work / "xdg-config"),
        XDG_DATA_HOME=str(work / "xdg-data"),
    )
    return env


def error_line(stderr: str) -> str:
    """The one line that says what is wrong. Click's usage errors put their standard
    ``Usage:`` and ``Try '… --help'`` lines before it; anything else is one line too many."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if lines and lines[0].startswith("Usage: "):
        lines = lines[1:]
        if lines and lines[0].startswith("Try '") and "--help" in lines[0]:
            lines = lines[1:]
    assert len(lines) == 1, f"expected one error line, got:\n{stderr}"
    return lines[0]


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def free_port() -> int:
    """A loopback TCP port nobody listens on (bound by the kernel's choice, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def write_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- help and version --------------------------------------------------------------------------


def _subcommands(group: click.Group) -> dict[str, click.Command]:
    """As click finds them (the top-level group imports each command's module on demand)."""
    ctx = click.Context(group)
    found = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in _subcommands(group).items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = _subcommands(command)[name]
    return command


def test_every_documented_command_exists() -> None:
    assert set(COMMANDS[1:]) <= set(_command_paths(main))


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "main")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_of_every_command_and_group(path: tuple[str, ...], flag: str) -> None:
    result = invoke(*path, flag)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith("Usage: ")
    command = _command(path)
    assert command.get_short_help_str(limit=45)[:30] in " ".join(result.stdout.split())
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.opts[-1] in result.stdout, f"{param.opts} missing from the help"
    if isinstance(command, click.Group):
        for name in _subcommands(command):
            assert re.search(rf"^\s+{re.escape(name)}\b", result.stdout, re.MULTILINE), name


_RUN = """
import atexit, sys
from sony_pm_alt.cli import common, run
atexit.register(lambda: print("atexit ran"))
common.allow_quick_exit()  # as sync does once it has closed everything
sys.argv = ["sony-pm-alt", *sys.argv[1:]]
run()
"""


def test_the_program_exits_with_its_status_output_and_atexit_handlers() -> None:
    """The quick exit of run() skips the interpreter's teardown but not the atexit handlers
    or buffered output, and keeps the exit status."""
    ok = subprocess.run([sys.executable, "-c", _RUN, "--version"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == f"sony-pm-alt, version {__version__}\natexit ran\n"
    usage = subprocess.run([sys.executable, "-c", _RUN, "sync"], capture_output=True, text=True)
    assert usage.returncode == 2  # click's usage error: --host is missing
    assert "Missing option '--host'" in usage.stderr
    assert usage.stdout == "atexit ran\n"


def test_the_program_keeps_freed_memory_for_the_next_chunk() -> None:
    """glibc (these machines, the image) accepts both settings; run() makes them first."""
    from sony_pm_alt.cli import _keep_freed_memory

    assert _keep_freed_memory() is True


def test_the_quick_exit_waits_for_a_thread_still_running() -> None:
    from sony_pm_alt.cli import _threads_still_running

    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert _threads_still_running()  # run() then leaves the exit to Python
    finally:
        release.set()
        worker.join()
    assert not _threads_still_running()


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"sony-pm-alt, version {__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)


# --- guid --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mac", ["08:00:27:f5:16:4f", "08-00-27-F5-16-4F", "080027f5164f"])
def test_guid_from_mac(mac: str) -> None:
    result = invoke("guid", "from-mac", mac)
    assert (result.exit_code, result.stdout, result.stderr) == (0, README_GUID + "\n", "")


def test_guid_from_mac_as_a_child_process() -> None:
    result = run_cli("guid", "from-mac", "08:00:27:f5:16:4f")
    assert (result.returncode, result.stdout, result.stderr) == (0, README_GUID + "\n", "")


@pytest.mark.parametrize("mac", ["bad", "08:00:27:f5:16", "08:00:27:f5:16:4g", "ff:ff:" + "0" * 4])
def test_guid_from_mac_rejects_a_bad_mac(mac: str) -> None:
    result = invoke("guid", "from-mac", mac)
    assert result.exit_code == 2
    assert result.stdout == ""
    line = error_line(result.stderr)
    assert "MAC" in line
    assert f"{mac!r} is not a MAC address" in line
    assert "08:00:27:f5:16:4f" in line  # an example of what is expected


@pytest.mark.parametrize(
    "container_id",
    [
        "{a4d7a2f7-c5ae-11e4-93ac-080027f5164f}",
        "a4d7a2f7-c5ae-11e4-93ac-080027f5164f",
        "    ContainerID    REG_SZ    {A4D7A2F7-C5AE-11E4-93AC-080027F5164F}",
    ],
)
def test_guid_from_container_id(container_id: str) -> None:
    result = invoke("guid", "from-container-id", container_id)
    assert (result.exit_code, result.stdout, result.stderr) == (0, README_GUID + "\n", "")


def test_guid_from_container_id_rejects_other_text() -> None:
    result = invoke("guid", "from-container-id", "{a4d7a2f7-c5ae-11e4-93ac}")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "is not a registry ContainerID" in error_line(result.stderr)


def test_guid_new_prints_a_fresh_playmemories_shaped_guid() -> None:
    first, second = invoke("guid", "new"), invoke("guid", "new")
    for result in (first, second):
        assert result.exit_code == 0
        assert result.stderr == ""
        text = result.stdout.removesuffix("\n")
        assert "\n" not in text
        assert len(text) == 47
        assert GUID_SHAPE.fullmatch(text), text
        guid = parse_guid(text)
        assert guid[10] & 0x02, "locally administered"
        assert not guid[10] & 0x01, "not multicast"
    assert first.stdout != second.stdout


def _init_capture(path: Path, fmt: str = "pcapng") -> Path:
    """One Ethernet/IPv4/TCP connection from PlayMemories on WIN7-VM carrying the README's
    Init Command Request (docs/protocol.md §4.1)."""
    command = Conversation((PC, 49712), (CAMERA, PTPIP_PORT))
    return _write(path, [*command.handshake(), command.client_data(0, README_INIT)], fmt)


@pytest.mark.parametrize("fmt", ["pcapng", "pcap"])
def test_guid_from_capture_prints_the_guid_and_the_name(tmp_path: Path, fmt: str) -> None:
    capture = _init_capture(tmp_path / f"pm.{fmt}", fmt)
    result = invoke("guid", "from-capture", str(capture))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == (
        f"{README_GUID}  name 'WIN7-VM'  {PC}:49712 -> {CAMERA}:{PTPIP_PORT}\n"
    )


@pytest.mark.parametrize(
    "content", [b"", b"hello, not a capture\n", b"\x0a\x0d\x0d\x0a" + bytes(8)]
)
def test_guid_from_capture_of_a_file_that_is_no_capture(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    result = invoke("guid", "from-capture", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    line = error_line(result.stderr)
    assert line.startswith("sony-pm-alt: ")
    assert f"{path} is not a pcap or pcapng capture" in line


def test_guid_from_capture_without_an_init_request(tmp_path: Path) -> None:
    http = Conversation((PC, 50100), ("93.184.216.34", 80))
    frames = [*http.handshake(), http.client_data(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")]
    capture = _write(tmp_path / "web.pcapng", frames, "pcapng")
    result = invoke("guid", "from-capture", str(capture))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert error_line(result.stderr) == f"no PTP/IP Init Command Request in {capture}"


@pytest.mark.parametrize("which", ["missing", "directory"])
def test_guid_from_capture_needs_an_existing_file(tmp_path: Path, which: str) -> None:
    path = tmp_path / "nothing.pcapng" if which == "missing" else tmp_path
    result = invoke("guid", "from-capture", str(path))
    assert result.exit_code == 2
    assert str(path) in error_line(result.stderr)


# --- config ------------------------------------------------------------------------------------


def test_config_init_writes_the_example(tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder" / "config.toml"
    result = invoke("config", "init", "--path", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"wrote {target}; set guid and dest in it\n"
    assert target.read_text(encoding="utf-8") == EXAMPLE_CONFIG


def test_config_init_without_path_writes_to_the_xdg_config_folder(tmp_path: Path) -> None:
    result = invoke("config", "init")
    target = tmp_path / "xdg-config" / "sony-pm-alt" / "config.toml"
    assert result.exit_code == 0, result.stderr
    assert target.read_text(encoding="utf-8") == EXAMPLE_CONFIG
    # ... and that is the file `config show` reads without --path.
    shown = invoke("config", "show")
    assert shown.exit_code == 0, shown.stderr
    assert f"# file: {target}\n" in shown.stdout


def test_config_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = write_config(tmp_path / "config.toml", '[defaults]\ndest = "/srv/photos"\n')
    result = invoke("config", "init", "--path", str(target))
    assert result.exit_code == 2
    assert result.stdout == ""
    line = error_line(result.stderr)
    assert line.startswith(f"sony-pm-alt: {target} already exists")
    assert "not overwriting" in line
    assert target.read_text(encoding="utf-8") == '[defaults]\ndest = "/srv/photos"\n'


def test_config_init_under_a_regular_file_says_what_is_in_the_way(tmp_path: Path) -> None:
    """BUG: the parent of the target is a regular file; mkdir(exist_ok=True) raises
    FileExistsError and the message reads "cannot write …/config.toml: File exists", though
    config.toml does not exist: the blocking component should be named (Not a directory)."""
    (tmp_path / "file.txt").write_text("x")
    target = tmp_path / "file.txt" / "config.toml"
    result = invoke("config", "init", "--path", str(target))
    assert result.exit_code == 2
    line = error_line(result.stderr)
    assert line.startswith(f"sony-pm-alt: cannot write {target}")
    assert "File exists" not in line, line


def test_config_show_prints_the_example_back(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    assert invoke("config", "init", "--path", str(target)).exit_code == 0
    result = invoke("config", "show", "--path", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    shown = result.stdout
    assert f"# file: {target}\n" in shown
    assert "# environment: none applied\n" in shown
    assert "# guid: not set" in shown
    for line in [
        f'dest = "{tmp_path / "home" / "Pictures" / "Sony"}"',  # ~ expanded
        'template = "{year}/{year}-{month}-{day}/{filename}"',
        'profile = "upstream"',
        'kinds = ""',
        'hook = ""',
        "cooldown = 300",
        "search_interval = 60",
    ]:
        assert line in shown.splitlines(), line
    # What it prints is a config file itself, and reads back as the same configuration.
    again = write_config(tmp_path / "shown.toml", shown)
    assert load(again).defaults == load(target).defaults
    assert load(again).discovery == load(target).discovery


def test_config_show_names_what_the_environment_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config.toml"
    assert invoke("config", "init", "--path", str(target)).exit_code == 0
    monkeypatch.setenv("SONY_PM_ALT_GUID", PAIRED_GUID)
    result = invoke("config", "show", "--path", str(target))
    assert result.exit_code == 0, result.stderr
    assert f'guid = "{PAIRED_GUID}"' in result.stdout.splitlines()
    assert "# environment: SONY_PM_ALT_GUID\n" in result.stdout


BAD_GUID_CONFIG = '[defaults]\nname = ""\nguid = "nothex"\n'  # line 3: defaults.guid
# (file text, line, key) of configs `watch` must refuse at start.
BAD_CONFIGS = [
    pytest.param(BAD_GUID_CONFIG, 3, "defaults.guid", id="guid"),
    pytest.param('[defaults]\ntemplate = "{nope}/{filename}"\n', 2, "defaults.template", id="tpl"),
    pytest.param('[discovery]\ninterface = "eth0"\n', 2, "discovery.interface", id="interface"),
    pytest.param('[defaults]\ncolour = "red"\n', 2, "defaults.colour", id="unknown-key"),
    pytest.param(
        '# one body\n[[camera]]\nmatch = "123"\nsince = "2024-13-01"\n',
        4,
        "camera[1].since",
        id="camera-since",
    ),
    pytest.param(
        '[defaults]\nsince = "2024-05-02"\nuntil = "2024-05-01"\n', 3, "defaults.until", id="dates"
    ),
]


@pytest.mark.parametrize(("text", "line", "key"), BAD_CONFIGS)
def test_config_show_of_a_bad_config_names_the_key_and_the_line(
    tmp_path: Path, text: str, line: int, key: str
) -> None:
    path = write_config(tmp_path / "config.toml", text)
    result = invoke("config", "show", "--path", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert error_line(result.stderr).startswith(f"sony-pm-alt: {path}: {key}: ")


def test_config_show_of_a_file_that_is_not_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", "[defaults\n")
    result = invoke("config", "show", "--path", str(path))
    assert result.exit_code == 2
    assert error_line(result.stderr).startswith(f"sony-pm-alt: {path} line 1: not valid TOML")


def test_config_show_of_a_missing_named_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    result = invoke("config", "show", "--path", str(path))
    assert result.exit_code == 2
    line = error_line(result.stderr)
    assert line.startswith(f"sony-pm-alt: {path}: no such file")
    assert not path.exists()


def test_the_advice_for_a_missing_config_file_works(tmp_path: Path) -> None:
    """BUG: the message for a missing named config says to run
    `sony-pm-alt config init PATH`, but `config init` takes the path as --path; following
    the advice fails with "Got unexpected extra argument"."""
    path = tmp_path / "absent.toml"
    line = error_line(invoke("config", "show", "--path", str(path)).stderr)
    advice = re.search(r"`sony-pm-alt ([^`]+)`", line)
    assert advice is not None, line
    followed = invoke(*shlex.split(advice.group(1)))
    assert followed.exit_code == 0, followed.stderr
    assert path.read_text(encoding="utf-8") == EXAMPLE_CONFIG


# --- watch -------------------------------------------------------------------------------------


class _NoWatcher:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("watch got as far as listening despite a bad configuration")


@pytest.mark.parametrize(("text", "line", "key"), BAD_CONFIGS)
def test_watch_with_a_bad_config_stops_before_listening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int, key: str
) -> None:
    monkeypatch.setattr("sony_pm_alt.watcher.Watcher", _NoWatcher)
    path = write_config(tmp_path / "config.toml", text)
    result = invoke("watch", "--config", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert error_line(result.stderr).startswith(f"sony-pm-alt: {path}: {key}: ")


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--guid", "bad"),
        ("--interface", "eth0"),
        ("--cooldown", "-1"),
        ("--template", "{nope}"),
        ("--profile", "nosuch"),
    ],
)
def test_watch_with_a_bad_flag_names_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str, value: str
) -> None:
    monkeypatch.setattr("sony_pm_alt.watcher.Watcher", _NoWatcher)
    path = tmp_path / "config.toml"
    assert invoke("config", "init", "--path", str(path)).exit_code == 0
    result = invoke("watch", "--config", str(path), flag, value)
    assert result.exit_code == 2
    assert error_line(result.stderr).startswith(f"sony-pm-alt: {flag}: ")


def test_watch_with_a_bad_config_exits_at_once_in_a_namespace(tmp_path: Path) -> None:
    """The real process: it would wait for cameras forever if it got past the config."""
    path = write_config(tmp_path / "config.toml", BAD_GUID_CONFIG)
    argv = [sys.executable, "-m", "sony_pm_alt", "watch", "--config", str(path)]
    result = run_in_netns(argv, timeout=30)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert result.stdout == b""
    assert error_line(stderr).startswith(f"sony-pm-alt: {path}: defaults.guid: ")


# --- sync: usage errors ------------------------------------------------------------------------


def _sync_args(dest: Path, *extra: str, port: int | None = None) -> list[str]:
    """A valid sync command line but for ``extra``; by default to a loopback port nobody
    listens on, should a usage error ever get as far as connecting."""
    port = free_port() if port is None else port
    args = ["sync", "--host", "127.0.0.1", "--port", str(port), "--guid", PAIRED_GUID]
    return [*args, "--dest", str(dest), *extra]


@pytest.mark.parametrize(
    ("extra", "mentions"),
    [
        pytest.param(["--guid", "ff:ff:zz"], "'ff:ff:zz'", id="guid"),
        pytest.param(["--guid", "ff:ff"], "'ff:ff'", id="guid-short"),
        pytest.param(["--template", "{year}/{nope}/{filename}"], "{nope}", id="template"),
        pytest.param(["--profile", "nosuch"], "nosuch", id="profile"),
        pytest.param(["--profile", "/nowhere/p.toml"], "/nowhere/p.toml", id="profile-file"),
        pytest.param(["--kind", "pictures"], "pictures", id="kind"),
        pytest.param(["--since", "2024-05-02", "--until", "2024-05-01"], "after", id="dates"),
        pytest.param(["--since", "2024-13-01"], "2024-13-01", id="since"),
        pytest.param(["--port", "0"], "--port", id="port"),
        pytest.param(["--keepalive", "0"], "--keepalive", id="keepalive"),
    ],
)
def test_sync_usage_errors(tmp_path: Path, extra: list[str], mentions: str) -> None:
    """One line, exit 2, and nothing written: neither the destination nor the state file
    (the default one, under XDG_DATA_HOME) nor anything else."""
    before = tree(tmp_path)
    result = invoke(*_sync_args(tmp_path / "dest"), *extra)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert mentions in error_line(result.stderr)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("host", ["camera.local", "not a host", "::1", "999.1.1.1", "10.0.0.1:80"])
def test_sync_to_a_host_that_is_not_an_ipv4_literal(tmp_path: Path, host: str) -> None:
    args = _sync_args(tmp_path / "dest", "--state", str(tmp_path / "state.sqlite3"))
    args[args.index("--host") + 1] = host
    result = invoke(*args)
    assert result.exit_code != 0
    assert result.stdout == ""
    line = error_line(result.stderr)
    assert repr(host) in line
    assert "IPv4" in line
    assert not (tmp_path / "dest").exists()


# --- sync: nothing listening -------------------------------------------------------------------


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, int, str]:
    """`sync` against a loopback port nobody listens on (the connect retries are bounded:
    CONNECT_ATTEMPTS with exponential waits, a few seconds)."""
    work = tmp_path_factory.mktemp("unreachable")
    port = free_port()
    result = run_cli(*_sync_args(work / "dest", port=port), timeout=30, env=child_env(work))
    assert result.stdout == ""
    return port, result.returncode, result.stderr


def test_sync_with_nothing_listening_fails_with_exit_3_naming_the_address(
    unreachable: tuple[int, int, str],
) -> None:
    port, code, stderr = unreachable
    assert code == 3, stderr
    last = stderr.splitlines()[-1]
    assert last.startswith("sony-pm-alt: cannot open the camera at ")
    assert f"127.0.0.1:{port}" in last
    assert "no PTP/IP answer" in last
    assert "[-7] I/O problem" not in last


def test_sync_with_nothing_listening_says_so_in_one_line(
    unreachable: tuple[int, int, str],
) -> None:
    """BUG: libgphoto2's own output reaches the terminal too: a "connect cmd: Connection
    refused" line (its perror) and a "WARNING gphoto2: (camera_init …) Failed to connect."
    log line for each of the 4 attempts, 8 lines before the one that matters."""
    port, _code, stderr = unreachable
    assert f"127.0.0.1:{port}" in error_line(stderr)


# --- history, and a real sync against the emulator ----------------------------------------------


def test_history_without_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    for args in ([], ["--json"]):
        result = invoke("history", "--state", str(state), *args)
        assert result.exit_code == 0
        assert result.stdout == ""
        assert error_line(result.stderr) == f"no transfers yet ({state} does not exist)"
    assert not state.exists()


def test_history_without_a_state_file_at_the_default_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SONY_PM_ALT_STATE")
    result = run_cli("history")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    state = default_state(tmp_path)
    assert error_line(result.stderr) == f"no transfers yet ({state} does not exist)"
    assert tree(tmp_path) == []


def test_history_of_a_file_that_is_not_a_state_database(tmp_path: Path) -> None:
    """BUG: `sony-pm-alt history` does not catch StateError: a traceback ends with a good message
    ("state file … is corrupt or not a sqlite database …") instead of that one line."""
    state = tmp_path / "notes.txt"
    state.write_text("not a database\n")
    result = run_cli("history", "--state", str(state))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    line = error_line(result.stderr)
    assert line.startswith("sony-pm-alt: ")
    assert "not a sqlite database" in line


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One real `sony-pm-alt sync` from `sony-pm-alt emulate` serving a one-photo demo card
    (DSC00001.JPG and C0001.MP4)."""
    work = tmp_path_factory.mktemp("synced")
    card = build_demo_card(work / "card", photos=1)
    paths = {"card": card, "dest": work / "dest", "state": work / "state.sqlite3"}
    with running_emulator(work, "--guid", PAIRED_GUID, card=card) as emu:
        argv = _sync_args(paths["dest"], "--state", str(paths["state"]), port=emu.port)
        result = run_cli(*argv, env=child_env(work))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "2 of 2 files" in result.stderr.splitlines()[-1]
    return paths


def test_sync_from_the_emulator_saves_every_file(synced: dict[str, Path]) -> None:
    on_card = card_files(synced["card"])
    saved = {p.name: p for p in synced["dest"].rglob("*") if p.is_file()}
    assert sorted(saved) == sorted(Path(rel).name for rel in on_card)
    for rel, source in on_card.items():
        assert saved[Path(rel).name].read_bytes() == source.read_bytes()


def test_history_lists_what_the_sync_transferred(synced: dict[str, Path]) -> None:
    result = invoke("history", "--state", str(synced["state"]))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    seen = {}
    for line in lines:
        match = re.fullmatch(r"(\d{4}-\d\d-\d\d \d\d:\d\d)  (\S+)  (\S+) -> (\S+)", line)
        assert match, line
        when, camera, source, target = match.groups()
        datetime.strptime(when, "%Y-%m-%d %H:%M")
        assert camera == "00000000000000003282651203392641"
        assert Path(target).is_file()
        assert Path(target).is_relative_to(synced["dest"])
        seen[Path(source).name] = Path(target).name
    assert seen == {"DSC00001.JPG": "DSC00001.JPG", "C0001.MP4": "C0001.MP4"}


def test_history_json_lists_what_the_sync_transferred(synced: dict[str, Path]) -> None:
    result = invoke("history", "--state", str(synced["state"]), "--json")
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    sizes = {Path(rel).name: p.stat().st_size for rel, p in card_files(synced["card"]).items()}
    assert {r["name"]: r["size"] for r in records} == sizes
    for record in records:
        assert set(record) == {
            "camera",
            "folder",
            "name",
            "size",
            "path",
            "transferred_at",
            "camera_date",
        }
        assert record["camera"] == "00000000000000003282651203392641"
        assert Path(record["path"]).stat().st_size == record["size"]
        assert datetime.fromisoformat(record["transferred_at"]).tzinfo is not None
    newest_first = [r["transferred_at"] for r in records]
    assert newest_first == sorted(newest_first, reverse=True)


def test_history_limit_and_camera_filter(synced: dict[str, Path]) -> None:
    state = str(synced["state"])
    one = invoke("history", "--state", state, "--limit", "1", "--json")
    assert len(json.loads(one.stdout)) == 1
    other = invoke("history", "--state", state, "--camera", "12345", "--json")
    assert json.loads(other.stdout) == []
    mine = invoke("history", "--state", state, "--camera", "00000000000000003282651203392641")
    assert len(mine.stdout.splitlines()) == 2


# --- doctor, in a private network namespace ------------------------------------------------------


def doctor(config: Path) -> tuple[int, list[str]]:
    argv = [sys.executable, "-m", "sony_pm_alt", "doctor", "--config", str(config)]
    result = run_in_netns(argv, timeout=30)
    assert result.stderr == b"", result.stderr.decode()
    return result.returncode, result.stdout.decode().splitlines()


def _checks(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if re.match(rf"\[(ok  |WARN|FAIL)\] {name}: ", line)]


def test_doctor_without_a_guid(tmp_path: Path) -> None:
    dest = tmp_path / "photos" / "not-yet"
    config = write_config(tmp_path / "config.toml", f'[defaults]\ndest = "{dest}"\n')
    code, lines = doctor(config)
    assert code == 0, lines
    (network,) = _checks(lines, "network")
    assert network.startswith(f"[ok  ] network: joined {SSDP_GROUP} on UDP 1900")
    assert _checks(lines, "config") == [f"[ok  ] config: {config}"]
    assert _checks(lines, "GUID") == ["[WARN] GUID: no GUID configured: cameras will refuse us"]
    assert _checks(lines, "destination") == [f"[ok  ] destination: {dest} is writable"]


def test_doctor_with_a_guid(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", f'[defaults]\nguid = "{PAIRED_GUID}"\n')
    code, lines = doctor(config)
    assert code == 0, lines
    assert _checks(lines, "GUID") == []
    assert not [line for line in lines if "GUID" in line]
    assert _checks(lines, "network")[0].startswith(f"[ok  ] network: joined {SSDP_GROUP}")


def test_doctor_with_a_guid_for_one_camera_only(tmp_path: Path) -> None:
    text = f'[[camera]]\nmatch = "123"\nguid = "{PAIRED_GUID}"\n'
    code, lines = doctor(write_config(tmp_path / "config.toml", text))
    assert code == 0, lines
    assert _checks(lines, "GUID") == []


def test_doctor_with_a_destination_that_is_not_writable(tmp_path: Path) -> None:
    """Under a regular file nobody can create a folder. (A mode 0o500 folder would not do: the
    namespace runs the command as root of its user namespace, where permissions are not
    enforced on the caller's own files.)"""
    (tmp_path / "file.txt").write_text("x")
    dest = tmp_path / "file.txt" / "sub"
    config = write_config(
        tmp_path / "config.toml", f'[defaults]\nguid = "{PAIRED_GUID}"\ndest = "{dest}"\n'
    )
    code, lines = doctor(config)
    assert code == 1, lines
    (check,) = _checks(lines, "destination")
    assert check.startswith(f"[FAIL] destination: {dest} is not writable")
    assert _checks(lines, "network")[0].startswith("[ok  ] network: joined")


def test_doctor_with_a_bad_config(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", BAD_GUID_CONFIG)
    code, lines = doctor(config)
    assert code == 1, lines
    (check,) = _checks(lines, "config")
    assert check.startswith(f"[FAIL] config: {config}: defaults.guid: ")
    assert _checks(lines, "network")[0].startswith("[ok  ] network: joined")


# --- discover, in a private network namespace --------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True])
def test_discover_with_no_camera_around(as_json: bool) -> None:
    argv = [sys.executable, "-m", "sony_pm_alt", "discover", "--timeout", "0.5"]
    result = run_in_netns([*argv, "--json"] if as_json else argv, timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    if as_json:
        assert json.loads(result.stdout) == []
    else:
        assert result.stdout == b""
        assert error_line(result.stderr.decode()) == "no camera announced itself within 0.5 s"


# --- pair --------------------------------------------------------------------------------------


@pytest.mark.parametrize("guid", ["bad", "ff:ff:52:54", PAIRED_GUID + ":00"])
def test_pair_with_a_bad_guid(monkeypatch: pytest.MonkeyPatch, guid: str) -> None:
    def no_usb(*args: object, **kwargs: object) -> None:
        raise AssertionError("pair touched USB with a bad GUID")

    monkeypatch.setattr("sony_pm_alt.pairing.pair", no_usb)
    result = invoke("pair", "--guid", guid)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"GUID {guid!r}" in error_line(result.stderr)


def test_pair_with_no_sony_camera_on_usb() -> None:
    """This machine has no camera; without libusb pyusb has no backend at all. Either way:
    exit 1 and one line saying what to do."""
    result = run_cli("pair", "--guid", PAIRED_GUID)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    line = error_line(result.stderr)
    assert line.startswith(
        (
            "sony-pm-alt: no Sony camera found on USB: connect it with a USB cable",
            "sony-pm-alt: no libusb backend found: install libusb 1.0",
        )
    ), line


# --- emulate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--fault", "bogus"], "--fault"),
        (["--card", "/nonexistent/card"], "--card"),
        (["--guid", "nothex"], "--guid"),
        (["--without-op", "GetObject"], "--without-op"),
    ],
)
def test_emulate_usage_errors(args: list[str], mentions: str) -> None:
    result = invoke("emulate", "--port", "0", *args)
    assert result.exit_code == 2
    assert mentions in error_line(result.stderr)


def test_history_shows_camera_names_without_their_control_characters(tmp_path: Path) -> None:
    from sony_pm_alt.engine.model import CameraInfo, CameraObject
    from sony_pm_alt.engine.state import StateStore

    camera = CameraInfo("ILCE\x1b]0;owned\x07-6000", "0042")
    hostile = CameraObject("/store/DCIM/100MSDCF", "DSC\x1b[2J0001.JPG", 3, None, 0x3801)
    with StateStore(tmp_path / "state.sqlite3") as store:
        session = store.start_session(camera, 1)
        store.record_transfer(session, camera, hostile, tmp_path / "a/DSC0001.JPG", "0" * 64)
        store.end_session(session, transferred=1, failed=0, bytes=3, result="ok")
    files = invoke("history", "--state", str(tmp_path / "state.sqlite3"))
    sessions = invoke("history", "--sessions", "--state", str(tmp_path / "state.sqlite3"))
    assert files.exit_code == sessions.exit_code == 0
    assert "\x1b" not in files.stdout + sessions.stdout
    (line,) = files.stdout.splitlines()
    assert line.endswith(f"  0042  /store/DCIM/100MSDCF/DSC[2J0001.JPG -> {tmp_path}/a/DSC0001.JPG")
    assert "ILCE]0;owned-6000 0042" in sessions.stdout
