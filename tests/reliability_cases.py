"""The fault matrix of `make reliability` as data: the cards, and one :class:`Case` per
injection point (the runner is tests/reliability.py)."""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB
PARTIAL_SUFFIX = ".sony-pm-alt-partial"
SESSION_TIMEOUT = 180.0  # bound on one sync; every case has at most three
OPEN_SESSION = 0x1002
GET_OBJECT_HANDLES = 0x1007
GET_OBJECT_INFO = 0x1008
GET_PARTIAL_OBJECT = 0x101B
SONY_SDIO_CONNECT = 0x9280
SONY_GET_EXT_DEVICE_INFO = 0x9281
GET_OBJ_PROP_LIST = 0x9805

# The small card: eight files below 1 MiB (each one GetPartialObject), in three folders.
SMALL_CARD: tuple[tuple[str, int], ...] = (
    ("DCIM/100MSDCF/DSC00001.JPG", 310 * KIB + 7),
    ("DCIM/100MSDCF/DSC00001.ARW", 620 * KIB + 1),
    ("DCIM/100MSDCF/DSC00002.JPG", 250 * KIB + 3),
    ("DCIM/100MSDCF/DSC00003.JPG", 400 * KIB + 11),
    ("DCIM/101MSDCF/DSC00001.JPG", 180 * KIB + 5),
    ("DCIM/101MSDCF/DSC00004.JPG", 510 * KIB + 9),
    ("PRIVATE/M4ROOT/CLIP/C0001.MP4", 900 * KIB + 13),
    ("DCIM/101MSDCF/DSC00005.JPG", 330 * KIB + 2),
)
SMALL_TOTAL = sum(size for _, size in SMALL_CARD)
# The full-disk card: 26 MB on the card for a 6 MB destination (issue 9, finding 5).
BIG_CARD: tuple[tuple[str, int], ...] = tuple(
    (f"DCIM/100MSDCF/DSC{n:05d}.JPG", 2 * MIB + n) for n in range(1, 14)
)
TMPFS_SIZE = "6m"
# A hook that keeps the host silent for 8 s after the first file only.
SLOW_HOOK = '[ "$ACTION" != download ] || [ -e {work}/hooked ] || { touch {work}/hooked; sleep 8; }'


@dataclass(frozen=True)
class Case:
    """One row of the matrix."""

    name: str
    injection: str
    emulator: tuple[str, ...] = ()
    """Extra `sony-pm-alt emulate` arguments for the faulted session (faults, options)."""
    sync: tuple[str, ...] = ()
    """Extra `sony-pm-alt sync` arguments for the faulted session."""
    local: str | None = None
    """A local fault: disk-full, read-only, dest-removed, state-locked, state-locked-mid-run,
    state-corrupt, sigkill."""
    card: tuple[tuple[str, int], ...] = SMALL_CARD
    fast: bool = False
    """Part of the subset that `make test` runs (tests/test_reliability.py)."""
    expect_failure: bool = False
    """The faulted session cannot succeed: it must exit non-zero and leave the camera on."""
    forbid: tuple[str, ...] = ()
    """Text the faulted session must not print (a misleading message)."""


# Faults whose firing the emulator records as a "fault" event of this kind: a case whose
# fault never fired tested nothing, and fails.
RECORDED_FAULTS = {
    "drop-at": "drop_at",
    "drop-after-bytes": "drop_after_bytes",
    "refuse-init": "refuse_init",
    "busy-first": "busy",
    "hostile-names": "hostile_names",
    "drop-handshake": "drop_handshake",
}


def _fault(*specs: str) -> tuple[str, ...]:
    return tuple(arg for spec in specs for arg in ("--fault", spec))


