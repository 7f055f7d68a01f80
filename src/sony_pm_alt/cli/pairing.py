"""``sony-pm-alt guid …`` and ``pair``: find, make and register the GUID a camera is paired with."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import ExitCode, fail


@click.group()
def guid() -> None:
    """Find or make the PTP/IP GUID a camera is paired with (see docs/pairing.md)."""


@guid.command("from-mac")
@click.argument("mac")
def guid_from_mac_command(mac: str) -> None:
    """The GUID PlayMemories Home registered, from the MAC of the PC it ran on."""
    from ..guid_tools import guid_from_mac
    from ..identity import format_guid

    try:
        click.echo(format_guid(guid_from_mac(mac)))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="MAC") from None


@guid.command("from-container-id")
@click.argument("container_id")
def guid_from_container_id_command(container_id: str) -> None:
    """The GUID from a Windows registry ContainerID {…} (reported by one user; unverified)."""
    from ..guid_tools import guid_from_container_id
    from ..identity import format_guid

    try:
        click.echo(format_guid(guid_from_container_id(container_id)))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CONTAINER_ID") from None


@guid.command("from-capture")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def guid_from_capture_command(capture: Path) -> None:
    """The GUID(s) in a pcap/pcapng capture of a PlayMemories session."""
    from ..guid_tools import guids_from_capture
    from ..identity import format_guid

    try:
        found = guids_from_capture(capture)
    except ValueError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    if not found:
        click.echo(f"no PTP/IP Init Command Request in {capture}", err=True)
        sys.exit(ExitCode.FAILED)
    for init in found:
        click.echo(
            f"{format_guid(init.guid)}  name {init.friendly_name!r}  {init.client} -> {init.server}"
        )


@guid.command("new")
def guid_new_command() -> None:
    """A fresh GUID in PlayMemories' shape, to register with `sony-pm-alt pair`."""
    from ..guid_tools import new_guid
    from ..identity import format_guid

    click.echo(format_guid(new_guid()))


@click.command()
@click.option("--guid", "guid_text", required=True, help="The GUID to register.")
@click.option("--name", "host_name", help="Host name stored on the camera (≤ 8 ASCII chars).")
def pair(guid_text: str, host_name: str | None) -> None:
    """Register a GUID with a camera connected by USB in Mass Storage mode (no Windows needed;
    untested on hardware — see docs/pairing.md)."""
    from ..identity import default_friendly_name, parse_guid
    from ..pairing import PairingError
    from ..pairing import pair as run_pair

    try:
        value = parse_guid(guid_text)
        run_pair(value, (host_name or default_friendly_name())[:8])
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    except PairingError as exc:
        fail(str(exc), ExitCode.FAILED)
    click.echo("paired: choose Send to Computer on the camera and run `sony-pm-alt watch`")
