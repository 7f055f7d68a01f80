"""Command line: argument parsing and presentation only; the work lives in the packages."""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__

if TYPE_CHECKING:
    from .config import Config
    from .emulator import Emulator
    from .engine.state import SessionRecord


def _guid(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> frozenset[bytes]:
    from .identity import parse_guid

    try:
        return frozenset(parse_guid(v) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _opcodes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> frozenset[int]:
    try:
        return frozenset(int(v, 0) for v in values)
    except ValueError:
        raise click.BadParameter(
            f"expected opcodes such as 0x9805, got {' '.join(values)}"
        ) from None


def _mac(ctx: click.Context, param: click.Parameter, value: str | None) -> bytes | None:
    from .emulator.body import parse_mac

    if value is None:
        return None
    try:
        return parse_mac(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sony-pm-alt")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Wireless photo import from Sony cameras in "Send to Computer" mode."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # libgphoto2's own complaints ("Failed to connect.") repeat what sony-pm-alt says in its
    # own words; shown with -v.
    logging.getLogger("gphoto2").setLevel(logging.ERROR if verbose == 0 else level)


def _load_config(config_path: Path | None, **flags: object) -> Config:
    from .config import ConfigError, apply_overrides, load_config

    try:
        return apply_overrides(load_config(config_path), **flags)
    except ConfigError as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(2)


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file. Default: ~/.config/sony-pm-alt/config.toml.",
)
@click.option("--guid", help="The GUID the camera was paired with (overrides the config).")
@click.option("--name", "friendly_name", help="Name shown on the camera. Default: host name.")
@click.option("--dest", help="Where photos and videos go.")
@click.option("--template", help="Path template (see sony-pm-alt sync --help).")
@click.option("--profile", help="Vendor profile: upstream, playmemories, none, or a .toml file.")
@click.option("--interface", help="IPv4 address of the LAN interface to listen on.")
@click.option("--cooldown", type=float, help="Seconds before the same camera may start again.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State database. Default: in the XDG data directory.",
)
@click.option("--once", is_flag=True, help="Exit after the first session (for scripts, demos).")
@click.option("--ptpip-port", default=15740, hidden=True, type=click.IntRange(1, 65535))
@click.option("--ftp-port", type=click.IntRange(0, 65535), help="FTP receiver port (over [ftp]).")
def watch(
    config_path: Path | None,
    guid: str | None,
    friendly_name: str | None,
    dest: str | None,
    template: str | None,
    profile: str | None,
    interface: str | None,
    cooldown: float | None,
    state_path: Path | None,
    once: bool,
    ptpip_port: int,
    ftp_port: int | None,
) -> None:
    """Wait for cameras in "Send to Computer" mode and import from them (the main job).

    Runs until SIGINT/SIGTERM, which stop between two chunks: no partial file ever appears
    at a final name, and the next session resumes it. With [ftp] enabled in the config it
    also receives newer bodies' FTP Transfer uploads (docs/ftp.md)."""
    import signal
    import threading

    from .console import WatchView
    from .engine.state import default_state_path
    from .watcher import Watcher

    config = _load_config(
        config_path,
        guid=guid,
        name=friendly_name,
        dest=dest,
        template=template,
        profile=profile,
        interface=interface,
        cooldown=cooldown,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    view = WatchView(sys.stderr.isatty())
    watcher = Watcher(
        config,
        state_path=state_path or default_state_path(),
        on_event=view,
        ptpip_port=ptpip_port,
        once=once,
        ftp_port=ftp_port,
    )
    phone = None
    if any(settings.wifi_ssid for _match, settings in config.cameras):
        from .smartphone.watch import start_phone_watcher

        phone = start_phone_watcher(config, state_path or default_state_path(), view, stop)
    view.waiting(config)
    try:
        watcher.run(stop)
    except OSError as exc:
        click.echo(f"sony-pm-alt: cannot listen for cameras: {exc}", err=True)
        sys.exit(3)
    except ValueError as exc:  # e.g. an [ftp] account without dest (ftp.settings)
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(2)
    finally:
        stop.set()
        if phone is not None:
            phone.join()  # an import stops after its current file; the Wi-Fi is restored
    sys.exit(0 if view.failures == 0 else 1)


@main.command()
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(0.5, 600))
@click.option("--interface", help="IPv4 address of the LAN interface to search on.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array on standard output.")
def discover(timeout: float, interface: str | None, as_json: bool) -> None:
    """List the cameras announcing "Send to Computer" right now."""
    import json

    from .discovery import DiscoveryConfig
    from .discovery import discover as run_discover

    try:
        cameras = run_discover(DiscoveryConfig(interface=interface), timeout)
    except OSError as exc:
        click.echo(f"sony-pm-alt: cannot search for cameras: {exc}", err=True)
        sys.exit(3)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "host": c.host,
                        "model": c.model,
                        "friendly_name": c.friendly_name,
                        "udn": c.udn,
                        "serial": c.serial,
                        "location": c.location,
                    }
                    for c in cameras
                ],
                indent=1,
            )
        )
        return
    if not cameras:
        click.echo(f"no camera announced itself within {timeout:g} s", err=True)
    from .engine.sanitize import clean_text

    for c in cameras:  # names come from the LAN: no control characters on a terminal
        click.echo(clean_text(f"{c.host}  {c.model}  serial {c.serial}  {c.udn}"))


