"""The state store: what was transferred from which camera, when, and where it went.

It decides "what is new": an object is *done* for a camera once the store holds a transfer for
(camera key, folder, name, size, capture time). A transfer is recorded only after the file is on
disk, verified and renamed into place, so a crash never marks a file done that is not there.
Deleting the local copy does not make a file new again; the caller asks for that explicitly
(``redownload``) by not consulting the store when planning. The same name in two camera folders,
or the same name with another size or capture time (a card formatted and refilled), is another
object.

The store is one sqlite file, shared by every camera. Each write is one ``BEGIN IMMEDIATE`` …
``COMMIT`` transaction, so a process killed mid-write leaves the previous state intact (sqlite's
journal guarantees it). Several :class:`StateStore` instances, in threads or processes, may use
one file at once: the file is in WAL mode and a writer waits up to :data:`BUSY_TIMEOUT` for
another. One instance may also be shared between threads; its calls are serialised by a lock.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ..errors import SonyPmAltError
from .model import CameraInfo, CameraObject

log = logging.getLogger("sony_pm_alt.state")


def __getattr__(name: str) -> Path:
    # DEFAULT_STATE_DIR, computed on first use: platformdirs costs ~50 ms of every start-up,
    # and a sync given --state never needs it.
    if name == "DEFAULT_STATE_DIR":
        import platformdirs

        return platformdirs.user_data_path("sony-pm-alt")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


STATE_FILE_NAME: Final = "state.sqlite3"
STATE_ENV: Final = "SONY_PM_ALT_STATE"

# Long enough to outlast another worker's write (each is a handful of rows, milliseconds), short
# enough that a store held by a hung process is reported instead of waited on forever.
BUSY_TIMEOUT: Final = 10.0

# PRAGMA application_id: "SPMA". Marks the file as ours for `file(1)` and for the check below.
APPLICATION_ID: Final = 0x53504D41

# Session results. "running" is what a session is until end_session; one whose process is gone
# (a crash, a kill, a power cut) becomes "interrupted" when the next session starts.
RESULTS: Final = frozenset({"ok", "incomplete", "failed", "running", "interrupted"})
END_RESULTS: Final = RESULTS - {"running", "interrupted"}

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Host parameters per statement: SQLite before 3.32 allows 999 (a card has a few dozen folders).
_FOLDERS_PER_QUERY = 500

# _MIGRATIONS[n] takes the schema from version n to n + 1; the schema version is their count.
# Version 0 is an empty file. Never edit a released step: append a new one.
_MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        camera      TEXT    NOT NULL,
        model       TEXT    NOT NULL,
        started_at  TEXT    NOT NULL,
        ended_at    TEXT,
        planned     INTEGER NOT NULL,
        transferred INTEGER NOT NULL DEFAULT 0,
        failed      INTEGER NOT NULL DEFAULT 0,
        bytes       INTEGER NOT NULL DEFAULT 0,
        result      TEXT    NOT NULL DEFAULT 'running'
                    CHECK (result IN ('ok', 'incomplete', 'failed', 'running'))
    );
    CREATE INDEX sessions_by_camera ON sessions (camera, started_at);
    CREATE INDEX sessions_by_time ON sessions (started_at);
    CREATE TABLE transfers (
        id             INTEGER PRIMARY KEY,
        camera         TEXT    NOT NULL,
        folder         TEXT    NOT NULL,
        name           TEXT    NOT NULL,
        size           INTEGER NOT NULL,
        capture_time   TEXT    NOT NULL,
        path           TEXT    NOT NULL,
        sha256         TEXT    NOT NULL,
        transferred_at TEXT    NOT NULL,
        session_id     INTEGER NOT NULL REFERENCES sessions (id),
        UNIQUE (camera, folder, name, size, capture_time)
    );
    CREATE INDEX transfers_by_time ON transfers (transferred_at);
    CREATE INDEX transfers_by_camera_time ON transfers (camera, transferred_at);
    CREATE INDEX transfers_by_session ON transfers (session_id);
    """,
    # 1 -> 2: the "interrupted" result, and who runs a session (host, boot, process) so that a
    # session whose process is gone can be told from one still running; whether the camera
    # confirmed the power-off (sessions of older versions: unknown, so 0); and the capture date
    # exactly as the camera sent it (out-of-range or garbage dates are kept here while the file
    # time is clamped). SQLite cannot change a CHECK constraint in place: the sessions table is
    # rebuilt (foreign keys are off during migrations).
    """
    CREATE TABLE sessions_v2 (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        camera      TEXT    NOT NULL,
        model       TEXT    NOT NULL,
        started_at  TEXT    NOT NULL,
        ended_at    TEXT,
        planned     INTEGER NOT NULL,
        transferred INTEGER NOT NULL DEFAULT 0,
        failed      INTEGER NOT NULL DEFAULT 0,
        bytes       INTEGER NOT NULL DEFAULT 0,
        result      TEXT    NOT NULL DEFAULT 'running'
                    CHECK (result IN ('ok', 'incomplete', 'failed', 'running', 'interrupted')),
        host        TEXT    NOT NULL DEFAULT '',
        boot        TEXT    NOT NULL DEFAULT '',
        pid         INTEGER NOT NULL DEFAULT 0,
        powered_off INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO sessions_v2 (id, camera, model, started_at, ended_at, planned, transferred,
        failed, bytes, result)
        SELECT id, camera, model, started_at, ended_at, planned, transferred, failed, bytes,
        result FROM sessions;
    DROP TABLE sessions;
    ALTER TABLE sessions_v2 RENAME TO sessions;
    CREATE INDEX sessions_by_camera ON sessions (camera, started_at);
    CREATE INDEX sessions_by_time ON sessions (started_at);
    CREATE INDEX sessions_running ON sessions (result) WHERE result = 'running';
    ALTER TABLE transfers ADD COLUMN camera_date TEXT NOT NULL DEFAULT '';
    """,
)
SCHEMA_VERSION: Final = len(_MIGRATIONS)

