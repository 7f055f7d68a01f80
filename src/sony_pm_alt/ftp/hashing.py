"""An upload's SHA-256 on a helper thread, so that hashing overlaps receiving and writing.

hashlib lets go of the GIL while it hashes, so the connection's thread goes on reading the
socket and writing the file while this thread hashes what was written; on loopback hashing
is the largest single cost of an upload. Memory stays flat: a few buffers per upload, taken
from a pool shared by the uploads (a fresh 1 MiB buffer is a fresh ``mmap`` the kernel zeroes
page by page: a few per cent of an upload's CPU when every upload made its own)."""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading

DEPTH = 4  # buffers per upload: one being filled, the others waiting or being hashed
POOL_MAX = 8  # free buffers kept between uploads (two connections' worth)

_pool_lock = threading.Lock()
_pool: list[memoryview] = []


def take_buffer(size: int) -> memoryview:
    """A buffer of ``size`` bytes from the shared pool, or a new one."""
    with _pool_lock:
        for i, buffer in enumerate(_pool):
            if len(buffer) == size:
                return _pool.pop(i)
    return memoryview(bytearray(size))


def return_buffer(buffer: memoryview) -> None:
    """Give a buffer nobody uses any more back to the shared pool."""
    with _pool_lock:
        if len(_pool) < POOL_MAX:
            _pool.append(buffer)


class BackgroundHash:
    """Feeds pieces to a SHA-256 in the order given. A piece must not change until hashed:
    give ``bytes``, or a buffer from :meth:`buffer` (it comes back to the pool once hashed).
    :meth:`feed` blocks while ``DEPTH`` pieces are waiting."""

    def __init__(self, buffer_size: int) -> None:
        self._digest = hashlib.sha256()
        self._buffer_size = buffer_size
        self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        self._made = 0
        self._slots = threading.Semaphore(DEPTH)
        self._work: queue.SimpleQueue[tuple[bytes | memoryview, memoryview | None] | None]
        self._work = queue.SimpleQueue()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sony-pm-alt-ftp-hash", daemon=True)
        self._thread.start()

    def buffer(self) -> memoryview:
        """A buffer to read the next piece into; give it to :meth:`feed` or :meth:`give_back`."""
        if self._made < DEPTH:
            try:
                return self._free.get_nowait()
            except queue.Empty:
                self._made += 1
                return take_buffer(self._buffer_size)
        return self._free.get()

    def give_back(self, buffer: memoryview) -> None:
        self._free.put(buffer)

    def feed(self, data: bytes | memoryview, buffer: memoryview | None = None) -> None:
        """Hash ``data`` (a slice of ``buffer``, when it is one of ours) after what came before."""
        self._slots.acquire()
        self._work.put((data, buffer))

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            data, buffer = item
            self._digest.update(data)
            if buffer is not None:
                self._free.put(buffer)
            self._slots.release()

    def stop(self) -> None:
        """No more pieces: the thread ends once it has hashed those given."""
        if not self._stopped:
            self._stopped = True
            self._work.put(None)

    def retire(self) -> None:
        """The upload is over (no more :meth:`buffer` calls): its free buffers go back to the
        shared pool. One still being hashed after a :meth:`stop` is left to the collector."""
        with contextlib.suppress(queue.Empty):
            while True:
                return_buffer(self._free.get_nowait())

    def hexdigest(self) -> str:
        self.stop()
        self._thread.join()
        return self._digest.hexdigest()
