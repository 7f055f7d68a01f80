"""The only door to the native layer: the patched ptp2 camlib and its cffi shim.

``build.py`` installs both into ``sony_pm_alt/_native/``. They give, per PTP/IP connection
(named by its exact port path ``ptpip:HOST:PORT:PORT``): the GUID and friendly name sent in
the Init Command Request, the reason of an Init Fail, session hooks run on the same TCP
session after OpenSession/GetDeviceInfo and before CloseSession, and raw transactions.

Order matters: ``import gphoto2`` first (its libgphoto2 must be the one the camlib binds to),
then :func:`load`, which also points libgphoto2's ``CAMLIBS`` at the patched camlib.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NativeLayerUnavailable, raise_for_response

log = logging.getLogger("sony_pm_alt.native")

# Where build.py installs the layer; SONY_PM_ALT_NATIVE_DIR points elsewhere (an install that
# keeps it outside the package, or a test that wants it absent).
NATIVE_DIR = Path(
    os.environ.get("SONY_PM_ALT_NATIVE_DIR") or Path(__file__).resolve().parent / "_native"
)
SHIM_MODULE = "sony_pm_alt._native._spa_shim"  # the name build.py compiles the extension for
# The hook phases, from csrc/spa_api.h by way of the compiled shim; set by load().
HOOK_START: int
HOOK_END: int


@dataclass(frozen=True)
class BuildInfo:
    libgphoto2: str
    source: str
    patches: tuple[str, ...]
    key: str

    @classmethod
    def read(cls, directory: Path = NATIVE_DIR) -> BuildInfo | None:
        try:
            raw = json.loads((directory / "build-info.json").read_text())
            return cls(raw["libgphoto2"], raw["source"], tuple(raw["patches"]), raw["key"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class TransactionResult:
    code: int
    params: tuple[int, ...]
    data: bytes  # empty when the data went ``into`` the caller's buffer
    length: int = -1  # bytes of data the camera sent; left out: len(data)

    def __post_init__(self) -> None:
        if self.length < 0:
            object.__setattr__(self, "length", len(self.data))


class Transport:
    """Raw PTP transactions on one open connection (a camera, or inside a session hook)."""

    def __init__(self, native: Native, params: Any) -> None:
        self._native = native
        self._params = params

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
        """Run one operation. ``data`` is sent as data-out; ``data_in`` asks for data back,
        copied ``into`` that buffer when given (at most its length; ``length`` says how much
        came) rather than returned as new bytes. A response other than OK raises
        :class:`~sony_pm_alt.errors.CameraResponseError` (with ``.code``), a failed connection
        :class:`~sony_pm_alt.errors.CameraTransportError`, unless ``check`` is false; then the
        result carries the code."""
        result = self._native.run_transaction(self._params, opcode, params, data, data_in, into)
        if check:
            raise_for_response(opcode, result.code)
        return result


SessionHook = Callable[[Transport, int], None]
"""Called with the connection and HOOK_START or HOOK_END; an exception is kept and re-raised
to the session's owner (the camlib itself only logs that the hook failed)."""


