"""``sony-pm-alt sync``: one session with one camera at a known address."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..ptpip.packets import PTPIP_PORT
from .errors import ExitCode, cancel_on_signals, session_errors


@click.command()
@click.option("--host", required=True, help="The camera's IPv4 address.")
@click.option("--port", default=PTPIP_PORT, show_default=True, type=click.IntRange(1, 65535))
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
    from ..console import JsonView, PlainView, RichView
    from ..engine.filters import Filters
    from ..engine.naming import DEFAULT_TEMPLATE, Template, TemplateError
    from ..engine.state import StateStore, default_state_path
    from ..engine.sync import SyncOptions
    from ..engine.sync import sync as run_sync
    from ..identity import Identity
    from ..profiles import ProfileError, load_profile

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
    with session_errors(), StateStore(state_path or default_state_path()) as store:
        summary = run_sync(
            host,
            port=port,
            identity=identity,
            options=options,
            state=store,
            on_event=view,
            cancel=cancel_on_signals(),
        )
    if summary.stopped:
        click.echo(f"sony-pm-alt: {summary.stopped}", err=True)
    if not summary.ok:
        sys.exit(ExitCode.FAILED)
    sys.exit(ExitCode.POWER_OFF_UNCONFIRMED if summary.power_off_failed else ExitCode.OK)
