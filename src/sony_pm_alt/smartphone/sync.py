"""One import in "Send to Smartphone" mode, through the engine's download, naming and state;
the sequence, when ``X_TransferEnd`` is sent and how files are keyed: ``docs/smartphone.md``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath

from ..engine import download as dl
from ..engine.events import (
    FileDone,
    FileFailed,
    FileProgress,
    FileSkipped,
    FileStarted,
    SessionEnded,
    SessionStarted,
    SyncEvent,
    SyncSummary,
)
from ..engine.hooks import run_hook
from ..engine.model import CameraInfo, CameraObject
from ..engine.naming import DEFAULT_TEMPLATE, Template
from ..engine.sanitize import UnsafeName, contained_path
from ..engine.state import StateStore
from ..ptpip.codes import ObjectFormat
from .client import DEFAULT_PORT, PhoneClient
from .didl import PhoneItem, Res
from .exif import HEAD_BYTES, exif_capture_time
from .http import FileStream, PhoneError, target_of

log = logging.getLogger("sony_pm_alt.smartphone")

FOLDER = "/smartphone"
PREVIEW_SUFFIX = "-preview"
RAW_NOTE = (
    "RAW: this mode offers only a JPEG preview, not the raw file "
    "(--raw-previews saves the preview as {name}; Send to Computer or USB gets the raw)"
)


@dataclass(frozen=True)
class PhoneOptions:
    dest: Path
    template: Template = Template(DEFAULT_TEMPLATE)  # noqa: RUF009 - immutable
    raw_previews: bool = False
    redownload: bool = False
    hook: str | None = None


@dataclass(frozen=True)
class PhoneResult:
    """The engine's summary plus what only this mode has: whether the transfer was ended."""

    summary: SyncSummary
    root: str
    transfer_ended: bool
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Planned:
    obj: CameraObject  # what the state store keys it by
    res: Res


def preview_name(title: str) -> str:
    """``DSC00002.ARW`` → ``DSC00002-preview.JPG``: never a raw extension on JPEG data."""
    return f"{PurePosixPath(title).stem or 'unnamed'}{PREVIEW_SUFFIX}.JPG"


def _objects(
    items: list[PhoneItem], options: PhoneOptions
) -> tuple[list[_Planned], list[CameraObject]]:
    """(what can be fetched, RAW items skipped)."""
    wanted: list[_Planned] = []
    raw: list[CameraObject] = []
    for item in items:
        if item.original is not None:
            size = item.original.size or 0
            obj = CameraObject(FOLDER, item.title, size, item.taken, ObjectFormat.EXIF_JPEG)
            wanted.append(_Planned(obj, item.original))
        elif options.raw_previews and item.preview is not None:
            obj = CameraObject(
                FOLDER, preview_name(item.title), 0, item.taken, ObjectFormat.EXIF_JPEG
            )
            wanted.append(_Planned(obj, item.preview))
        else:
            raw.append(CameraObject(FOLDER, item.title, 0, item.taken, ObjectFormat.SONY_ARW))
    return wanted, raw


def phone_sync(
    host: str,
    *,
    options: PhoneOptions,
    port: int = DEFAULT_PORT,
    state: StateStore | None = None,
    on_event: Callable[[SyncEvent], None] | None = None,
    cancel: threading.Event | None = None,
) -> PhoneResult:
    """Import what is new from the camera at ``host``. Raises :class:`PhoneError` when the
    camera cannot be used at all; per-file problems are in the result, never raised. Setting
    ``cancel`` stops between two files: the rest is reported missing, the transfer not ended."""
    emit = on_event or (lambda event: None)
    store = state or StateStore.open_default()
    try:
        run_hook(options.hook, "init")
        with PhoneClient(host, port) as client:
            return _run(client, options, store, emit, cancel or threading.Event())
    finally:
        if state is None:
            store.close()


