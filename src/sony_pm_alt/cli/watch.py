"""``sony-pm-alt watch``: the main job."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..ptpip.packets import PTPIP_PORT
from .common import load_config_or_exit


@click.command()
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
@click.option("--ptpip-port", default=PTPIP_PORT, hidden=True, type=click.IntRange(1, 65535))
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

    from ..console import WatchView
    from ..engine.state import default_state_path
    from ..watcher import Watcher

    config = load_config_or_exit(
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
        from ..smartphone.watch import start_phone_watcher

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