class Native:
    def __init__(self, ffi: Any, lib: Any, info: BuildInfo) -> None:
        self._ffi = ffi
        self._lib = lib
        self.info = info
        self.camlibs_dir = NATIVE_DIR / "camlibs"
        self._hooks: dict[str, SessionHook] = {}
        self.hook_errors: dict[str, BaseException] = {}

    def set_identity(self, port_path: str, guid: bytes, friendly_name: str) -> None:
        if len(guid) != 16:
            raise ValueError("a PTP/IP GUID is 16 bytes")
        if not friendly_name.isascii() or len(friendly_name) >= 100:
            raise ValueError(f"friendly name {friendly_name!r}: ASCII only, under 100 characters")
        if self._lib.spa_shim_identity_set(port_path.encode(), guid, friendly_name.encode()) != 0:
            raise ValueError(f"cannot set the identity for {port_path}")

    def clear_identity(self, port_path: str) -> None:
        self._lib.spa_shim_identity_set(port_path.encode(), self._ffi.NULL, self._ffi.NULL)

    def last_init_fail(self, port_path: str) -> int:
        """Reason of the last Init Fail on ``port_path``: 0 none, 1 rejected, 2 busy, …"""
        return int(self._lib.spa_shim_last_init_fail(port_path.encode()))

    def set_hook(self, port_path: str, hook: SessionHook | None) -> None:
        """Register the session hook of ``port_path``; while one is registered the camlib's
        built-in Sony start pair is not sent."""
        if hook is None:
            self._hooks.pop(port_path, None)
        else:
            self._hooks[port_path] = hook
        self.hook_errors.pop(port_path, None)
        if self._lib.spa_shim_hooks_set(port_path.encode(), int(hook is not None)) != 0:
            raise ValueError(f"cannot register hooks for {port_path}")

    def camera_transport(self, camera: Any) -> Transport:
        """Transactions on an initialised python-gphoto2 ``Camera``."""
        pointer = self._ffi.cast("void *", int(camera.this))
        params = self._lib.spa_shim_camera_params(pointer)
        if params == self._ffi.NULL:
            raise RuntimeError("the camera is not open (call init() first)")
        return Transport(self, params)

    def run_transaction(
        self,
        params: Any,
        opcode: int,
        values: Sequence[int],
        data: bytes | None,
        data_in: bool,
        into: memoryview | None = None,
    ) -> TransactionResult:
        if len(values) > 5:
            raise ValueError("at most five parameters")
        ffi = self._ffi
        c_params = ffi.new("unsigned int[5]", list(values))
        out = ffi.from_buffer(data) if data is not None else ffi.NULL
        received = ffi.new("unsigned char **")
        received_len = ffi.new("unsigned long long *")
        resp = ffi.new("unsigned int[5]")
        resp_n = ffi.new("int *")
        lib = self._lib
        phase = lib.SPA_PHASE_IN if data_in else lib.SPA_PHASE_NONE
        if data is not None:  # one data phase per PTP transaction: given data is data-out
            phase = lib.SPA_PHASE_OUT
        code = lib.spa_shim_transaction(
            params,
            opcode,
            len(values),
            c_params,
            phase,
            out,
            len(data or b""),
            received,
            received_len,
            resp,
            resp_n,
        )
        if code == lib.SPA_SHIM_NOT_LOADED:  # cannot happen once load() succeeded
            raise NativeLayerUnavailable("the patched camlib is not loaded; run `make build`")
        payload, length = b"", int(received_len[0])
        if received[0] != ffi.NULL:
            if into is None:
                payload = bytes(ffi.buffer(received[0], length))
            else:  # one copy, into memory already in use: no fresh 1 MiB object per chunk
                ffi.memmove(into, received[0], min(length, len(into)))
            self._lib.spa_shim_free(received[0])
        response = tuple(resp[i] for i in range(resp_n[0]))
        return TransactionResult(int(code), response, payload, length)

    def _dispatch_hook(self, params: Any, phase: int, port_path: str) -> int:
        hook = self._hooks.get(port_path)
        if hook is None:
            return 0
        try:
            hook(Transport(self, params), phase)
        except BaseException as exc:  # must not unwind through C
            self.hook_errors[port_path] = exc
            # The owner re-raises it as the session's error; logged here only for -vv.
            which = "start" if phase == self._lib.SPA_HOOK_START else "end"
            log.debug("%s hook for %s failed: %s", which, port_path, exc)
            return -1
        return 0


_loaded: Native | None = None
# One Native per process: watch opens cameras from a thread each, and a second load would
# rebind the C callback (def_extern) to a Native that does not hold the first one's hooks.
_load_lock = threading.Lock()


def _import_shim() -> tuple[Any, Any]:
    """The cffi extension from NATIVE_DIR, under the module name build.py compiled it for."""
    candidates = sorted(NATIVE_DIR.glob("_spa_shim*.so"))
    spec = candidates and importlib.util.spec_from_file_location(SHIM_MODULE, candidates[0])
    if not spec or spec.loader is None:
        raise NativeLayerUnavailable(f"no cffi shim in {NATIVE_DIR}; run `make build`")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as exc:
        raise NativeLayerUnavailable(
            f"the cffi shim does not load ({exc}); run `make build`"
        ) from None
    return module.ffi, module.lib


def load(loaded_libgphoto2: str | None = None) -> Native:
    """Load the native layer once per process and point ``CAMLIBS`` at the patched camlib.

    Raises :class:`NativeLayerUnavailable` with the reason when it is not built, or built for
    another libgphoto2 than the one python-gphoto2 loads."""
    global _loaded, HOOK_START, HOOK_END
    with _load_lock:
        if _loaded is None:
            _loaded = _load_once(loaded_libgphoto2)
            lib = _loaded._lib
            HOOK_START, HOOK_END = int(lib.SPA_HOOK_START), int(lib.SPA_HOOK_END)
        os.environ["CAMLIBS"] = str(_loaded.camlibs_dir)
        return _loaded


def _load_once(loaded_libgphoto2: str | None) -> Native:
    import gphoto2 as gp  # before the camlib: it must bind to this libgphoto2

    version = loaded_libgphoto2 or str(gp.gp_library_version(gp.GP_VERSION_SHORT)[0])
    info = BuildInfo.read()
    if info is None:
        raise NativeLayerUnavailable("the native layer is not built; run `make build`")
    if info.libgphoto2 != version:
        raise NativeLayerUnavailable(
            f"the native layer was built for libgphoto2 {info.libgphoto2}, but python-gphoto2 "
            f"loads {version}; run `make build` again"
        )
    ffi, lib = _import_shim()
    camlib = NATIVE_DIR / "camlibs" / "ptp2.so"
    error = ffi.new("char[512]")
    if lib.spa_shim_load(str(camlib).encode(), error, 512) != 0:
        raise NativeLayerUnavailable(f"cannot load {camlib}: {ffi.string(error).decode()}")
    native = Native(ffi, lib, info)

    @ffi.def_extern()  # type: ignore[untyped-decorator]
    def spa_python_hook(params: Any, phase: int, port_path: Any) -> int:
        return native._dispatch_hook(params, phase, ffi.string(port_path).decode())

    return native