@main.group()
def config() -> None:
    """The configuration file of `sony-pm-alt watch`."""


@config.command("init")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Where to write it.")
def config_init(path: Path | None) -> None:
    """Write a commented example config file."""
    from .config import ConfigError, default_config_path, write_example

    target = path or default_config_path()
    try:
        write_example(target)
    except ConfigError as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(2)
    click.echo(f"wrote {target}; set guid and dest in it")


@config.command("show")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Config file.")
def config_show(path: Path | None) -> None:
    """Print the effective configuration (file, environment, defaults)."""
    from .config import describe

    click.echo(describe(_load_config(path)))


@main.group()
def guid() -> None:
    """Find or make the PTP/IP GUID a camera is paired with (see docs/pairing.md)."""


@guid.command("from-mac")
@click.argument("mac")
def guid_from_mac_command(mac: str) -> None:
    """The GUID PlayMemories Home registered, from the MAC of the PC it ran on."""
    from .guid_tools import guid_from_mac
    from .identity import format_guid

    try:
        click.echo(format_guid(guid_from_mac(mac)))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="MAC") from None


@guid.command("from-container-id")
@click.argument("container_id")
def guid_from_container_id_command(container_id: str) -> None:
    """The GUID from a Windows registry ContainerID {…} (reported by one user; unverified)."""
    from .guid_tools import guid_from_container_id
    from .identity import format_guid

    try:
        click.echo(format_guid(guid_from_container_id(container_id)))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CONTAINER_ID") from None


@guid.command("from-capture")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def guid_from_capture_command(capture: Path) -> None:
    """The GUID(s) in a pcap/pcapng capture of a PlayMemories session."""
    from .guid_tools import guids_from_capture
    from .identity import format_guid

    try:
        found = guids_from_capture(capture)
    except ValueError as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(2)
    if not found:
        click.echo(f"no PTP/IP Init Command Request in {capture}", err=True)
        sys.exit(1)
    for init in found:
        click.echo(
            f"{format_guid(init.guid)}  name {init.friendly_name!r}  {init.client} -> {init.server}"
        )


@guid.command("new")
def guid_new_command() -> None:
    """A fresh GUID in PlayMemories' shape, to register with `sony-pm-alt pair`."""
    from .guid_tools import new_guid
    from .identity import format_guid

    click.echo(format_guid(new_guid()))


@main.command()
@click.option("--guid", "guid_text", required=True, help="The GUID to register.")
@click.option("--name", "host_name", help="Host name stored on the camera (≤ 8 ASCII chars).")
def pair(guid_text: str, host_name: str | None) -> None:
    """Register a GUID with a camera connected by USB in Mass Storage mode (no Windows needed;
    untested on hardware — see docs/pairing.md)."""
    from .identity import default_friendly_name, parse_guid
    from .pairing import PairingError
    from .pairing import pair as run_pair

    try:
        value = parse_guid(guid_text)
        run_pair(value, (host_name or default_friendly_name())[:8])
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    except PairingError as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(1)
    click.echo("paired: choose Send to Computer on the camera and run `sony-pm-alt watch`")