_TRANSFER_COLUMNS = (
    "camera, folder, name, size, capture_time, path, sha256, transferred_at, session_id,"
    " camera_date"
)
_SESSION_COLUMNS = (
    "id, camera, model, started_at, ended_at, planned, transferred, failed, bytes, result,"
    " powered_off"
)


class StateError(SonyPmAltError):
    """The state file cannot be used: corrupt, not ours, made by a newer version, or locked."""


def _boot_id() -> str:
    """This boot of this machine (Linux); "" where unknown. A session of another boot is over."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def default_state_path() -> Path:
    """Where the state lives: ``$SONY_PM_ALT_STATE`` if set, else
    ``DEFAULT_STATE_DIR / "state.sqlite3"`` (``~/.local/share/sony-pm-alt`` under XDG)."""
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override).expanduser()
    return __getattr__("DEFAULT_STATE_DIR") / STATE_FILE_NAME


@dataclass(frozen=True)
class Transfer:
    """One file safely on disk. ``capture_time`` is the camera's naive local time in ISO form,
    or ``""`` when the camera gave none; ``transferred_at`` is aware, in UTC."""

    camera: str
    folder: str
    name: str
    size: int
    capture_time: str
    path: str
    sha256: str
    transferred_at: datetime
    session_id: int
    camera_date: str = ""  # the capture date as the camera sent it, even if unusable

    @property
    def key(self) -> tuple[str, str, int, str]:
        """The object's key, as :attr:`CameraObject.key`."""
        return (self.folder, self.name, self.size, self.capture_time)


@dataclass(frozen=True)
class SessionRecord:
    """One session with a camera. ``result`` is ``"ok"``, ``"incomplete"``, ``"failed"``,
    ``"running"`` until it ends, or ``"interrupted"`` when its process died before it ended
    (see :meth:`StateStore.mark_interrupted`). While running,
    ``transferred`` and ``bytes`` count the transfers recorded so far."""

    id: int
    camera: str
    model: str
    started_at: datetime
    ended_at: datetime | None
    planned: int
    transferred: int
    failed: int
    bytes: int
    result: str
    powered_off: bool = False  # the camera answered OK to every power-off step


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    """Fixed-width UTC ISO text, so that text order is time order."""
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment} has no time zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _transfer(row: sqlite3.Row) -> Transfer:
    return Transfer(**dict(row, transferred_at=_parse_stamp(row["transferred_at"])))


