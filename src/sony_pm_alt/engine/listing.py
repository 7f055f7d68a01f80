"""What is on the camera: one bulk MTP GetObjPropList when the camera offers it, otherwise
python-gphoto2's folder-by-folder listing. Both give the same :class:`CameraObject` list.

A listing is only as good as the camera's answers. When the bulk listing has to be refused
(parents that loop, counts no reply can hold) or the objects listed disagree with the camera's
own count (GetNumObjects), :attr:`Listing.problems` says so: the sync then reports what could
not be listed and leaves the camera on, instead of calling the import complete."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from ..errors import CameraResponseError, libgphoto2_errors
from ..ptpip.codes import (
    ALL_PROPERTIES,
    ObjectFormat,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
    code_name,
)
from ..ptpip.datasets import DeviceInfo, ObjectPropList, PropValue
from ..ptpip.errors import ProtocolError
from ..ptpip.primitives import parse_datetime
from .model import CameraInfo, CameraObject, Connection

log = logging.getLogger("sony_pm_alt.listing")

ALL_OBJECTS = 0xFFFFFFFF
MIME_FORMATS = {
    "image/jpeg": ObjectFormat.EXIF_JPEG,
    "image/x-sony-arw": ObjectFormat.SONY_ARW,
    "image/heif": ObjectFormat.SONY_HEIF,
    "video/mp4": ObjectFormat.MTP_MP4,
    "video/quicktime": ObjectFormat.QUICKTIME,
    "video/mpeg": ObjectFormat.MPEG,
    "video/3gpp": ObjectFormat.MTP_3GP,
}


class UnusableListing(Exception):
    """The bulk listing came back, but cannot be trusted (the fallback is used instead)."""


@dataclass(frozen=True)
class Listing:
    camera: CameraInfo
    objects: list[CameraObject]
    method: str  # "bulk" (one GetObjPropList) or "gphoto2" (folder by folder)
    operations: frozenset[int] | None = None  # what the camera offers; None = not known
    problems: tuple[str, ...] = ()  # why this listing may miss files; empty = complete

    def offers(self, opcode: int) -> bool | None:
        return None if self.operations is None else opcode in self.operations


def camera_info(session: Connection) -> tuple[CameraInfo, DeviceInfo | None]:
    """Model and serial from a raw GetDeviceInfo, or from libgphoto2's summary without the
    native layer."""
    if session.uses_native_layer:
        result = session.transport().transaction(OperationCode.GET_DEVICE_INFO, data_in=True)
        info = DeviceInfo.decode(result.data)
        return CameraInfo(info.model, info.serial_number, info.manufacturer), info
    with libgphoto2_errors("reading the camera's summary"):
        summary = str(session.camera.get_summary())

    def field(name: str) -> str:
        match = re.search(rf"^\s*{name}:\s*(.*)$", summary, re.MULTILINE)
        return match[1].strip() if match else ""

    return CameraInfo(field("Model") or "unknown", field("Serial Number")), None


def list_camera(session: Connection, *, bulk: bool = True) -> Listing:
    """Every file on the camera. ``bulk=False`` forces the folder-by-folder listing."""
    camera, device_info = camera_info(session)
    ops = frozenset(device_info.operations_supported) if device_info is not None else None
    problems: list[str] = []
    if bulk and ops is not None and OperationCode.MTP_GET_OBJ_PROP_LIST in ops:
        try:
            objects, listed = bulk_listing(session)
            problems += _count_problems(session, listed, "bulk")
            return Listing(camera, objects, "bulk", ops, tuple(problems))
        except (UnusableListing, ProtocolError) as exc:
            log.warning("bulk listing unusable (%s); listing folder by folder instead", exc)
            problems.append(f"the camera's bulk listing had to be refused ({exc})")
        except CameraResponseError as exc:  # the camera declines: nothing to distrust
            log.warning("bulk listing refused (%s); listing folder by folder instead", exc)
    objects, folders = gphoto2_walk(session.camera, "/")
    problems += _count_problems(session, len(objects) + folders, "folder-by-folder")
    return Listing(camera, objects, "gphoto2", ops, tuple(problems))


def camera_object_count(session: Connection) -> int | None:
    """How many objects (files and folders) the camera says it holds: GetNumObjects over all
    storages and the whole hierarchy. None when it cannot be asked (no native layer) or does
    not answer; the listing then goes unchecked."""
    if not session.uses_native_layer:
        return None
    result = session.transport().transaction(
        OperationCode.GET_NUM_OBJECTS, [ALL_OBJECTS, 0, 0], check=False
    )
    if result.code != ResponseCode.OK or not result.params:
        log.info("the camera does not count its objects (%s)", code_name(result.code, ResponseCode))
        return None
    return result.params[0]


def _count_problems(session: Connection, listed: int, how: str) -> list[str]:
    counted = camera_object_count(session)
    if counted is None or counted == listed:
        return []
    return [
        f"the camera counts {counted} files and folders, the {how} listing found {listed}"
        + (f": {counted - listed} could not be listed" if counted > listed else "")
    ]


def bulk_listing(session: Connection) -> tuple[list[CameraObject], int]:
    """The files, and how many objects (files and folders) the reply described."""
    result = session.transport().transaction(
        OperationCode.MTP_GET_OBJ_PROP_LIST, [ALL_OBJECTS, 0, ALL_PROPERTIES, 0, 0], data_in=True
    )
    by_handle = ObjectPropList.decode_by_handle(result.data)
    return objects_from_prop_list(by_handle), len(by_handle)


def _capture_time(props: dict[int, PropValue]) -> tuple[datetime | None, str]:
    """The capture time and the camera's own text for it (kept even when unusable)."""
    # ModificationDate first, as libgphoto2 does: both listings then key files alike.
    texts = []
    for code in (ObjectPropCode.DATE_MODIFIED, ObjectPropCode.DATE_CREATED):
        value = props.get(code)
        if isinstance(value, str) and (parsed := parse_datetime(value)) is not None:
            return parsed, value
        if isinstance(value, str) and value:
            texts.append(value)
    return None, texts[0] if texts else ""