@main.command()
@click.option("--host", required=True, help="The camera's IPv4 address.")
@click.option("--port", default=15740, show_default=True, type=click.IntRange(1, 65535))
@click.option("--guid", required=True, help="The GUID the camera was paired with.")
@click.option("--name", "friendly_name", help="Name shown on the camera. Default: host name.")
@click.option(
    "--dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where photos and videos go.",
)
@click.option(
    "--template",
    default=None,
    help="Path template, default {year}/{year}-{month}-{day}/{filename}.",
)
@click.option(
    "--profile",
    default="upstream",
    show_default=True,
    help="Vendor profile: upstream, playmemories, none, or a .toml file.",
)
@click.option("--ext", "extensions", help="Only these extensions, e.g. jpg,arw.")
@click.option("--kind", "kinds", help="Only these kinds: photos, raw, videos.")
@click.option("--since", help="Only files captured on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only files captured on or before this date (YYYY-MM-DD).")
@click.option(
    "--hook",
    help="Command run at start, after each file and at the end "
    "(ACTION, ARGUMENT in its environment, JSON on standard input).",
)
@click.option("--redownload", is_flag=True, help="Download again what was transferred before.")
@click.option("--dry-run", is_flag=True, help="List and plan only; download nothing.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on standard output.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State database. Default: in the XDG data directory.",
)
@click.option("--no-bulk-listing", is_flag=True, help="List folder by folder (slower).")
@click.option(
    "--keepalive",
    default=20.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Ping the camera after this many idle seconds (a Sony body gives up after ~120).",
)
@click.option(
    "--partial-max-age-days",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, 36_500),
    help="Remove hidden partial downloads of files no longer on the camera after this many "
    "days untouched (0 = never).",
)
def sync(
    host: str,
    port: int,
    guid: str,
    friendly_name: str | None,
    dest: Path,
    template: str | None,
    profile: str,
    extensions: str | None,
    kinds: str | None,
    since: str | None,
    until: str | None,
    hook: str | None,
    redownload: bool,
    dry_run: bool,
    as_json: bool,
    state_path: Path | None,
    no_bulk_listing: bool,
    keepalive: float,
    partial_max_age_days: float,
) -> None:
    """Run one session with a camera in "Send to Computer" mode: download what is new.

    Exit status 0 only when every planned file is safe on disk and the listing complete;
    1 when not; 4 when the files are safe but the camera did not confirm the profile's
    power-off (it may still be on)."""
    from .console import JsonView, PlainView, RichView
    from .engine.filters import Filters
    from .engine.naming import DEFAULT_TEMPLATE, Template, TemplateError
    from .engine.state import StateStore, default_state_path
    from .engine.sync import SyncOptions
    from .engine.sync import sync as run_sync
    from .identity import Identity
    from .profiles import ProfileError, load_profile

    try:
        identity = Identity.from_text(guid, friendly_name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--guid/--name") from None
    try:
        filters = Filters.parse(extensions, kinds, since, until)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        Template(template or DEFAULT_TEMPLATE)
    except TemplateError as exc:
        raise click.BadParameter(str(exc), param_hint="--template") from None
    try:
        chosen = load_profile(profile)
    except ProfileError as exc:
        raise click.BadParameter(str(exc), param_hint="--profile") from None
    options = SyncOptions(
        dest=dest,
        template=template or DEFAULT_TEMPLATE,
        filters=filters,
        profile=chosen,
        redownload=redownload,
        dry_run=dry_run,
        hook=hook,
        bulk_listing=not no_bulk_listing,
        keepalive_interval=keepalive,
        partial_max_age_days=partial_max_age_days,
    )
    view = JsonView() if as_json else RichView() if sys.stderr.isatty() else PlainView()
    with _session_errors(), StateStore(state_path or default_state_path()) as store:
        summary = run_sync(
            host,
            port=port,
            identity=identity,
            options=options,
            state=store,
            on_event=view,
            cancel=_cancel_on_signals(),
        )
    if summary.stopped:
        click.echo(f"sony-pm-alt: {summary.stopped}", err=True)
    sys.exit(
        0
        if summary.ok and not summary.power_off_failed
        else EXIT_POWER_OFF_UNCONFIRMED
        if summary.ok
        else 1
    )


# Exit statuses of `sync` (README "Exit statuses"): 0 every planned file is safe (and the camera
# was left as the profile asks); 1 the session ran but some files were not fetched or the listing
# was incomplete (the summary says which and why); 2 bad usage, config or state file; 3 no
# session: the camera or the destination could not be used; 4 every file is safe but the
# power-off the profile asks for was not confirmed; 130 interrupted.
EXIT_NO_SESSION = 3
EXIT_POWER_OFF_UNCONFIRMED = 4
EXIT_INTERRUPTED = 130


def _cancel_on_signals() -> threading.Event:
    """An event set by the first SIGINT/SIGTERM; the sync stops between two chunks. (A
    KeyboardInterrupt could land inside a libgphoto2 callback, where it is lost.) A second
    signal interrupts at once."""
    cancel = threading.Event()

    def stop(signum: int, frame: object) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    return cancel


@contextmanager
def _session_errors() -> Iterator[None]:
    """The one error boundary of a session: a line on standard error and the exit status,
    never a traceback."""
    from .engine.state import StateError
    from .engine.sync import SyncCancelled
    from .errors import SonyPmAltError

    try:
        yield
    except (KeyboardInterrupt, SyncCancelled):
        click.echo(
            "sony-pm-alt: interrupted; finished files are kept and recorded, the file in "
            "transfer is resumed next time, the camera stays on",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    except StateError as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(2)
    except (SonyPmAltError, ValueError, OSError) as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(EXIT_NO_SESSION)


@main.command()
@click.option(
    "--address",
    default="192.168.122.1",
    show_default=True,
    help="The camera's address on its own Wi-Fi.",
)
@click.option("--port", default=64321, show_default=True, type=click.IntRange(1, 65535))
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), help="Where photos go.")
@click.option("--template", help="Path template (see sony-pm-alt sync --help).")
@click.option(
    "--raw-previews",
    is_flag=True,
    help="For RAW files (not offered in this mode) save their JPEG preview as NAME-preview.JPG.",
)
@click.option("--redownload", is_flag=True, help="Download again what was transferred before.")
@click.option("--hook", help="Command run at start, after each file and at the end.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on standard output.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--camera",
    "camera_match",
    help="A [[camera]] match from the config: its dest, template, hook, and Wi-Fi to join "
    "(wifi_ssid, wifi_password) through NetworkManager.",
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
def smartphone(
    address: str,
    port: int,
    dest: Path | None,
    template: str | None,
    raw_previews: bool,
    redownload: bool,
    hook: str | None,
    as_json: bool,
    state_path: Path | None,
    camera_match: str | None,
    config_path: Path | None,
) -> None:
    """Import from a body in "Send to Smartphone" mode (no pairing; JPEG originals only).

    Exit status 0 only when every planned file is safe and the camera left the mode."""
    from .smartphone.cli import run_smartphone

    config = _load_config(config_path)
    sys.exit(
        run_smartphone(
            config,
            address=address,
            port=port,
            dest=dest,
            template=template,
            raw_previews=raw_previews,
            redownload=redownload,
            hook=hook,
            as_json=as_json,
            state_path=state_path,
            camera_match=camera_match,
        )
    )


@main.command()
@click.option("--camera", help="Only this camera (serial).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sessions", is_flag=True, help="Sessions and how they ended, instead of transfers.")
def history(
    camera: str | None, limit: int, as_json: bool, state_path: Path | None, sessions: bool
) -> None:
    """What was transferred, when and where (newest first)."""
    import json

    from .engine.state import StateError, StateStore, default_state_path

    path = state_path or default_state_path()
    if not path.exists():
        click.echo(f"no transfers yet ({path} does not exist)", err=True)
        return
    try:
        with StateStore(path) as store:
            if sessions:
                try:
                    store.mark_interrupted()
                except StateError as exc:  # e.g. a read-only copy: show what is recorded
                    logging.getLogger("sony_pm_alt").warning("%s", exc)
                _print_sessions(store.sessions(camera, limit), as_json)
                return
            transfers = store.transfers(camera, limit)
    except StateError as exc:
        click.echo(f"sony-pm-alt: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "camera": t.camera,
                        "folder": t.folder,
                        "name": t.name,
                        "size": t.size,
                        "path": t.path,
                        "transferred_at": t.transferred_at.isoformat(),
                        "camera_date": t.camera_date,
                    }
                    for t in transfers
                ],
                indent=1,
            )
        )
        return
    for t in transfers:
        when = t.transferred_at.astimezone().strftime("%Y-%m-%d %H:%M")
        click.echo(f"{when}  {t.camera}  {t.folder}/{t.name} -> {t.path}")


