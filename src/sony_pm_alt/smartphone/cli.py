"""``sony-pm-alt smartphone``: settings, the optional Wi-Fi join, the import and what we say.

Exit status: 0 every planned file is safe and the camera left the mode; 1 some file is missing
(the camera stays in the mode; the next run fetches what is missing); 2 bad settings; 3 the
camera or its Wi-Fi could not be used at all.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import click

from ..config import CameraSettings, Config, camera_matches
from ..engine.naming import Template, TemplateError
from ..engine.state import StateStore, default_state_path
from ..errors import SonyPmAltError
from .sync import PhoneOptions, PhoneResult, phone_sync
from .wifi import joined


def _settings(config: Config, camera_match: str | None) -> CameraSettings:
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


def _fail(message: str, status: int) -> int:
    click.echo(f"sony-pm-alt: {message}", err=True)
    return status


def run_smartphone(
    config: Config,
    *,
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
) -> int:
    from ..console import JsonView, PlainView, RichView

    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise click.BadParameter(
            f"{address!r} is not an IPv4 address (the camera is usually 192.168.122.1)",
            param_hint="--address",
        ) from None
    settings = _settings(config, camera_match)
    target = dest or settings.dest
    if target is None:
        raise click.UsageError("no destination: give --dest, or dest in the config")
    chosen_template = template or settings.template
    try:
        Template(chosen_template)
    except TemplateError as exc:
        raise click.BadParameter(str(exc), param_hint="--template") from None
    options = PhoneOptions(
        dest=target,
        template=chosen_template,
        raw_previews=raw_previews,
        redownload=redownload,
        hook=hook or settings.hook,
    )
    view: Any = JsonView() if as_json else RichView() if sys.stderr.isatty() else PlainView()
    wifi: AbstractContextManager[Any] = (
        joined(settings.wifi_ssid, settings.wifi_password) if settings.wifi_ssid else nullcontext()
    )
    try:
        with wifi, StateStore(state_path or default_state_path()) as store:
            result = phone_sync(address, port=port, options=options, state=store, on_event=view)
    except (SonyPmAltError, OSError) as exc:
        return _fail(str(exc), 3)
    _say_end(result, as_json)
    return 0 if result.transfer_ended and result.summary.ok else 1


def _say_end(result: PhoneResult, as_json: bool) -> None:
    if as_json:
        record = {
            "event": "transfer_end",
            "sent": result.transfer_ended,
            "root": result.root,
            "missing": result.missing,
        }
        print(json.dumps(record), flush=True)
        return
    if result.transfer_ended:
        click.echo("the camera confirmed X_TransferEnd and left the transfer mode", err=True)
    else:
        click.echo(
            f"the camera stays in the transfer mode: {len(result.missing)} file(s) missing, "
            "run again to fetch them:",
            err=True,
        )
        for line in result.missing:
            click.echo(f"  {line}", err=True)
