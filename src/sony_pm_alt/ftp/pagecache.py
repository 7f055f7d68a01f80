"""Keep an upload's page cache small: what is on disk already need not stay in memory.

Every byte of an upload goes through the page cache; left alone, a 3.5 GiB clip leaves
3.5 GiB of it behind, pushing out whatever else was cached, and every new page is fresh memory
for the kernel to find (on the shared virtual machine this was measured on, writing into
fresh page cache cost four times the CPU of writing into pages just freed: the host backs a
guest's untouched memory on first use). Dropping the pages whose write-back has had time to
finish keeps the upload's page cache to a few write-back steps and the kernel reuses the
same memory. ``POSIX_FADV_DONTNEED`` never discards data: dirty pages and pages still being
written are skipped (the fsync before the reply still decides what is safe)."""

from __future__ import annotations

import contextlib
import os

_FADVISE = getattr(os, "posix_fadvise", None)
_DONTNEED = getattr(os, "POSIX_FADV_DONTNEED", 4)


def forget_written(fd: int, start: int, end: int) -> None:
    """Let the kernel drop the cached pages of bytes [start, end) of ``fd`` once they are
    on disk; never fails (only a cache hint) and never waits for the disk."""
    if _FADVISE is None or end <= start:
        return
    with contextlib.suppress(OSError):
        _FADVISE(fd, start, end - start, _DONTNEED)