def _print_sessions(records: list[SessionRecord], as_json: bool) -> None:
    import json

    if as_json:
        rows = [
            {
                "id": r.id,
                "camera": r.camera,
                "model": r.model,
                "started_at": r.started_at.isoformat(),
                "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                "planned": r.planned,
                "transferred": r.transferred,
                "failed": r.failed,
                "bytes": r.bytes,
                "result": r.result,
            }
            for r in records
        ]
        click.echo(json.dumps(rows, indent=1))
        return
    for r in records:
        when = r.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{when}  {r.model} {r.camera}  {r.result}: {r.transferred} of {r.planned} files"
            + (f", {r.failed} failed" if r.failed else "")
        )


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--quiet",
    is_flag=True,
    help="Print only failures; the exit status (1 on any failure) is the answer. "
    "For health checks.",
)
def doctor(config_path: Path | None, quiet: bool) -> None:
    """Check libraries, the native layer, the config, destinations and the network."""
    from .doctor import Status, run_checks

    marks = {Status.OK: "ok  ", Status.WARN: "WARN", Status.FAIL: "FAIL"}
    checks = run_checks(config_path)
    for check in checks:
        if quiet and check.status is not Status.FAIL:
            continue
        click.echo(f"[{marks[check.status]}] {check.name}: {check.detail}")
        if check.advice:
            click.echo(f"       {check.advice}")
    if any(c.status is Status.FAIL for c in checks):
        sys.exit(1)


