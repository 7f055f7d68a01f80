"""Start writing a file to disk while it is still arriving (a PTP/IP download, an FTP upload).

A file counts as saved only after its fsync; ``sync_file_range(SYNC_FILE_RANGE_WRITE)`` on each
range just written starts its write-back at once, so the disk works while the network does and
the final fsync has little left (Linux only; elsewhere a no-op). :func:`forget_written` then
lets the kernel drop the cached pages a few steps behind (``POSIX_FADV_DONTNEED`` never
discards data). Why both, and what each was measured to save: docs/ftp.md, *Throughput*."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
from typing import BinaryIO

log = logging.getLogger("sony_pm_alt.engine")

WRITEBACK_STEP = 8 * 1024 * 1024  # bytes written between two starts of write-back
SYNC_FILE_RANGE_WRITE = 2
# Cached pages are dropped this far behind the write-back just started: by then their own
# write-back has had two steps' time to finish (pages still dirty stay).
CACHE_BEHIND = 2 * WRITEBACK_STEP
_FADVISE = getattr(os, "posix_fadvise", None)
_DONTNEED = getattr(os, "POSIX_FADV_DONTNEED", 4)


def _load() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        # The C library is already in the process: no find_library (it runs ldconfig).
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_sync_file_range = _load()


def start_writeback(fd: int, start: int, end: int) -> None:
    """Ask the kernel to start writing bytes [start, end) of ``fd`` to disk; never waits
    for the disk and never fails (the fsync is what makes it durable)."""
    global _sync_file_range
    if _sync_file_range is None or end <= start:
        return
    if _sync_file_range(fd, start, end - start, SYNC_FILE_RANGE_WRITE) != 0:
        error = ctypes.get_errno()
        log.debug("sync_file_range: %s; the fsync alone will do", os.strerror(error))
        _sync_file_range = None  # e.g. a file system without it: do not ask again


def forget_written(fd: int, start: int, end: int) -> None:
    """Let the kernel drop the cached pages of bytes [start, end) of ``fd`` once they are
    on disk; never fails (only a cache hint) and never waits for the disk."""
    if _FADVISE is None or end <= start:
        return
    with contextlib.suppress(OSError):
        _FADVISE(fd, start, end - start, _DONTNEED)


class WriteBack:
    """What a receiver calls as a file grows: every :data:`WRITEBACK_STEP` it starts the
    write-back of the bytes just written and lets the kernel drop the cached pages
    :data:`CACHE_BEHIND` behind. Used by PTP/IP downloads and FTP uploads alike."""

    def __init__(self, file: BinaryIO, start: int = 0) -> None:
        self._file = file
        self.restart(start)

    def restart(self, offset: int) -> None:
        """The file continues from ``offset`` (a resumed or repositioned upload)."""
        self._written_back = self._forgotten = offset

    def wrote_up_to(self, offset: int) -> None:
        if offset - self._written_back < WRITEBACK_STEP:
            return
        self._file.flush()  # the kernel can only write back what left our buffer
        fd = self._file.fileno()
        start_writeback(fd, self._written_back, offset)
        behind = max(self._forgotten, self._written_back - CACHE_BEHIND)
        forget_written(fd, self._forgotten, behind)  # on disk: no need to cache it
        self._forgotten = behind
        self._written_back = offset
