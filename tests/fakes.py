"""The one fake camera of the unit tests, for the engine's seams (no emulator, no socket).

:class:`FakeTransport` is the raw-transaction seam (``engine.model.Transport``), answered by
a handler as httpx's ``MockTransport`` is; :class:`FakeCamera` is the seam a sync opens
(``engine.camera.Camera``): a listing, each object's bytes, and the power-off answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sony_pm_alt.engine.camera import Reader, Unreadable
from sony_pm_alt.engine.listing import Listing
from sony_pm_alt.engine.model import CameraInfo, CameraObject
from sony_pm_alt.engine.session import power_off_confirmed
from sony_pm_alt.engine.vendor import StepResult
from sony_pm_alt.errors import VendorStepFailed, raise_for_response
from sony_pm_alt.native import TransactionResult
from sony_pm_alt.profiles import Profile, load_profile
from sony_pm_alt.ptpip.codes import ResponseCode

OK = int(ResponseCode.OK)


@dataclass(frozen=True)
class Call:
    opcode: int
    params: tuple[int, ...]
    data: bytes | None
    data_in: bool
    check: bool = field(default=False, compare=False)


Answer = TransactionResult | int
Handler = Callable[[Call], Answer]


def answers(codes: Iterable[int], data: bytes = b"") -> Handler:
    """A handler answering each call with the next code (OK once they run out); a data-in
    call answered OK gets ``data``."""
    queue = list(codes)

    def handle(call: Call) -> Answer:
        code = queue.pop(0) if queue else OK
        return TransactionResult(code, (), data if call.data_in and code == OK else b"")

    return handle


class FakeTransport:
    """Raw transactions answered by ``handler`` (a result, or a bare response code); every
    call is kept in :attr:`calls`. With ``check`` a failure raises, as the real one does."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler or answers(())
        self.calls: list[Call] = []

    def transaction(
        self,
        opcode: int,
        params: Sequence[int] = (),
        data: bytes | None = None,
        *,
        data_in: bool = False,
        check: bool = True,
        into: memoryview | None = None,
    ) -> TransactionResult:
        call = Call(opcode, tuple(params), data, data_in, check)
        self.calls.append(call)
        answer = self.handler(call)
        if isinstance(answer, int):
            answer = TransactionResult(answer, (), b"")
        if check:
            raise_for_response(opcode, answer.code)
        if into is not None:  # as the native layer does: at most len(into) copied
            into[: min(answer.length, len(into))] = answer.data[: len(into)]
            return TransactionResult(answer.code, answer.params, b"", answer.length)
        return answer


CAMERA = CameraInfo("ILCE-7M3", "00000001")


@dataclass
class FakeCamera:
    """A camera holding ``files`` (object → bytes). ``fail`` makes the read of an object (by
    name) raise that error; ``end_codes`` answer the profile's end steps at :meth:`close`."""

    files: dict[CameraObject, bytes]
    profile: Profile = field(default_factory=lambda: load_profile("upstream"))
    fail: dict[str, BaseException] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    end_codes: list[int] = field(default_factory=lambda: [OK] * 8)
    uses_native_layer: bool = True
    sending_confirmed: bool = True
    problems: tuple[str, ...] = ()
    info: CameraInfo = CAMERA
    end_results: list[StepResult] = field(default_factory=list)
    read_names: list[str] = field(default_factory=list)  # each object read, in order
    closed_with: bool | None = None  # power_off at close(); None: not closed
    idle: float = 0.0  # seconds since last use, as the keep-alive sees it
    ping_errors: list[BaseException] = field(default_factory=list)  # raised by the next pings
    pings: int = 0
    pinged: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._lock:
            yield

    @property
    def idle_seconds(self) -> float:
        return self.idle

    def ping(self) -> None:
        if self.ping_errors:
            raise self.ping_errors.pop(0)
        self.pings += 1
        self.pinged.set()

    def list(self, *, bulk: bool) -> Listing:
        return Listing(
            self.info, sorted(self.files, key=lambda o: o.name), "bulk", None, self.problems
        )

    def reader(self, obj: CameraObject, listing: Listing) -> Reader:
        if obj.name in self.unreadable:
            raise Unreadable(self.unreadable[obj.name])
        data = self.files[obj]

        def read(offset: int, buffer: memoryview) -> int:
            self.read_names.append(obj.name)
            if obj.name in self.fail:
                raise self.fail[obj.name]
            chunk = data[offset : offset + len(buffer)]
            buffer[: len(chunk)] = chunk
            return len(chunk)

        return Reader(read)

    def close(self, *, power_off: bool) -> None:
        self.closed_with = power_off
        if not power_off:
            return
        for index, (step, code) in enumerate(zip(self.profile.end, self.end_codes, strict=False)):
            self.end_results.append(StepResult(step, code))
            if code != OK and step.abort_on_failure:
                raise VendorStepFailed("end", index + 1, step.describe(), code)

    @property
    def power_off_confirmed(self) -> bool:
        return power_off_confirmed(self.profile, self.end_results)
