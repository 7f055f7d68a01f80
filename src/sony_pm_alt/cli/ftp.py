"""Commands for newer bodies' FTP Transfer: ``receive-ftp``, ``emulate-ftp`` and
``ftp-password-hash``."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from .common import config_option, state_option
from .errors import ExitCode, fail


@click.command("receive-ftp")
@config_option
@click.option(
    "--listen", "--ftp-listen", "listen", help="Address to listen on. Default: [ftp] listen."
)
@click.option("--port", "--ftp-port", "port", help="Port (0: any free one). Default: [ftp] port.")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), help="Where files go.")
@click.option(
    "--once-idle",
    type=click.FloatRange(0.1),
    help="Exit after this many seconds without a camera connected (for scripts and tests).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines on standard output.")
@state_option
def receive_ftp(
    config_path: Path | None,
    listen: str | None,
    port: int | None,
    dest: Path | None,
    once_idle: float | None,
    as_json: bool,
    state_path: Path | None,
) -> None:
    """Receive the uploads of cameras in FTP Transfer mode (newer bodies) until SIGINT/SIGTERM.

    Uses [ftp] and the [[camera]] sections' ftp_user/ftp_password of the config; files go
    through the same checks, naming, state and hooks as a PTP/IP session. Exit status 0
    unless an upload failed and was not received again before the receiver stopped."""
    import json
    import signal

    from ..console import JsonView, PlainView
    from ..console.records import ftp_listening_record
    from ..engine.events import FileDone, FileFailed, SyncEvent
    from ..engine.state import StateError, StateStore, default_state_path
    from ..ftp.server import FtpReceiver
    from ..ftp.settings import FtpConfigError, accounts, receiver_settings
    from ..settings import ConfigError, load

    try:
        config = load(config_path, flags={"ftp_listen": listen, "ftp_port": port})
        settings, note = receiver_settings(config.ftp, accounts(config, dest))
    except (ConfigError, FtpConfigError) as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    if not settings.accounts:
        hint = "give a [[camera]] section ftp_user and ftp_password (or ftp_password_hash)"
        fail(f"no FTP accounts: {hint}; see docs/ftp.md", ExitCode.BAD_INPUT)
    view: Any = JsonView() if as_json else PlainView()
    lock = threading.Lock()
    open_failures: set[tuple[str, str]] = set()

    def on_event(event: SyncEvent) -> None:
        with lock:
            if isinstance(event, FileFailed):
                open_failures.add((event.obj.folder, event.obj.name))
            elif isinstance(event, FileDone):
                open_failures.discard((event.obj.folder, event.obj.name))
            view(event)

    try:
        store = StateStore(state_path or default_state_path())
    except StateError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    try:
        receiver = FtpReceiver(settings, store, on_event).start()
    except OSError as exc:
        store.close()
        address = f"{settings.listen}:{settings.port}"
        message = f"cannot listen for FTP on {address}: {exc} (see docs/ftp.md for port 21)"
        fail(message, ExitCode.NO_SESSION)
    host, bound = receiver.address
    users = ", ".join(a.user for a in settings.accounts)
    listening = ftp_listening_record(host, bound, note, users)
    if as_json:
        print(json.dumps(listening), flush=True)
    click.echo(listening["message"], err=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    idle_since = time.monotonic()
    try:
        while not stop.wait(0.2):
            if receiver.connections():
                idle_since = time.monotonic()
            elif once_idle is not None and time.monotonic() - idle_since >= once_idle:
                break
    finally:
        receiver.stop()
        store.close()
    sys.exit(ExitCode.FAILED if open_failures else ExitCode.OK)


@click.command("emulate-ftp")
@click.option("--ftp", "target", required=True, help="The server, HOST:PORT.")
@click.option("--user", required=True)
@click.option("--password", required=True)
@click.option("--passive/--active", default=True, help="Passive Mode.")
@click.option("--secure/--no-secure", default=False, help="Secure Protocol.")
@click.option("--cafile", type=click.Path(dir_okay=False, path_type=Path),
              help="Imported root certificate (else: connect anyway).")  # fmt: skip
@click.option(
    "--hierarchy",
    type=click.Choice(["standard", "camera"]),
    default="standard",
    help='Directory Hierarchy: "Standard" or "Same as in Camera".',
)
@click.option("--directory", default="", show_default=False, help="Specify Directory.")
@click.option("--overwrite/--no-overwrite", default=True,
              help="Same Name File: Overwrite / Don't Overwrite.")  # fmt: skip
@click.option("--files", "count", default=9, type=click.IntRange(1, 100_000))
@click.option("--first-number", default=1, type=click.IntRange(1, 9999))
@click.option("--kinds", default="jpeg,arw,mp4")
@click.option("--mp4-bytes", default=200_000, type=click.IntRange(0))
@click.option("--seed", default=0, type=int)
@click.option("--trickle", default=0.0, type=click.FloatRange(0, 3600),
              help="Seconds between files (Auto FTP Transfer while shooting).")  # fmt: skip
@click.option("--fault", "faults", multiple=True,
              help="drop-mid-upload=K, resume=restart|rest|appe, wrong-password=1")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="What was sent, as JSON lines.")
def emulate_ftp(
    target: str,
    user: str,
    password: str,
    passive: bool,
    secure: bool,
    cafile: Path | None,
    hierarchy: str,
    directory: str,
    overwrite: bool,
    count: int,
    first_number: int,
    kinds: str,
    mp4_bytes: int,
    seed: int,
    trickle: float,
    faults: tuple[str, ...],
    as_json: bool,
) -> None:
    """Pretend to be a newer Sony body in FTP Transfer mode: upload generated JPEG, ARW and
    MP4 files to an FTP server with the camera's menu settings."""
    import dataclasses
    import ftplib
    import json

    from ..emulator.ftp_camera import FtpCamera, FtpCameraError, FtpCameraSettings, FtpFaults
    from ..emulator.ftp_media import card

    host, _, port_text = target.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise click.BadParameter(f"{target!r} is not HOST:PORT", param_hint="--ftp")
    try:
        fault_config = FtpFaults.parse(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    wanted = tuple(k.strip() for k in kinds.split(",") if k.strip())
    if not wanted or set(wanted) - {"jpeg", "arw", "heif", "mp4"}:
        raise click.BadParameter("give jpeg, arw, heif and/or mp4", param_hint="--kinds")
    settings = FtpCameraSettings(
        host=host.strip("[]"),
        port=int(port_text),
        user=user,
        password=password,
        passive=passive,
        secure=secure,
        hierarchy=hierarchy,
        directory=directory,
        overwrite=overwrite,
        trickle=trickle,
        cafile=cafile,
        faults=fault_config,
    )
    files = card(count, first_number=first_number, seed=seed, kinds=wanted, mp4_bytes=mp4_bytes)
    camera = FtpCamera(settings, lambda line: click.echo(line, err=True))
    try:
        sent = camera.send_all(files)
    except (FtpCameraError, ftplib.Error, OSError, EOFError) as exc:
        fail(f"the FTP server refused the camera: {exc}", ExitCode.FAILED)
    if as_json:
        for record in sent:
            print(json.dumps(dataclasses.asdict(record)))


@click.command("ftp-password-hash")
def ftp_password_hash() -> None:
    """Read a password (prompted, or one line on standard input) and print the
    ftp_password_hash to put in the config instead of the password."""
    from ..ftp.accounts import hash_password

    if sys.stdin.isatty():
        password = click.prompt("FTP password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("an empty password is not allowed", ExitCode.BAD_INPUT)
    click.echo(hash_password(password))