@main.command()
@click.option(
    "--card",
    "card_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory served as the memory card. Default: the built-in demo card.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="PTP/IP port (a real camera uses 15740); 0 picks a free one. "
    "The bound port is printed alone on the first line of output.",
)
@click.option(
    "--guid",
    "guids",
    multiple=True,
    callback=_guid,
    metavar="GUID",
    help="Paired initiator GUID (repeatable). Others get Init Fail. Default: accept any.",
)
@click.option("--model", default="ILCE-6000", show_default=True, help="Model name reported.")
@click.option("--serial", default="00000000000000003282651203392641", show_default=True)
@click.option("--mac", callback=_mac, help="Camera MAC (its GUID and SSDP uuid derive from it).")
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write JSON lines of everything received and done to this file.",
)
@click.option(
    "--inactivity-timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds of silence after which the camera gives up, as a real body does.",
)
@click.option(
    "--activations",
    default=1,
    show_default=True,
    type=click.IntRange(0),
    help='How many times "Send to Computer" is chosen before the emulator exits (0 = forever).',
)
@click.option(
    "--legacy-power-off",
    is_flag=True,
    help="Power off on the power-off 0x9280 alone, as an ILCE-5000 did; newer bodies "
    "(the default) wait for the 0x9281 that follows it.",
)
@click.option(
    "--lenient-tids",
    is_flag=True,
    help="Accept out-of-sequence transaction IDs (logged) as a real body did.",
)
@click.option(
    "--without-op",
    "without_ops",
    multiple=True,
    callback=_opcodes,
    metavar="OPCODE",
    help="Do not offer this operation, e.g. 0x9805 (repeatable).",
)
@click.option(
    "--partial64",
    is_flag=True,
    help="Also offer GetPartialObject64 (0x95C1, Android's MTP extension), to test reads of "
    "files of 4 GiB or more; no real Sony body is known to offer it.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="KIND=VALUE",
    help="Inject a fault (repeatable): drop-after-bytes=N, drop-at=OPCODE:K, "
    "latency=[OPCODE:]SECONDS, busy-first=N, refuse-init=REASON, hostile-names=1 (files "
    "reported under names such as ../../escape.JPG; data unchanged), folder-cycle=1, "
    "huge-counts=1, bad-dates=1, listing-size-mismatch=N, busy-open-session=N; hostile data "
    "phases: oversize-data=N, undersize-data=N, endless-data=1, lying-length=N, stale-reply=1 "
    "(see emulator/faults.py).",
)
@click.option("--ssdp", is_flag=True, help="Announce over SSDP and serve /DeviceDescription.xml.")
@click.option("--advertise-host", help="Address put in LOCATION. Default: --host.")
@click.option("--ssdp-interface", help="IPv4 address of the interface used for multicast.")
@click.option("--ssdp-group", default="239.255.255.250", show_default=True)
@click.option("--ssdp-port", default=1900, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--http-port",
    default=1900,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port of the description server (0 picks a free one).",
)
@click.option("--notify-interval", default=3.0, show_default=True, type=click.FloatRange(0.05))
@click.option(
    "--smartphone",
    is_flag=True,
    help='Be a body in "Send to Smartphone" mode instead (UPnP on --port, default 64321 on a '
    "real body; 8 RAW+JPEG shots unless --card).",
)
@click.option("--page-size", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--select",
    "selected",
    multiple=True,
    help="Smartphone mode: a file name selected on the camera (PushRoot; repeatable). "
    "Default: all.",
)
def emulate(
    card_dir: Path | None,
    host: str,
    port: int,
    guids: frozenset[bytes],
    model: str,
    serial: str,
    mac: bytes | None,
    log_path: Path | None,
    inactivity_timeout: float,
    activations: int,
    legacy_power_off: bool,
    lenient_tids: bool,
    without_ops: frozenset[int],
    partial64: bool,
    faults: tuple[str, ...],
    ssdp: bool,
    advertise_host: str | None,
    ssdp_interface: str | None,
    ssdp_group: str,
    ssdp_port: int,
    http_port: int,
    notify_interval: float,
    smartphone: bool,
    page_size: int,
    selected: tuple[str, ...],
) -> None:
    """Pretend to be a Sony camera in "Send to Computer" mode (no camera needed)."""
    if smartphone:
        from .emulator.phone_cli import run_phone_emulator

        run_phone_emulator(card_dir, host, port, model, faults, page_size, selected, log_path)
        return
    import asyncio

    from .emulator import (
        BodyConfig,
        Emulator,
        EmulatorConfig,
        FaultSpecError,
        Recorder,
        SsdpConfig,
        build_demo_card,
        parse_faults,
    )
    from .emulator.body import DEFAULT_MAC

    try:
        fault_config = parse_faults(faults)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-demo-card-") as scratch:
        if card_dir is None:
            card_dir = build_demo_card(Path(scratch))
        elif not card_dir.is_dir():
            raise click.BadParameter(f"{card_dir} is not a directory", param_hint="--card")
        body = BodyConfig(
            model=model,
            serial_number=serial,
            mac=mac or DEFAULT_MAC,
            allowed_guids=guids,
            without_operations=without_ops,
            power_off_needs_9281=not legacy_power_off,
            partial_object_64=partial64,
        )
        ssdp_config = (
            SsdpConfig(
                advertise_host=advertise_host or host,
                interface=ssdp_interface,
                group=ssdp_group,
                port=ssdp_port,
                http_host=host,
                http_port=http_port,
                notify_interval=notify_interval,
            )
            if ssdp
            else None
        )
        config = EmulatorConfig(
            card_dir=card_dir,
            body=body,
            host=host,
            port=port,
            inactivity_timeout=inactivity_timeout,
            activations=activations,
            strict_tids=not lenient_tids,
            faults=fault_config,
            ssdp=ssdp_config,
        )
        recorder = Recorder(log_path)
        try:
            asyncio.run(_run_emulator(Emulator(config, recorder)))
        except OSError as exc:
            raise click.ClickException(f"cannot start the emulator: {exc}") from None
        finally:
            recorder.close()


async def _run_emulator(emulator: Emulator) -> None:
    import asyncio
    import signal

    port = await emulator.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, emulator.stop)
    config = emulator.config
    click.echo(port)
    click.echo(
        f"Sony {config.body.model} emulator: PTP/IP on {config.host}:{port}, card {config.card_dir}"
    )
    sys.stdout.flush()
    await emulator.run()


# Newer bodies' FTP Transfer: receive-ftp, emulate-ftp, ftp-password-hash (cli_ftp.py).
from .cli_ftp import emulate_ftp, ftp_password_hash, receive_ftp  # noqa: E402

main.add_command(receive_ftp)
main.add_command(emulate_ftp)
main.add_command(ftp_password_hash)