_REQUIRED = (
    ObjectPropCode.STORAGE_ID,
    ObjectPropCode.OBJECT_FORMAT,
    ObjectPropCode.OBJECT_FILE_NAME,
    ObjectPropCode.PARENT_OBJECT,
)
_REQUIRED_SET = frozenset(_REQUIRED)


def objects_from_prop_list(by_handle: dict[int, dict[int, PropValue]]) -> list[CameraObject]:
    """Turn GetObjPropList elements into files with libgphoto2-style folder paths."""
    for handle, props in by_handle.items():
        if not props.keys() >= _REQUIRED_SET:
            missing = [f"0x{c:04X}" for c in _REQUIRED if c not in props]
            raise UnusableListing(f"object 0x{handle:08X} lacks properties {', '.join(missing)}")

    def as_int(props: dict[int, PropValue], code: int) -> int:
        value = props.get(code)
        if not isinstance(value, int):
            raise UnusableListing(f"property 0x{code:04X} is not a number")
        return value

    paths: dict[int, str] = {}

    def folder_path(handle: int) -> str:
        """Walk up to the storage root (iteratively: a hostile reply may nest very deep)."""
        chain: list[int] = []
        current = handle
        while current not in paths:
            if current in chain:
                raise UnusableListing(f"folder 0x{current:08X} is its own ancestor")
            props = by_handle[current]
            if as_int(props, ObjectPropCode.OBJECT_FORMAT) != ObjectFormat.ASSOCIATION:
                raise UnusableListing(f"parent 0x{current:08X} is not a folder")
            chain.append(current)
            parent = as_int(props, ObjectPropCode.PARENT_OBJECT)
            if parent in (0, ALL_OBJECTS) or parent == current:
                storage = as_int(props, ObjectPropCode.STORAGE_ID)
                paths[current] = f"/store_{storage:08x}/{props[ObjectPropCode.OBJECT_FILE_NAME]}"
                chain.pop()
                break
            if parent not in by_handle:
                raise UnusableListing(f"folder 0x{current:08X} has an unknown parent")
            current = parent
        for folder in reversed(chain):
            parent = as_int(by_handle[folder], ObjectPropCode.PARENT_OBJECT)
            paths[folder] = f"{paths[parent]}/{by_handle[folder][ObjectPropCode.OBJECT_FILE_NAME]}"
        return paths[handle]

    # One pass per file with the checks of as_int() written out: this loop runs once per
    # file of the card in every session, new files or not.
    fmt_code, parent_code = ObjectPropCode.OBJECT_FORMAT, ObjectPropCode.PARENT_OBJECT
    storage_code, name_code = ObjectPropCode.STORAGE_ID, ObjectPropCode.OBJECT_FILE_NAME
    size_code, association = ObjectPropCode.OBJECT_SIZE, ObjectFormat.ASSOCIATION
    objects: list[CameraObject] = []
    append = objects.append
    for handle, props in by_handle.items():
        object_format = props[fmt_code]
        if not isinstance(object_format, int):
            raise UnusableListing(f"property 0x{fmt_code:04X} is not a number")
        if object_format == association:
            continue
        parent, storage = props[parent_code], props[storage_code]
        if not isinstance(parent, int):
            raise UnusableListing(f"property 0x{parent_code:04X} is not a number")
        if not isinstance(storage, int):
            raise UnusableListing(f"property 0x{storage_code:04X} is not a number")
        if parent in (0, ALL_OBJECTS):
            folder = f"/store_{storage:08x}"
        elif parent in by_handle:
            folder = paths.get(parent) or folder_path(parent)
        else:
            raise UnusableListing(f"object 0x{handle:08X} has an unknown parent")
        size = props.get(size_code)
        if not isinstance(size, int):
            raise UnusableListing(f"object 0x{handle:08X} has no size")
        when, date_text = _capture_time(props)
        name = str(props[name_code])
        append(CameraObject(folder, name, size, when, object_format, handle, date_text))
    return sorted(objects, key=attrgetter("folder", "name"))


