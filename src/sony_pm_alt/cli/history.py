"""``sony-pm-alt history``: what was transferred, and how sessions ended."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from .common import state_option
from .errors import ExitCode, fail


@click.command()
@click.option("--camera", help="Only this camera (serial).")
@click.option("--limit", default=50, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
@state_option
@click.option("--sessions", is_flag=True, help="Sessions and how they ended, instead of transfers.")
def history(
    camera: str | None, limit: int, as_json: bool, state_path: Path | None, sessions: bool
) -> None:
    """What was transferred, when and where (newest first)."""
    import json

    from ..console import shown
    from ..console.records import session_row, transfer_row
    from ..engine.state import StateError, StateStore, default_state_path

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
                records = store.sessions(camera, limit)
                if as_json:
                    click.echo(json.dumps([session_row(r) for r in records], indent=1))
                    return
                for r in records:
                    when = r.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
                    click.echo(
                        f"{when}  {shown(r.model)} {shown(r.camera)}  {r.result}: {r.transferred} "
                        f"of {r.planned} files" + (f", {r.failed} failed" if r.failed else "")
                    )
                return
            transfers = store.transfers(camera, limit)
    except StateError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
    if as_json:
        click.echo(json.dumps([transfer_row(t) for t in transfers], indent=1))
        return
    for t in transfers:
        when = t.transferred_at.astimezone().strftime("%Y-%m-%d %H:%M")
        click.echo(f"{when}  {shown(t.camera)}  {shown(f'{t.folder}/{t.name}')} -> {shown(t.path)}")
