"""What a Sony body does with each operation in "Send to Computer" mode. No sockets.

:class:`Camera` is one activation of the mode (the user picked "Send to Computer"): it checks
initiators, opens one session, answers operations with :class:`Reply` objects and drives the
screen state machine of ``docs/protocol.md`` §9 and §10.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import cast

from ..ptpip.codes import (
    ALL_PROPERTIES,
    ALL_STORAGES,
    ROOT_PARENT,
    DataType,
    DevicePropCode,
    ObjectPropCode,
    ResponseCode,
)
from ..ptpip.codes import OperationCode as Op
from ..ptpip.connection import OperationReady
from ..ptpip.datasets import (
    DevicePropDesc,
    ObjectPropDesc,
    ObjectPropList,
    PropValue,
    encode_u16_array,
    encode_u32_array,
    encode_value,
)
from ..ptpip.errors import ProtocolError
from ..ptpip.primitives import Reader
from .body import PRIMARY_STORAGE_ID, BodyConfig, device_prop_descs
from .card import Card, CardObject, FileSlice
from .faults import NO_FAULTS, Faults

Record = Callable[..., None]

SONY_BLOB_SIZE = 8192  # the 0x9281 (selector 4) reply: 8250 bytes on the wire = 8192 + headers
SONY_SELECTOR_MAIN = 4
SONY_SELECTOR_AUX = 1
CMD_SENDING = 2
CMD_CANCEL = 4
CMD_POWER_OFF = 5


class Screen(Enum):
    """What the camera's display shows."""

    CONNECTING = "Connecting…"
    SENDING = "Sending…"
    CANCELLED = "The saving process has been cancelled."
    POWERED_OFF = "(powered off)"
    TIMED_OUT = "Cannot connect to the computer to be saved."


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    params: tuple[int, ...] = ()
    data: bytes | FileSlice | None = None


class InitDecision(Enum):
    ACCEPT = "accept"
    REJECT = "reject"  # Init Fail reason 1, then close
    IGNORE = "ignore"  # the activation's session was used: never answer (docs/protocol.md §9)


# Types of the MTP object properties served (docs/protocol.md §12.6).
OBJECT_PROP_TYPES: dict[int, int] = {
    ObjectPropCode.STORAGE_ID: DataType.UINT32,
    ObjectPropCode.OBJECT_FORMAT: DataType.UINT16,
    ObjectPropCode.PROTECTION_STATUS: DataType.UINT16,
    ObjectPropCode.OBJECT_SIZE: DataType.UINT64,
    ObjectPropCode.ASSOCIATION_TYPE: DataType.UINT16,
    ObjectPropCode.ASSOCIATION_DESC: DataType.UINT32,
    ObjectPropCode.OBJECT_FILE_NAME: DataType.STRING,
    ObjectPropCode.DATE_CREATED: DataType.STRING,
    ObjectPropCode.DATE_MODIFIED: DataType.STRING,
    ObjectPropCode.KEYWORDS: DataType.STRING,
    ObjectPropCode.PARENT_OBJECT: DataType.UINT32,
}
DEPTH_ALL = 0xFFFFFFFF


def object_prop_row(obj: CardObject) -> tuple[PropValue, ...]:
    """Every property of ``obj``, in :data:`OBJECT_PROP_TYPES` order: a whole-card
    GetObjPropList asks for all of them, and computing the format and date once per object
    keeps the emulator's reply time from dominating what the benchmarks measure."""
    date = obj.capture_date
    return (
        PRIMARY_STORAGE_ID,
        obj.object_format,
        0,  # ProtectionStatus
        obj.reported_size,
        1 if obj.is_folder else 0,  # AssociationType: GenericFolder
        0,  # AssociationDesc
        obj.reported_name,
        date,  # DateCreated
        date,  # DateModified
        "",  # Keywords
        obj.parent,
    )


_COLUMN = {code: index for index, code in enumerate(OBJECT_PROP_TYPES)}
_PARENT_COLUMN = _COLUMN[ObjectPropCode.PARENT_OBJECT]


class _Refused(Exception):
    """An operation answered with a bare response code (raised by handlers and their helpers)."""

    def __init__(self, code: int) -> None:
        self.code = code


