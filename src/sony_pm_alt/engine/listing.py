"""What is on the camera: one bulk MTP GetObjPropList when the camera offers it, otherwise
python-gphoto2's folder-by-folder listing. Both give the same :class:`CameraObject` list."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import PTPResponseError
from ..ptpip.codes import ALL_PROPERTIES, ObjectFormat, ObjectPropCode, OperationCode
from ..ptpip.datasets import DeviceInfo, ObjectPropList, PropValue
from ..ptpip.errors import ProtocolError
from ..ptpip.primitives import parse_datetime
from .model import CameraInfo, CameraObject
from .session import CameraSession

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

    def offers(self, opcode: int) -> bool | None:
        return None if self.operations is None else opcode in self.operations


def camera_info(session: CameraSession) -> tuple[CameraInfo, DeviceInfo | None]:
    """Model and serial from a raw GetDeviceInfo, or from libgphoto2's summary without the
    native layer."""
    if session.uses_native_layer:
        result = session.transport().transaction(OperationCode.GET_DEVICE_INFO, data_in=True)
        info = DeviceInfo.decode(result.data)
        return CameraInfo(info.model, info.serial_number, info.manufacturer), info
    summary = str(session.camera.get_summary())

    def field(name: str) -> str:
        match = re.search(rf"^\s*{name}:\s*(.*)$", summary, re.MULTILINE)
        return match[1].strip() if match else ""

    return CameraInfo(field("Model") or "unknown", field("Serial Number")), None


def list_camera(session: CameraSession, *, bulk: bool = True) -> Listing:
    """Every file on the camera. ``bulk=False`` forces the folder-by-folder listing."""
    camera, device_info = camera_info(session)
    ops = frozenset(device_info.operations_supported) if device_info is not None else None
    if bulk and ops is not None and OperationCode.MTP_GET_OBJ_PROP_LIST in ops:
        try:
            return Listing(camera, bulk_listing(session), "bulk", ops)
        except (UnusableListing, ProtocolError, PTPResponseError) as exc:
            log.warning("bulk listing unusable (%s); listing folder by folder instead", exc)
    return Listing(camera, gphoto2_listing(session.camera), "gphoto2", ops)


def bulk_listing(session: CameraSession) -> list[CameraObject]:
    result = session.transport().transaction(
        OperationCode.MTP_GET_OBJ_PROP_LIST, [ALL_OBJECTS, 0, ALL_PROPERTIES, 0, 0], data_in=True
    )
    return objects_from_prop_list(ObjectPropList.decode_by_handle(result.data))


def _capture_time(props: dict[int, PropValue]) -> datetime | None:
    # ModificationDate first, as libgphoto2 does: both listings then key files alike.
    for code in (ObjectPropCode.DATE_MODIFIED, ObjectPropCode.DATE_CREATED):
        value = props.get(code)
        if isinstance(value, str) and (parsed := parse_datetime(value)) is not None:
            return parsed
    return None


def objects_from_prop_list(by_handle: dict[int, dict[int, PropValue]]) -> list[CameraObject]:
    """Turn GetObjPropList elements into files with libgphoto2-style folder paths."""
    required = (
        ObjectPropCode.STORAGE_ID,
        ObjectPropCode.OBJECT_FORMAT,
        ObjectPropCode.OBJECT_FILE_NAME,
        ObjectPropCode.PARENT_OBJECT,
    )
    for handle, props in by_handle.items():
        missing = [f"0x{c:04X}" for c in required if c not in props]
        if missing:
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

    objects = []
    for handle, props in by_handle.items():
        object_format = as_int(props, ObjectPropCode.OBJECT_FORMAT)
        if object_format == ObjectFormat.ASSOCIATION:
            continue
        parent = as_int(props, ObjectPropCode.PARENT_OBJECT)
        storage = as_int(props, ObjectPropCode.STORAGE_ID)
        if parent in (0, ALL_OBJECTS):
            folder = f"/store_{storage:08x}"
        elif parent in by_handle:
            folder = folder_path(parent)
        else:
            raise UnusableListing(f"object 0x{handle:08X} has an unknown parent")
        size = props.get(ObjectPropCode.OBJECT_SIZE)
        if not isinstance(size, int):
            raise UnusableListing(f"object 0x{handle:08X} has no size")
        objects.append(
            CameraObject(
                folder,
                str(props[ObjectPropCode.OBJECT_FILE_NAME]),
                size,
                _capture_time(props),
                object_format,
                handle,
            )
        )
    return sorted(objects, key=lambda o: (o.folder, o.name))


def gphoto2_listing(camera: Any, folder: str = "/") -> list[CameraObject]:
    """python-gphoto2's own listing, one folder at a time (GetObjectHandles/GetObjectInfo)."""
    objects: list[CameraObject] = []
    files = camera.folder_list_files(folder)
    for i in range(files.count()):
        name = files.get_name(i)
        info = camera.file_get_info(folder, name).file
        stamp = datetime.fromtimestamp(info.mtime) if info.mtime else None
        object_format = MIME_FORMATS.get(str(info.type), ObjectFormat.UNDEFINED)
        objects.append(CameraObject(folder, name, int(info.size), stamp, object_format))
    folders = camera.folder_list_folders(folder)
    for i in range(folders.count()):
        objects += gphoto2_listing(camera, folder.rstrip("/") + "/" + folders.get_name(i))
    return sorted(objects, key=lambda o: (o.folder, o.name))
