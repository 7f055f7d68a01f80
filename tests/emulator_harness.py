"""Driving the emulator from a test: the sans-IO camera directly, or a whole emulator in-process
on loopback (an ephemeral port, every wait bounded).

One copy for every emulator test file: ``Driver`` sends operations to a :class:`Camera` with
gphoto2's transaction IDs, ``loopback_emulator`` starts an :class:`Emulator` and stops it however
the test ends, ``scenario`` bounds a whole loopback scenario in time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ptpip_client import WAIT
from sony_pm_alt.emulator import (
    BodyConfig,
    Camera,
    Card,
    Emulator,
    EmulatorConfig,
    Faults,
    Recorder,
)
from sony_pm_alt.emulator.camera import Reply
from sony_pm_alt.emulator.card import FileSlice
from sony_pm_alt.ptpip.codes import DataPhase, ResponseCode
from sony_pm_alt.ptpip.codes import OperationCode as Op
from sony_pm_alt.ptpip.connection import OperationReady
from sony_pm_alt.ptpip.packets import OperationRequest

T = TypeVar("T")

SCENARIO_LIMIT = 15.0  # a whole loopback scenario; each wait inside is bounded by WAIT


# --- the sans-IO camera -------------------------------------------------------------------------


class Log:
    """The ``record`` callable the camera writes to."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))

    def named(self, event: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.lines if name == event]


class Driver:
    """Sends operations to a camera with gphoto2's TIDs: OpenSession 0, then +1 each."""

    def __init__(self, camera: Camera, log: Log | None = None) -> None:
        self.camera = camera
        self.log = log if log is not None else Log()  # what the camera records, when known
        self.next_tid = 0

    def __call__(
        self,
        code: int,
        *params: int,
        data: bytes | None = None,
        tid: int | None = None,
        data_tid: int | None = None,
    ) -> Reply:
        if tid is None:
            tid = 0 if code == Op.OPEN_SESSION else self.next_tid
        self.next_tid = tid + 1
        phase = DataPhase.DATA_OUT if data is not None else DataPhase.NO_DATA_OR_DATA_IN
        if data is not None and data_tid is None:
            data_tid = tid
        request = OperationRequest(code, tid, params, phase)
        return self.camera.execute(OperationReady(request, data, data_tid))

    def ok(self, code: int, *params: int, data: bytes | None = None) -> Reply:
        reply = self(code, *params, data=data)
        assert reply.code == ResponseCode.OK, f"0x{code:04X} answered 0x{reply.code:04X}"
        return reply

    def data(self, code: int, *params: int) -> bytes:
        """The data-in bytes of an operation that must succeed."""
        return data_of(self.ok(code, *params))


def data_of(reply: Reply) -> bytes:
    """The data-in bytes of a reply, reading a file slice the way the server streams it."""
    if isinstance(reply.data, FileSlice):
        with reply.data.path.open("rb") as f:
            f.seek(reply.data.offset)
            return f.read(reply.data.length)
    assert reply.data is not None, "reply has no data phase"
    return reply.data


def make_camera(
    card: Card,
    log: Log | None = None,
    body: BodyConfig | None = None,
    strict_tids: bool = True,
    **faults: Any,
) -> Camera:
    """A camera; ``faults`` are :class:`Faults` fields (``busy_first=2`` …)."""
    log = log if log is not None else Log()
    return Camera(body or BodyConfig(), card, log, strict_tids=strict_tids, faults=Faults(**faults))


def open_camera(card: Card, log: Log | None = None, **kwargs: Any) -> Driver:
    """A camera (``body=`` and fault keywords as :class:`Camera` takes them) with a session open."""
    log = log if log is not None else Log()
    drive = Driver(make_camera(card, log, **kwargs), log)
    drive.ok(Op.OPEN_SESSION, 1)
    return drive


def handle_of(card: Card, name: str) -> int:
    (obj,) = [o for o in card if o.name == name]
    return obj.handle


# --- a whole emulator on loopback ---------------------------------------------------------------


def scenario(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a loopback scenario to its end, failing it after :data:`SCENARIO_LIMIT` seconds."""
    return asyncio.run(asyncio.wait_for(coroutine, SCENARIO_LIMIT))


class StartedRecorder(Recorder):
    """The real recorder (JSON lines, or nothing without a path) that also tells the test when
    the first activation has started."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(path)
        self.started = asyncio.Event()

    def __call__(self, event: str, **fields: Any) -> None:
        super().__call__(event, **fields)
        if event == "activation_start":
            self.started.set()


@dataclass
class Running:
    emulator: Emulator
    task: asyncio.Task[None]

    @property
    def port(self) -> int:
        return self.emulator.port


@contextlib.asynccontextmanager
async def loopback_emulator(
    config: EmulatorConfig, log_path: Path | None = None
) -> AsyncIterator[Running]:
    """An emulator serving on loopback whose first activation has started; stopped (and its
    log closed) however the block ends."""
    recorder = StartedRecorder(log_path)
    emulator = Emulator(config, recorder)
    await emulator.start()
    task = asyncio.create_task(emulator.run())
    try:
        await asyncio.wait_for(recorder.started.wait(), WAIT)
        yield Running(emulator, task)
    finally:
        emulator.stop()
        try:
            await asyncio.wait_for(task, WAIT)
        finally:
            recorder.close()