def _session(row: sqlite3.Row) -> SessionRecord:
    ended = _parse_stamp(row["ended_at"]) if row["ended_at"] is not None else None
    started, powered_off = _parse_stamp(row["started_at"]), bool(row["powered_off"])
    return SessionRecord(**dict(row, started_at=started, ended_at=ended, powered_off=powered_off))


class StateStore:
    """The sqlite state store at ``path``; see the module docstring.

    Opening creates the parent folders and the schema (or upgrades an older one). It raises
    :class:`StateError` when the file is not a sqlite database, is another program's database,
    or was made by a newer sony-pm-alt; the file is never changed or deleted in those cases.

    ``clock`` returns the current aware time; tests pass their own.
    """

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create the folder of state file {self.path}: {exc}") from exc
        self._db: sqlite3.Connection | None = None
        try:
            # isolation_level=None: no implicit transactions; every write says BEGIN IMMEDIATE.
            # check_same_thread=False is safe because self._lock serialises every use.
            db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StateError(f"cannot open state file {self.path}: {exc}") from exc
        try:
            db.row_factory = sqlite3.Row
            with self._translate():
                self._prepare(db)
        except BaseException:
            db.close()
            raise
        self._db = db

    @classmethod
    def open_default(cls) -> StateStore:
        """The store at :func:`default_state_path`."""
        return cls(default_state_path())

    def close(self) -> None:
        """Close the connection. Closing twice is harmless; any other use afterwards raises."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StateStore({str(self.path)!r})"

    # -- sessions ---------------------------------------------------------------------------

    def start_session(self, camera: CameraInfo, planned: int) -> int:
        """Record that a session with ``camera`` began, planning ``planned`` files; its id."""
        if planned < 0:
            raise ValueError(f"planned must be 0 or more, not {planned}")
        host, boot, pid = socket.gethostname(), _boot_id(), os.getpid()
        with self._write() as db:
            now = _stamp(self._clock())
            cursor = db.execute(
                "INSERT INTO sessions (camera, model, started_at, planned, host, boot, pid)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (camera.key, camera.model, now, planned, host, boot, pid),
            )
            session_id = cursor.lastrowid
        assert session_id is not None
        return session_id

    def end_session(
        self,
        session_id: int,
        *,
        transferred: int,
        failed: int,
        bytes: int,
        result: str,
        powered_off: bool = False,
    ) -> None:
        """Set a session's final figures and result (``"ok"``, ``"incomplete"``, ``"failed"``)
        and whether the camera confirmed its power-off.

        Raises ValueError for another result or an unknown session id."""
        if result not in END_RESULTS:
            raise ValueError(f"result must be one of {sorted(END_RESULTS)}, not {result!r}")
        if min(transferred, failed, bytes) < 0:
            raise ValueError("transferred, failed and bytes must be 0 or more")
        with self._write() as db:
            now = _stamp(self._clock())
            cursor = db.execute(
                "UPDATE sessions SET ended_at = ?, transferred = ?, failed = ?, bytes = ?,"
                " result = ?, powered_off = ? WHERE id = ?",
                (now, transferred, failed, bytes, result, int(powered_off), session_id),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"no session {session_id} in {self.path}")

    def end_session_or_warn(
        self,
        session_id: int,
        transferred: int,
        failed: int,
        bytes: int,
        *,
        complete: bool,
        powered_off: bool = False,
    ) -> None:
        """:meth:`end_session` with result "ok" if ``complete`` else "incomplete"; a failure here
        only warns: the transfers are recorded already, so nothing is lost."""
        try:
            self.end_session(
                session_id,
                transferred=transferred,
                failed=failed,
                bytes=bytes,
                result="ok" if complete else "incomplete",
                powered_off=powered_off,
            )
        except SonyPmAltError as exc:
            log.warning("could not close the session record: %s", exc)

    def mark_interrupted(self) -> list[SessionRecord]:
        """Mark "interrupted" every "running" session of this machine whose process is gone (or
        of an earlier boot, or recorded before sessions named their process); the sessions so
        marked. Sessions of other machines sharing the file are left alone."""
        host, boot = socket.gethostname(), _boot_id()
        with self._write() as db:
            rows = db.execute(
                "SELECT id, host, boot, pid FROM sessions WHERE result = 'running'"
            ).fetchall()
            dead = [
                row["id"]
                for row in rows
                if row["host"] in ("", host)
                and (row["pid"] == 0 or row["boot"] != boot or not _process_alive(row["pid"]))
            ]
            db.executemany(
                "UPDATE sessions SET result = 'interrupted' WHERE id = ? AND result = 'running'",
                [(session_id,) for session_id in dead],
            )
        return [record for record in self.sessions() if record.id in set(dead)]

    def sessions(self, camera: str | None = None, limit: int | None = None) -> list[SessionRecord]:
        """Sessions, newest first; only ``camera``'s (a :attr:`CameraInfo.key`) if given."""
        rows = self._newest("sessions", _SESSION_COLUMNS, "started_at", camera, limit)
        return [_session(row) for row in rows]

    # -- transfers and planning -------------------------------------------------------------

    def is_done(self, camera: CameraInfo, obj: CameraObject) -> bool:
        """Whether ``obj`` was transferred from ``camera`` before (whatever became of the file)."""
        return not self.new_objects(camera, [obj])

    def new_objects(
        self, camera: CameraInfo, objects: Iterable[CameraObject]
    ) -> list[CameraObject]:
        """The objects not yet transferred from ``camera``, in their given order.

        One query for the transfers from ``camera`` into the folders listed (so the cost follows
        the card, not the years of history), then a set lookup per object: anti-joining a
        temporary table filled with the whole listing cost more than the rest of planning.
        Local files are not looked at; to download everything again, do not call this
        (``redownload``)."""
        listing = list(objects)
        if not listing:
            return []
        folders = sorted({obj.folder for obj in listing})
        done: set[tuple[str, str, int, str]] = set()
        with self._read() as db:
            cursor = db.cursor()
            cursor.row_factory = None  # plain tuples, which hash and compare like obj.key
            for start in range(0, len(folders), _FOLDERS_PER_QUERY):
                chunk = folders[start : start + _FOLDERS_PER_QUERY]
                done.update(
                    cursor.execute(
                        "SELECT folder, name, size, capture_time FROM transfers"
                        f" WHERE camera = ? AND folder IN ({', '.join('?' * len(chunk))})",
                        (camera.key, *chunk),
                    )
                )
        return [obj for obj in listing if obj.key not in done]

    def record_transfer(
        self,
        session_id: int,
        camera: CameraInfo,
        obj: CameraObject,
        path: Path,
        sha256: str,
    ) -> Transfer:
        """Record that ``obj`` is safe at ``path`` (stored absolute) with content ``sha256``.

        Call it only once the file is verified and renamed into place. A second record of the
        same object (a re-download) replaces the first and becomes the newest. One transaction:
        the record and the session's running counters change together or not at all. Raises
        ValueError for an unknown session, another camera's session, or a malformed digest."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, not {sha256!r}")
        folder, name, size, capture_time = obj.key
        with self._write() as db:
            # Stamped under the write lock, so time order and record order agree.
            transfer = Transfer(
                camera=camera.key,
                folder=folder,
                name=name,
                size=size,
                capture_time=capture_time,
                path=str(Path(path).absolute()),
                sha256=sha256,
                transferred_at=_parse_stamp(_stamp(self._clock())),
                session_id=session_id,
                camera_date=obj.camera_date,
            )
            owner = db.execute("SELECT camera FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if owner is None:
                raise ValueError(f"no session {session_id} in {self.path}")
            if owner["camera"] != camera.key:
                raise ValueError(
                    f"session {session_id} is camera {owner['camera']!r}'s, not {camera.key!r}'s"
                )
            db.execute(
                "DELETE FROM transfers WHERE camera = ? AND folder = ? AND name = ?"
                " AND size = ? AND capture_time = ?",
                (camera.key, *obj.key),
            )
            values = {**asdict(transfer), "transferred_at": _stamp(transfer.transferred_at)}
            db.execute(
                f"INSERT INTO transfers ({', '.join(values)})"
                f" VALUES ({', '.join(':' + column for column in values)})",
                values,
            )
            db.execute(
                "UPDATE sessions SET transferred = transferred + 1, bytes = bytes + ? WHERE id = ?",
                (size, session_id),
            )
        return transfer

    def transfers(self, camera: str | None = None, limit: int | None = None) -> list[Transfer]:
        """Transfers, newest first; only ``camera``'s (a :attr:`CameraInfo.key`) if given."""
        rows = self._newest("transfers", _TRANSFER_COLUMNS, "transferred_at", camera, limit)
        return [_transfer(row) for row in rows]

    # -- plumbing ---------------------------------------------------------------------------

    def _newest(
        self, table: str, columns: str, time: str, camera: str | None, limit: int | None
    ) -> list[sqlite3.Row]:
        """Rows of ``table``, newest first; only ``camera``'s if given; ``None``: no limit."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        where = "WHERE camera = ?" if camera is not None else ""
        with self._read() as db:
            return db.execute(
                f"SELECT {columns} FROM {table} {where} ORDER BY {time} DESC, id DESC LIMIT ?",
                (*([camera] if camera is not None else []), -1 if limit is None else limit),
            ).fetchall()

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Check the file is ours and not newer, then switch to WAL and create or upgrade the
        schema. Nothing is written before the checks pass."""
        self._check(db)
        # WAL lets readers and one writer work at once. Some file systems cannot do it; sqlite
        # then keeps its rollback journal, which is just as safe, only less concurrent.
        db.execute("PRAGMA journal_mode = WAL").fetchone()
        db.execute("BEGIN IMMEDIATE")
        try:
            # Again inside the write lock: another process may have created the schema meanwhile.
            version = self._check(db)
            for step in _MIGRATIONS[version:]:
                # One statement at a time: executescript() would COMMIT this transaction. (None
                # of ours has a ';' inside a literal.)
                for statement in filter(str.strip, step.split(";")):
                    db.execute(statement)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        # Only now: a migration may rebuild a table that others reference (see _MIGRATIONS).
        db.execute("PRAGMA foreign_keys = ON")

    def _check(self, db: sqlite3.Connection) -> int:
        """The file's schema version, after refusing files that are not ours or are newer."""
        # One statement, so one snapshot: read apart, another process creating the schema
        # between the reads would look like a foreign database (version 0 with tables).
        application_id, version, tables = db.execute(
            "SELECT (SELECT application_id FROM pragma_application_id()),"
            " (SELECT user_version FROM pragma_user_version()),"
            " (SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%')"
        ).fetchone()
        if application_id not in (0, APPLICATION_ID) or (version == 0 and tables):
            raise StateError(
                f"{self.path} is a sqlite database but not a sony-pm-alt state file; "
                "move it away or choose another file (--state)"
            )
        if version > SCHEMA_VERSION:
            raise StateError(
                f"state file made by a newer sony-pm-alt: {self.path} has schema version "
                f"{version}, this one knows up to {SCHEMA_VERSION}; upgrade sony-pm-alt or "
                "choose another file (--state)"
            )
        return int(version)

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """sqlite's errors about the file, as StateError naming the file and what to do."""
        try:
            yield
        except sqlite3.OperationalError as exc:  # locked, I/O error, disk full, read-only, …
            raise StateError(f"state file {self.path}: {exc}") from exc
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # our bugs, not the file's
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed", …
            raise StateError(
                f"state file {self.path} is corrupt or not a sqlite database ({exc}); "
                "move it away and run again to start a fresh one"
            ) from exc

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translate():
            yield self._connection()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed if the block ends normally, rolled back on any exception
        (KeyboardInterrupt included). IMMEDIATE takes the write lock up front, so the busy
        timeout applies there rather than as a deadlock error halfway through."""
        with self._lock, self._translate():
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:  # sqlite may have rolled back already (e.g. disk full)
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise StateError(f"state store {self.path} is closed")
        return self._db