class Camera:
    """One activation of "Send to Computer".

    ``record(event, **fields)`` receives everything worth logging; ``faults`` are those of
    the camera's logic (busy answers, hostile names and dates, listing lies). With ``strict_tids``
    a request whose TID is not the previous one plus one, or a data phase labelled with another
    TID, is answered InvalidTransactionID (a real body was seen to tolerate both; the recorder
    logs them either way).
    """

    def __init__(
        self,
        body: BodyConfig,
        card: Card,
        record: Record,
        *,
        strict_tids: bool = True,
        faults: Faults = NO_FAULTS,
    ) -> None:
        self.body = body
        self.card = card.with_hostile_names() if faults.hostile_names else card
        self._record = record
        if faults.hostile_names:
            record("fault", kind="hostile_names", files=sum(not o.is_folder for o in card))
        if faults.bad_dates:
            self.card = self.card.with_bad_dates()
            record("fault", kind="bad_dates", files=sum(not o.is_folder for o in card))
        if skew := faults.listing_size_mismatch:
            self.card = self.card.with_size_skew(skew)
            record("fault", kind="listing_size_mismatch", skew=skew)
        # The object table: every property of every object, worked out once per activation as
        # a body keeps it in its database (done per request, it made the emulator's answer to a
        # whole-card listing a large part of what the benchmarks measured on 10,000 objects).
        self._rows = {obj.handle: object_prop_row(obj) for obj in self.card}
        # folder-cycle: the first top-level folder with a sub-folder names that sub-folder as
        # its parent in MTP object properties (ObjectInfo keeps the truth).
        for top in self.card.children(0) if faults.folder_cycle else ():
            sub = next((o for o in self.card.children(top.handle) if o.is_folder), None)
            if top.is_folder and sub is not None:
                row = list(self._rows[top.handle])
                row[_PARENT_COLUMN] = sub.handle
                self._rows[top.handle] = tuple(row)
                record("fault", kind="folder_cycle", folder=top.handle, parent=sub.handle)
                break
        self._huge_counts = faults.huge_counts
        self.strict_tids = strict_tids
        self._busy_left = faults.busy_first
        self._busy_open_left = faults.busy_open_session
        self.screen = Screen.CONNECTING
        self.session_id: int | None = None
        self.session_used = False
        self._last_tid: int | None = None
        self._sony_unpaired = False  # a 0x9280 succeeded and its 0x9281 has not come yet
        self._sony_wedged = False  # a 0x9280 came while one was unpaired: Busy from now on
        self._power_off_armed = False
        self._session_initiator_info = ""
        self.initiator_name = ""

    @property
    def powered_off(self) -> bool:
        return self.screen is Screen.POWERED_OFF

    def set_screen(self, screen: Screen) -> None:
        if screen is not self.screen:
            self.screen = screen
            self._record("screen", state=screen.name.lower(), text=screen.value)

    # ------------------------------------------------------------------ initiator checks

    def check_initiator(self, guid: bytes, name: str) -> InitDecision:
        if self.session_used:
            return InitDecision.IGNORE
        if self.body.allowed_guids and guid not in self.body.allowed_guids:
            return InitDecision.REJECT
        self.session_used = True
        self.initiator_name = name
        return InitDecision.ACCEPT

    # ------------------------------------------------------------------ operations

    def execute(self, ready: OperationReady) -> Reply:
        request = ready.request
        self._check_sony_pairing(request.code)
        reply = self._check_transaction(ready)
        if reply is None:
            reply = self._dispatch(ready)
        self._track_sony_pairing(request.code, reply)
        return reply

    def _check_transaction(self, ready: OperationReady) -> Reply | None:
        request = ready.request
        tid = request.transaction_id
        if request.code == Op.OPEN_SESSION or (self.session_id is None and self._last_tid is None):
            expected = tid
        else:
            assert self._last_tid is not None
            expected = self._last_tid + 1 if self._last_tid < 0xFFFFFFFE else 1
        problems = []
        if tid != expected and request.code != Op.CLOSE_SESSION:
            problems.append(f"request TID {tid}, expected {expected}")
        if ready.data_transaction_id is not None and ready.data_transaction_id != tid:
            problems.append(f"data phase labelled TID {ready.data_transaction_id}")
        self._last_tid = tid
        if not problems:
            return None
        self._record("tid_mismatch", opcode=request.code, tid=tid, problems=problems)
        return Reply(ResponseCode.INVALID_TRANSACTION_ID) if self.strict_tids else None

    def _dispatch(self, ready: OperationReady) -> Reply:
        code = ready.request.code
        if not self.body.supports(code):
            return Reply(ResponseCode.OPERATION_NOT_SUPPORTED)
        if code not in (Op.GET_DEVICE_INFO, Op.OPEN_SESSION) and self.session_id is None:
            return Reply(ResponseCode.SESSION_NOT_OPEN)
        if self._busy_left > 0 and code not in (Op.OPEN_SESSION, Op.CLOSE_SESSION):
            self._busy_left -= 1
            self._record("fault", kind="busy", opcode=code)
            return Reply(ResponseCode.DEVICE_BUSY)
        # The method named after the operation answers it (GET_OBJECT: _get_object); 0x9282–
        # 0x9285 have none: listed by real bodies, meaning unknown.
        name = f"_{Op(code).name.lower()}"
        handler = cast("Callable[[OperationReady], Reply] | None", getattr(self, name, None))
        if handler is None:
            return Reply(ResponseCode.OPERATION_NOT_SUPPORTED)
        try:
            return handler(ready)
        except _Refused as refusal:
            return Reply(refusal.code)
        except ProtocolError as exc:  # a malformed data-out dataset
            self._record("bad_data", opcode=code, error=str(exc))
            return Reply(ResponseCode.INVALID_PARAMETER)

    def _check_sony_pairing(self, code: int) -> None:
        """A 0x9280 while the last successful one still waits for its 0x9281 makes this and
        every later 0x9280 answer DeviceBusy; other operations may come in between
        (docs/protocol.md §10). Checked before dispatch: the offending 0x9280 is not executed."""
        if self._sony_unpaired and code == Op.SONY_SET_REQUEST:
            self._sony_unpaired = False
            self._sony_wedged = True
            self._record("sony_unpaired", opcode=code)

    def _track_sony_pairing(self, code: int, reply: Reply) -> None:
        if code == Op.SONY_SET_REQUEST and reply.code == ResponseCode.OK:
            self._sony_unpaired = True
        elif code == Op.SONY_GET_REQUEST and reply.code == ResponseCode.OK:
            self._sony_unpaired = False

    @staticmethod
    def _param(ready: OperationReady, index: int) -> int:
        """Parameter ``index``; 0 when absent (as no handle, session or property is 0)."""
        params = ready.request.params
        return params[index] if index < len(params) else 0

    @staticmethod
    def _required(ready: OperationReady, *indices: int) -> list[int]:
        params = ready.request.params
        if max(indices) >= len(params):
            raise _Refused(ResponseCode.INVALID_PARAMETER)
        return [params[i] for i in indices]

    # --- session -------------------------------------------------------------------------

    def _get_device_info(self, ready: OperationReady) -> Reply:
        return Reply(ResponseCode.OK, data=self.body.device_info().encode())

    def _open_session(self, ready: OperationReady) -> Reply:
        session_id = self._param(ready, 0)
        if session_id == 0:
            return Reply(ResponseCode.INVALID_PARAMETER)
        if self.session_id is not None:
            return Reply(ResponseCode.SESSION_ALREADY_OPEN, (self.session_id,))
        if self._busy_open_left > 0:
            self._busy_open_left -= 1
            self._record("fault", kind="busy_open_session", opcode=Op.OPEN_SESSION)
            return Reply(ResponseCode.DEVICE_BUSY)
        self.session_id = session_id
        self._record("session_start", session_id=session_id, initiator=self.initiator_name)
        return Reply(ResponseCode.OK)

    def _close_session(self, ready: OperationReady) -> Reply:
        self._record("session_end", session_id=self.session_id)
        self.session_id = None
        return Reply(ResponseCode.OK)

    # --- storage and objects ---------------------------------------------------------------

    def _get_storage_ids(self, ready: OperationReady) -> Reply:
        return Reply(ResponseCode.OK, data=encode_u32_array([PRIMARY_STORAGE_ID]))

    def _get_storage_info(self, ready: OperationReady) -> Reply:
        if self._param(ready, 0) != PRIMARY_STORAGE_ID:
            return Reply(ResponseCode.INVALID_STORAGE_ID)
        return Reply(ResponseCode.OK, data=self.body.storage_info().encode())

    def _select(self, ready: OperationReady) -> list[CardObject]:
        """GetObjectHandles/GetNumObjects selection. Sony wants all three parameters."""
        params = ready.request.params
        if len(params) < 3:
            raise _Refused(ResponseCode.PARAMETER_NOT_SUPPORTED)
        storage, object_format, parent = params[:3]
        if storage not in (ALL_STORAGES, PRIMARY_STORAGE_ID):
            raise _Refused(ResponseCode.INVALID_STORAGE_ID)
        if parent == ROOT_PARENT:
            objects = self.card.children(0)
        elif parent == 0:
            objects = self.card.subtree(0)
        elif not self._object(parent).is_folder:
            raise _Refused(ResponseCode.INVALID_PARENT_OBJECT)
        else:
            objects = self.card.children(parent)
        return [o for o in objects if o.object_format == object_format or not object_format]

    def _get_num_objects(self, ready: OperationReady) -> Reply:
        return Reply(ResponseCode.OK, (len(self._select(ready)),))

    def _get_object_handles(self, ready: OperationReady) -> Reply:
        handles = [o.handle for o in self._select(ready)]
        return Reply(ResponseCode.OK, data=encode_u32_array(handles))

    def _object(self, handle: int) -> CardObject:
        obj = self.card.get(handle)
        if obj is None:
            raise _Refused(ResponseCode.INVALID_OBJECT_HANDLE)
        return obj

    def _file(self, ready: OperationReady, folder_code: int) -> CardObject:
        """The object of Param1, which must be a file (else ``folder_code``)."""
        obj = self._object(self._param(ready, 0))
        if obj.is_folder:
            raise _Refused(folder_code)
        return obj

    def _get_object_info(self, ready: OperationReady) -> Reply:
        obj = self._object(self._param(ready, 0))
        return Reply(ResponseCode.OK, data=obj.object_info(PRIMARY_STORAGE_ID).encode())

    def _get_object(self, ready: OperationReady) -> Reply:
        obj = self._file(ready, ResponseCode.INVALID_OBJECT_HANDLE)
        return Reply(ResponseCode.OK, data=FileSlice(obj.path, 0, obj.size))

    def _get_thumb(self, ready: OperationReady) -> Reply:
        self._object(self._param(ready, 0))
        return Reply(ResponseCode.NO_THUMBNAIL_PRESENT)

    def _get_partial_object(self, ready: OperationReady) -> Reply:
        obj = self._file(ready, ResponseCode.INVALID_PARAMETER)
        offset, max_bytes = self._required(ready, 1, 2)
        return self._slice(obj, offset, max_bytes)

    def _get_partial_object_64(self, ready: OperationReady) -> Reply:
        """GetPartialObject64 (0x95C1): (handle, offset low 32 bits, offset high 32 bits, max
        bytes). Only offered with ``BodyConfig.partial_object_64``; no real Sony body is known
        to offer it, it exists to test the sync engine's path for objects of 4 GiB or more."""
        obj = self._file(ready, ResponseCode.INVALID_PARAMETER)
        low, high, max_bytes = self._required(ready, 1, 2, 3)
        return self._slice(obj, high << 32 | low, max_bytes)

    @staticmethod
    def _slice(obj: CardObject, offset: int, max_bytes: int) -> Reply:
        """At most ``max_bytes`` from ``offset``, fewer at the end, none past it; Param1 =
        bytes sent. Streamed from disk by the server, never read here. Past the end the slice
        starts at the end: a 64-bit offset may not even be a valid file position."""
        length = max(0, min(max_bytes, obj.size - offset))
        return Reply(ResponseCode.OK, (length,), FileSlice(obj.path, min(offset, obj.size), length))

    # --- device properties ---------------------------------------------------------------

    def _prop_desc(self, ready: OperationReady) -> DevicePropDesc:
        descs = device_prop_descs(self.body, self._session_initiator_info)
        desc = descs.get(self._param(ready, 0))
        if desc is None:
            raise _Refused(ResponseCode.DEVICE_PROP_NOT_SUPPORTED)
        return desc

    def _get_device_prop_desc(self, ready: OperationReady) -> Reply:
        return Reply(ResponseCode.OK, data=self._prop_desc(ready).encode())

    def _get_device_prop_value(self, ready: OperationReady) -> Reply:
        desc = self._prop_desc(ready)
        return Reply(ResponseCode.OK, data=encode_value(desc.data_type, desc.current))

    def _set_device_prop_value(self, ready: OperationReady) -> Reply:
        if self._prop_desc(ready).prop_code != DevicePropCode.SESSION_INITIATOR_INFO:
            return Reply(ResponseCode.ACCESS_DENIED)
        if ready.data is None:  # PlayMemories sends this request without a data phase
            return Reply(ResponseCode.OK)
        self._session_initiator_info = Reader(ready.data, "SessionInitiatorInfo").string()
        self._record("session_initiator_info", value=self._session_initiator_info)
        return Reply(ResponseCode.OK)

    # --- MTP object properties -----------------------------------------------------------

    def _mtp_get_object_props_supported(self, ready: OperationReady) -> Reply:
        return Reply(ResponseCode.OK, data=encode_u16_array(list(OBJECT_PROP_TYPES)))

    def _mtp_get_object_prop_desc(self, ready: OperationReady) -> Reply:
        prop = self._param(ready, 0)
        data_type = OBJECT_PROP_TYPES.get(prop)
        if data_type is None:
            return Reply(ResponseCode.MTP_INVALID_OBJECT_PROP_CODE)
        default: PropValue = "" if data_type == DataType.STRING else 0
        return Reply(ResponseCode.OK, data=ObjectPropDesc(prop, data_type, 0, default, 0).encode())

    def _mtp_get_object_prop_value(self, ready: OperationReady) -> Reply:
        obj = self._object(self._param(ready, 0))
        prop = self._param(ready, 1)
        if prop not in OBJECT_PROP_TYPES:
            return Reply(ResponseCode.MTP_INVALID_OBJECT_PROP_CODE)
        value = self._rows[obj.handle][_COLUMN[prop]]
        return Reply(ResponseCode.OK, data=encode_value(OBJECT_PROP_TYPES[prop], value))

    def _mtp_get_obj_prop_list(self, ready: OperationReady) -> Reply:
        """MTP GetObjPropList: (handle, format, prop, group, depth)."""
        handle, fmt, prop, _group, depth = (self._param(ready, i) for i in range(5))
        if prop == 0:
            return Reply(ResponseCode.MTP_SPECIFICATION_BY_GROUP_UNSUPPORTED)
        if prop != ALL_PROPERTIES and prop not in OBJECT_PROP_TYPES:
            return Reply(ResponseCode.MTP_INVALID_OBJECT_PROP_CODE)
        if handle == ALL_STORAGES:
            objects = self.card.subtree(0)
        else:
            itself = [self._object(handle)] if handle else []  # handle 0: the storage's root
            by_depth = {
                0: itself,
                1: self.card.children(handle),
                DEPTH_ALL: [*itself, *self.card.subtree(handle)],
            }
            if depth not in by_depth:
                return Reply(ResponseCode.MTP_SPECIFICATION_BY_DEPTH_UNSUPPORTED)
            objects = by_depth[depth]
        objects = [o for o in objects if o.object_format == fmt or not fmt]
        if prop == ALL_PROPERTIES:
            columns = list(OBJECT_PROP_TYPES.items())
            rows = [(o.handle, self._rows[o.handle]) for o in objects]
        else:
            columns = [(prop, OBJECT_PROP_TYPES[prop])]
            rows = [(o.handle, (self._rows[o.handle][_COLUMN[prop]],)) for o in objects]
        data = ObjectPropList.encode_table(columns, rows)
        if self._huge_counts:  # huge-counts: about 4 billion elements claimed, the rest as is
            self._record("fault", kind="huge_counts", elements=len(rows) * len(columns))
            data = struct.pack("<I", 0xFFFFFFF0) + data[4:]
        return Reply(ResponseCode.OK, data=data)

    # --- Sony vendor operations ------------------------------------------------------------

    def _sony_set_request(self, ready: OperationReady) -> Reply:
        selector = self._param(ready, 0)
        if self._sony_wedged:
            return Reply(ResponseCode.DEVICE_BUSY)
        if selector == SONY_SELECTOR_AUX:
            return Reply(ResponseCode.OK)
        if selector != SONY_SELECTOR_MAIN:
            return Reply(ResponseCode.PARAMETER_NOT_SUPPORTED)
        data = ready.data or b""
        if len(data) < 16:
            self._record("sony_command", selector=selector, data=data.hex(), effect="ignored")
            return Reply(ResponseCode.OK)
        word0, cmd = struct.unpack_from("<II", data)
        effect = "none"
        if word0 == 2 and cmd == CMD_SENDING:
            effect = "sending"
            self.set_screen(Screen.SENDING)
        elif cmd == CMD_CANCEL and self.screen is Screen.SENDING:
            effect = "cancelled"
            self.set_screen(Screen.CANCELLED)
        elif cmd == CMD_POWER_OFF and self.body.power_off_needs_9281:
            effect = "power_off_armed"
            self._power_off_armed = True
        elif cmd == CMD_POWER_OFF:
            effect = "power_off"
            self._power_off()
        self._record(
            "sony_command", selector=selector, word0=word0, cmd=cmd, data=data.hex(), effect=effect
        )
        return Reply(ResponseCode.OK)

    def _sony_get_request(self, ready: OperationReady) -> Reply:
        selector = self._param(ready, 0)
        if selector == SONY_SELECTOR_AUX:
            return Reply(ResponseCode.OK)
        if selector != SONY_SELECTOR_MAIN:
            return Reply(ResponseCode.PARAMETER_NOT_SUPPORTED)
        if self._power_off_armed:
            self._power_off_armed = False
            self._power_off()
        return Reply(ResponseCode.OK, data=bytes(SONY_BLOB_SIZE))

    def _power_off(self) -> None:
        self.set_screen(Screen.POWERED_OFF)
        self._record("power_off")
