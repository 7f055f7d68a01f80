"""``sony-pm-alt smartphone``: settings, the optional Wi-Fi join, the import and what we say."""

from __future__ import annotations

import ipaddress
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .common import config_option, load_config_or_exit, state_option
from .errors import ExitCode, fail
from .options import SettingsCommand

if TYPE_CHECKING:
    from ..settings import CameraSettings, Settings


@click.command(cls=SettingsCommand, sections=("defaults",), keys=("dest", "template", "hook"))
@click.option(
    "--address",
    default="192.168.122.1",
    help="The camera's address on its own Wi-Fi.",
)
@click.option("--port", default=64321, type=click.IntRange(1, 65535))
@click.option(
    "--raw-previews",
    is_flag=True,
    help="For RAW files (not offered in this mode) save their JPEG preview as NAME-preview.JPG.",
)
@click.option("--redownload", is_flag=True, help="Download again what was transferred before.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on standard output.")
@state_option
@click.option(
    "--camera",
    "camera_match",
    help="A [[camera]] match from the config: its dest, template, hook (the flags win over "
    "them), and Wi-Fi to join (wifi_ssid, wifi_password) through NetworkManager.",
)
@config_option
def smartphone(
    address: str,
    port: int,
    raw_previews: bool,
    redownload: bool,
    as_json: bool,
    state_path: Path | None,
    camera_match: str | None,
    config_path: Path | None,
    **flags: Any,
) -> None:
    """Import from a body in "Send to Smartphone" mode (no pairing; JPEG originals only).

    Exit status 0 only when every planned file is safe and the camera left the mode; 1 some
    file is missing (the camera stays in the mode; the next run fetches what is missing); 2 bad
    settings; 3 the camera or its Wi-Fi could not be used at all."""
    from ..console import JsonView, PlainView, RichView, shown
    from ..console.records import transfer_end_record
    from ..engine.state import StateStore, default_state_path
    from ..errors import SonyPmAltError
    from ..settings import ConfigError, override, shared
    from ..smartphone.sync import PhoneOptions, phone_sync
    from ..smartphone.wifi import joined

    config = load_config_or_exit(config_path)

    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise click.BadParameter(
            f"{address!r} is not an IPv4 address (the camera is usually 192.168.122.1)",
            param_hint="--address",
        ) from None
    try:
        settings = override(_settings(config, camera_match), flags)
    except ConfigError as exc:  # the flags win over the chosen camera's section
        fail(str(exc), ExitCode.BAD_INPUT)
    if settings.dest is None:
        raise click.UsageError("no destination: give --dest, or dest in the config")
    chosen = shared(settings, PhoneOptions)  # dest, template, hook
    options = PhoneOptions(**chosen, raw_previews=raw_previews, redownload=redownload)
    view: Any = JsonView() if as_json else RichView() if sys.stderr.isatty() else PlainView()
    wifi: AbstractContextManager[Any] = (
        joined(settings.wifi_ssid, settings.wifi_password) if settings.wifi_ssid else nullcontext()
    )
    try:
        with wifi, StateStore(state_path or default_state_path()) as store:
            result = phone_sync(address, port=port, options=options, state=store, on_event=view)
    except (SonyPmAltError, OSError) as exc:
        fail(str(exc), ExitCode.NO_SESSION)
    record = transfer_end_record(result.transfer_ended, result.root, result.missing)
    if as_json:
        print(json.dumps(record), flush=True)
    elif result.transfer_ended:
        click.echo(record["message"], err=True)
    else:
        click.echo(record["message"] + ", run again to fetch them:", err=True)
        for line in result.missing:
            click.echo(f"  {shown(line)}", err=True)
    sys.exit(ExitCode.OK if result.transfer_ended and result.summary.ok else ExitCode.FAILED)


def _settings(config: Settings, camera_match: str | None) -> CameraSettings:
    from ..settings import camera_matches

    if camera_match is None:
        return config.defaults
    for match, settings in config.cameras:
        if camera_matches(match, camera_match, camera_match):
            return settings
    known = ", ".join(match for match, _ in config.cameras) or "none"
    raise click.BadParameter(
        f"no [[camera]] with match = {camera_match!r} in the config (known: {known})",
        param_hint="--camera",
    )
