"""``sony-pm-alt discover``: the cameras announcing themselves right now."""

from __future__ import annotations

import click

from .errors import ExitCode, fail


@click.command()
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(0.5, 600))
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
    from ..engine.sanitize import clean_text

    for c in cameras:  # names come from the LAN: no control characters on a terminal
        click.echo(clean_text(f"{c.host}  {c.model}  serial {c.serial}  {c.udn}"))