def _run(
    client: PhoneClient,
    options: PhoneOptions,
    store: StateStore,
    emit: Callable[[SyncEvent], None],
    cancel: threading.Event,
) -> PhoneResult:
    started = time.monotonic()
    camera = client.camera
    client.transfer_start()
    try:
        root, items = client.list_items()
    except PhoneError as exc:
        raise PhoneError(f"{exc}; nothing fetched, the camera stays in the transfer mode") from None
    todo, raw = _objects(items, options)
    if not options.redownload:
        new = {o.key for o in store.new_objects(camera, [p.obj for p in todo])}
        todo = [p for p in todo if p.obj.key in new]
    emit(SessionStarted(camera, len(items), len(todo), sum(p.obj.size for p in todo), root))
    for obj in raw:
        emit(FileSkipped(obj, RAW_NOTE.format(name=preview_name(obj.name))))
    run_hook(options.hook, "start", camera=camera.model, planned=len(todo))
    session_id = store.start_session(camera, len(todo))
    transferred = bytes_done = 0
    failed: list[str] = []
    try:
        for index, planned in enumerate(todo, 1):
            if cancel.is_set():
                for rest in todo[index - 1 :]:
                    failed.append(f"{rest.obj.name}: not attempted: stopped on request")
                    emit(FileFailed(rest.obj, "not attempted: stopped on request"))
                break
            outcome = _transfer(client.host, camera, planned, index, options, emit)
            if isinstance(outcome, str):
                failed.append(f"{planned.obj.name}: {outcome}")
                emit(FileFailed(planned.obj, outcome))
                continue
            store.record_transfer(session_id, camera, planned.obj, outcome.path, outcome.sha256)
            transferred += 1
            bytes_done += outcome.size
            elapsed = time.monotonic() - started
            emit(FileDone(planned.obj, outcome.path, outcome.size, elapsed, outcome.already_there))
            run_hook(
                options.hook,
                "download",
                str(outcome.path),
                camera=camera.model,
                name=planned.obj.name,
                folder=FOLDER,
                size=outcome.size,
            )
    except BaseException as exc:
        failed.append(f"session: {exc}")
        raise
    finally:
        store.end_session_or_warn(
            session_id, transferred, len(failed), bytes_done, complete=not failed
        )
    ended = False
    if not failed:
        try:
            client.transfer_end(0)
            ended = True
        except PhoneError as exc:  # the files are safe; the camera did not confirm
            failed.append(f"X_TransferEnd: {exc}")
    run_hook(options.hook, "stop", transferred=transferred, failed=len(failed))
    seconds = time.monotonic() - started
    summary = SyncSummary(
        camera, len(todo), transferred, bytes_done, seconds, len(raw), failed, listing_method=root
    )
    emit(SessionEnded(summary))
    return PhoneResult(summary, root, ended, failed)


def _transfer(
    host: str,
    camera: CameraInfo,
    planned: _Planned,
    index: int,
    options: PhoneOptions,
    emit: Callable[[SyncEvent], None],
) -> dl.Downloaded | str:
    """Fetch one file; a string is why it failed (it stays planned)."""
    obj = planned.obj
    try:
        relative = options.template.render(obj, camera, index, datetime.now())
        final = contained_path(options.dest, relative)
        target = target_of(planned.res.url, host)
    except (UnsafeName, PhoneError) as exc:
        log.warning("not downloading %r: %s", obj.name, exc)
        return str(exc)
    partial = dl.partial_path(final, camera.key, obj)
    # Whether the camera honours Range is not known: a partial file is never resumed here.
    partial.unlink(missing_ok=True)
    try:
        with closing(FileStream(target, planned.res.size)) as stream:
            fetched = replace(obj, size=stream.size)
            if obj.capture_time is None:
                # No usable dc:date: name and date the file by its EXIF. The state keeps the
                # listing's key (without a time), so the next run recognises the file.
                taken = exif_capture_time(stream.peek(HEAD_BYTES))
                if taken is not None:
                    fetched = replace(fetched, capture_time=taken)
                    relative = options.template.render(fetched, camera, index, datetime.now())
                    final = contained_path(options.dest, relative)
                    partial = dl.partial_path(final, camera.key, obj)
            emit(FileStarted(fetched, final, index))
            return dl.fetch(
                fetched,
                final,
                partial,
                stream.read,
                lambda done: emit(FileProgress(fetched, done, fetched.size)),
            )
    except (PhoneError, OSError, UnsafeName) as exc:
        log.warning("%s: %s", obj.name, exc)
        partial.unlink(missing_ok=True)
        return str(exc) or type(exc).__name__