CASES: tuple[Case, ...] = (
    Case(
        "refused-init",
        "Init Fail (rejected initiator) to every Init Command Request",
        _fault("refuse-init=1"),
        expect_failure=True,
        fast=True,
    ),
    Case(
        "drop-handshake",
        "event connection closed at its Init Event Request (second half of the handshake)",
        _fault("drop-handshake=1"),
        expect_failure=True,
        fast=True,
    ),
    Case(
        "drop-first-operation",
        "connection closed at GetDeviceInfo, the first operation",
        _fault("drop-at=0x1001:1"),
        expect_failure=True,
    ),
    Case(
        "drop-open-session",
        "connection closed at OpenSession",
        _fault(f"drop-at={OPEN_SESSION:#06x}:1"),
        expect_failure=True,
    ),
    Case(
        "drop-start-pair",
        "connection closed at the start pair's 0x9280 (Sending…)",
        _fault(f"drop-at={SONY_SDIO_CONNECT:#06x}:1"),
        expect_failure=True,
        forbid=("choose another profile",),
    ),
    Case(
        "drop-object-handles",
        "connection closed at GetObjectHandles",
        _fault(f"drop-at={GET_OBJECT_HANDLES:#06x}:1"),
        expect_failure=True,
        forbid=("GET_DEVICE_INFO",),
        fast=True,
    ),
    Case(
        "drop-bulk-listing",
        "connection closed at the bulk GetObjPropList",
        _fault(f"drop-at={GET_OBJ_PROP_LIST:#06x}:1"),
        expect_failure=True,
    ),
    Case(
        "drop-object-listing",
        "connection closed at the 3rd GetObjectInfo (folder-by-folder listing)",
        ("--without-op", "0x9805", *_fault(f"drop-at={GET_OBJECT_INFO:#06x}:3")),
        expect_failure=True,
    ),
    Case(
        "drop-first-file",
        "connection closed 100 KiB into the first file's data phase",
        _fault(f"drop-after-bytes={100 * KIB}"),
        expect_failure=True,
        fast=True,
    ),
    Case(
        "drop-middle-file",
        "connection closed half-way through the card's bytes",
        _fault(f"drop-after-bytes={SMALL_TOTAL // 2}"),
        expect_failure=True,
    ),
    Case(
        "drop-last-file",
        "connection closed 50 KiB before the last file's end",
        _fault(f"drop-after-bytes={SMALL_TOTAL - 50 * KIB}"),
        expect_failure=True,
    ),
    Case(
        "drop-between-files",
        "connection closed at the 4th file's first GetPartialObject",
        _fault(f"drop-at={GET_PARTIAL_OBJECT:#06x}:4"),
        expect_failure=True,
    ),
    Case(
        "drop-end-sequence",
        "connection closed at the power-off 0x9281 of the end sequence (every file is already "
        "safe: exit 4, the power-off is not confirmed and the camera is not called off)",
        _fault(f"drop-at={SONY_GET_EXT_DEVICE_INFO:#06x}:2"),
    ),
    Case("busy", "DeviceBusy to the first 3 operations", _fault("busy-first=3")),
    Case(
        "busy-open-session",
        "DeviceBusy to the first 2 OpenSession requests",
        _fault("busy-open-session=2"),
        forbid=("[-7] I/O problem",),
    ),
    Case(
        "latency-beyond-timeout",
        "GetPartialObject answered after 4 s (libgphoto2 gives up after 2.5 s)",
        _fault(f"latency={GET_PARTIAL_OBJECT:#06x}:4"),
        expect_failure=True,
    ),
    Case(
        "latency-listing",
        "GetObjPropList answered after 4 s",
        _fault(f"latency={GET_OBJ_PROP_LIST:#06x}:4"),
        expect_failure=True,
    ),
    Case(
        "camera-inactivity-timeout",
        "the camera gives up after 5 s of silence while an 8 s hook runs after the first file "
        "(keep-alive every 20 s)",
        ("--inactivity-timeout", "5"),
        ("--hook", SLOW_HOOK),
        expect_failure=True,
    ),
    Case(
        "keepalive-beats-inactivity",
        "the same 8 s hook with a keep-alive every second",
        ("--inactivity-timeout", "5"),
        ("--hook", SLOW_HOOK, "--keepalive", "1"),
    ),
    Case(
        "hostile-names",
        "files reported under ../../escape.JPG, /etc/passwd.JPG, …",
        _fault("hostile-names=1"),
    ),
    Case(
        "oversize-data",
        "every data phase carries 4096 bytes more than asked (the file must fail cleanly or be "
        "correct)",
        _fault("oversize-data=4096"),
    ),
    Case(
        "oversize-data-small",
        "every data phase carries 16 bytes more than asked (fails cleanly or is correct)",
        _fault("oversize-data=16"),
    ),
    Case(
        "undersize-data",
        "every data phase carries 100 bytes fewer than declared",
        _fault("undersize-data=100"),
        expect_failure=True,
    ),
    Case(
        "endless-data",
        "a data phase that never ends",
        _fault("endless-data=1"),
        expect_failure=True,
    ),
    Case(
        "lying-length",
        "a Data packet's length says 1000 more than it carries",
        _fault("lying-length=1000"),
        expect_failure=True,
    ),
    Case(
        "stale-reply",
        "an extra response with an old transaction id before the real one",
        _fault("stale-reply=1"),
    ),
    Case(
        "folder-cycle",
        "the bulk listing's parent links loop",
        _fault("folder-cycle=1"),
        expect_failure=True,
    ),
    Case(
        "huge-counts",
        "element counts of ~4 billion in GetObjPropList",
        _fault("huge-counts=1"),
        expect_failure=True,
    ),
    Case(
        "bad-dates",
        "capture dates 0001-01-01, 9999-12-31 and garbage",
        _fault("bad-dates=1"),
    ),
    Case(
        "listing-size-mismatch",
        "listed sizes 100 bytes larger than the data",
        _fault("listing-size-mismatch=100"),
        expect_failure=True,
    ),
    Case(
        "disk-full",
        "destination on a 6 MB tmpfs, 26 MB on the card",
        local="disk-full",
        card=BIG_CARD,
        expect_failure=True,
    ),
    Case(
        "read-only-dest", "destination is a read-only mount", local="read-only", expect_failure=True
    ),
    Case(
        "dest-removed",
        "destination directory moved away after the first file",
        _fault(f"latency={GET_PARTIAL_OBJECT:#06x}:0.2"),
        local="dest-removed",
    ),
    Case(
        "state-locked",
        "another process holds the state database's write lock throughout",
        local="state-locked",
        expect_failure=True,
        fast=True,
    ),
    Case(
        "state-locked-mid-run",
        "another process takes the state database's write lock after the first file",
        _fault(f"latency={GET_PARTIAL_OBJECT:#06x}:0.2"),
        local="state-locked-mid-run",
    ),
    Case(
        "state-corrupt",
        "the state database is garbage",
        local="state-corrupt",
        expect_failure=True,
        fast=True,
    ),
    Case(
        "oversize-data-watch",
        "under `watch`: every data phase carries 4096 bytes more than asked",
        _fault("oversize-data=4096"),
        local="watch",
    ),
    Case(
        "two-watch",
        "two `watch` processes on one state database and destination, one camera announcing "
        "over SSDP (private network namespace)",
        local="two-watch",
        fast=True,
    ),
    Case(
        "sigkill-mid-file",
        "SIGKILL while the 2nd file is transferring, then a restart",
        _fault(f"latency={GET_PARTIAL_OBJECT:#06x}:0.3"),
        local="sigkill",
        expect_failure=True,
        fast=True,
    ),
)
