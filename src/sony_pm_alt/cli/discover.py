"""``sony-pm-alt discover``: the cameras announcing themselves right now."""

from __future__ import annotations

import click

from .errors import ExitCode, fail


@click.command()
@click.option("--timeout", default=5.0, type=click.FloatRange(0.5, 600))
@click.option("--interface", help="IPv4 address of the LAN interface to search on.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array on standard output.")
def discover(timeout: float, interface: str | None, as_json: bool) -> None:
    """List the cameras announcing "Send to Computer" right now."""
    import json

    from ..discovery import DiscoveryConfig
    from ..discovery import discover as run_discover

    try:
        cameras = run_discover(DiscoveryConfig(interface=interface), timeout)
    except OSError as exc:
        fail(f"cannot search for cameras: {exc}", ExitCode.NO_SESSION)
    if as_json:
        from ..console.records import camera_row

        click.echo(json.dumps([camera_row(c) for c in cameras], indent=1))
        return
    if not cameras:
        click.echo(f"no camera announced itself within {timeout:g} s", err=True)
    from ..console import shown

    for c in cameras:  # names come from the LAN: no control characters on a terminal
        click.echo(f"{c.host}  {shown(c.model)}  serial {shown(c.serial)}  {shown(c.udn)}")