def gphoto2_walk(camera: Any, folder: str = "/") -> tuple[list[CameraObject], int]:
    """python-gphoto2's own listing, one folder at a time (GetObjectHandles/GetObjectInfo): the
    files below ``folder`` and how many folders that are camera objects (not libgphoto2's
    ``/store_…`` level) were walked."""
    objects: list[CameraObject] = []
    with libgphoto2_errors(f"listing folder {folder}"):
        files = camera.folder_list_files(folder)
    for i in range(files.count()):
        name = files.get_name(i)
        with libgphoto2_errors(f"reading the details of {folder.rstrip('/')}/{name}"):
            info = camera.file_get_info(folder, name).file
        stamp = _from_mtime(info.mtime)
        object_format = MIME_FORMATS.get(str(info.type), ObjectFormat.UNDEFINED)
        date_text = str(info.mtime) if info.mtime else ""
        objects.append(
            CameraObject(folder, name, int(info.size), stamp, object_format, 0, date_text)
        )
    with libgphoto2_errors(f"listing folder {folder}"):
        folders = camera.folder_list_folders(folder)
    count = 0
    for i in range(folders.count()):
        child = folder.rstrip("/") + "/" + folders.get_name(i)
        below, below_folders = gphoto2_walk(camera, child)
        objects += below
        count += below_folders + (folder != "/")
    return sorted(objects, key=lambda o: (o.folder, o.name)), count


def _from_mtime(mtime: int) -> datetime | None:
    """libgphoto2's mtime as local time; None for none, or one Python cannot hold."""
    if not mtime:
        return None
    try:
        return datetime.fromtimestamp(mtime)
    except (OverflowError, OSError, ValueError):
        return None
