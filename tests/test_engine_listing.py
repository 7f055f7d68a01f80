"""engine.listing: GetObjPropList elements and python-gphoto2's listing become CameraObjects.

Pure: the bulk listing is fed ``{handle: {propcode: value}}`` dictionaries (what
``ObjectPropList.by_handle()`` gives) and the gphoto2 listing a small fake camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fakes
from sony_pm_alt.emulator.body import BodyConfig
from sony_pm_alt.engine.listing import (
    ALL_OBJECTS,
    UnusableListing,
    gphoto2_walk,
    list_camera,
    objects_from_prop_list,
)
from sony_pm_alt.engine.model import CameraObject
from sony_pm_alt.native import TransactionResult
from sony_pm_alt.ptpip.codes import DataType, ObjectFormat, ObjectPropCode, OperationCode
from sony_pm_alt.ptpip.datasets import ObjectPropElement, ObjectPropList, PropValue

P = ObjectPropCode
STORE = 0x00010001
ROOT = f"/store_{STORE:08x}"
DCIM = f"{ROOT}/DCIM"
MSDCF = f"{DCIM}/100MSDCF"
SHOT = datetime(2024, 5, 1, 12, 30, 15)
LATER = datetime(2024, 6, 2, 8, 0, 1)

Props = dict[int, PropValue]


def folder(parent: int, name: str, storage: int = STORE) -> Props:
    return {
        P.STORAGE_ID: storage,
        P.OBJECT_FORMAT: ObjectFormat.ASSOCIATION,
        P.OBJECT_FILE_NAME: name,
        P.PARENT_OBJECT: parent,
    }


def file(
    parent: int,
    name: str,
    size: int = 1000,
    *,
    fmt: int = ObjectFormat.EXIF_JPEG,
    storage: int = STORE,
    created: str | None = "20240501T123015",
) -> Props:
    props: Props = {
        P.STORAGE_ID: storage,
        P.OBJECT_FORMAT: fmt,
        P.OBJECT_FILE_NAME: name,
        P.PARENT_OBJECT: parent,
        P.OBJECT_SIZE: size,
    }
    if created is not None:
        props[P.DATE_CREATED] = created
    return props


def card() -> dict[int, Props]:
    """A typical Sony card: DCIM/100MSDCF with a JPEG and an ARW, PRIVATE/M4ROOT/CLIP."""
    return {
        0x10: folder(0, "DCIM"),
        0x11: folder(0x10, "100MSDCF"),
        0x20: folder(ALL_OBJECTS, "PRIVATE"),
        0x21: folder(0x20, "M4ROOT"),
        0x22: folder(0x21, "CLIP"),
        0x101: file(0x11, "DSC00002.JPG", 2000),
        0x100: file(0x11, "DSC00001.ARW", 25_000_000, fmt=ObjectFormat.SONY_ARW),
        0x200: file(0x22, "C0001.MP4", 5 << 32, fmt=ObjectFormat.MTP_MP4),
    }


# --- the bulk listing: shapes ------------------------------------------------------------


def test_nested_folders_become_libgphoto2_paths() -> None:
    objects = objects_from_prop_list(card())
    assert [(o.folder, o.name, o.handle) for o in objects] == [
        (MSDCF, "DSC00001.ARW", 0x100),
        (MSDCF, "DSC00002.JPG", 0x101),
        (f"{ROOT}/PRIVATE/M4ROOT/CLIP", "C0001.MP4", 0x200),
    ]


def test_folders_are_not_returned() -> None:
    objects = objects_from_prop_list(card())
    assert all(o.object_format != ObjectFormat.ASSOCIATION for o in objects)
    assert {o.name for o in objects} == {"DSC00001.ARW", "DSC00002.JPG", "C0001.MP4"}


def test_only_folders_give_an_empty_listing() -> None:
    assert objects_from_prop_list({1: folder(0, "DCIM"), 2: folder(1, "100MSDCF")}) == []
    assert objects_from_prop_list({}) == []


@pytest.mark.parametrize("parent", [0, ALL_OBJECTS])
def test_a_file_at_the_storage_root_gets_the_storage_folder(parent: int) -> None:
    (obj,) = objects_from_prop_list({7: file(parent, "ROOT.JPG")})
    assert obj.folder == ROOT
    assert obj.name == "ROOT.JPG"


def test_storage_id_is_eight_lower_case_hex_digits() -> None:
    tree = {
        1: folder(0, "DCIM", storage=0x0002000A),
        2: file(1, "A.JPG", storage=0x0002000A),
        3: file(0, "B.JPG", storage=0xFFFF0001),
    }
    assert [(o.folder, o.name) for o in objects_from_prop_list(tree)] == [
        ("/store_0002000a/DCIM", "A.JPG"),
        ("/store_ffff0001", "B.JPG"),
    ]


def test_a_folder_that_is_its_own_parent_is_treated_as_top_level() -> None:
    """listing.py deliberately reads parent == handle on a folder as "no parent"."""
    (obj,) = objects_from_prop_list({1: folder(1, "DCIM"), 2: file(1, "A.JPG")})
    assert obj.folder == DCIM


def test_fields_of_each_object() -> None:
    (obj,) = objects_from_prop_list(
        {0x11: folder(0, "100MSDCF"), 0x42: file(0x11, "DSC00042.ARW", 123_456, fmt=0xB101)}
    )
    assert obj == CameraObject(
        f"{ROOT}/100MSDCF", "DSC00042.ARW", 123_456, SHOT, ObjectFormat.SONY_ARW, 0x42
    )


def test_sizes_of_4_gib_and_more_are_kept() -> None:
    sizes = {o.name: o.size for o in objects_from_prop_list(card())}
    assert sizes["C0001.MP4"] == 5 << 32
    (huge,) = objects_from_prop_list({1: file(0, "BIG.MP4", (1 << 64) - 1)})
    assert huge.size == (1 << 64) - 1


def test_a_zero_size_file_is_listed() -> None:
    (obj,) = objects_from_prop_list({1: file(0, "EMPTY.JPG", 0)})
    assert obj.size == 0


def test_result_is_sorted_by_folder_then_name() -> None:
    tree = {
        1: folder(0, "B"),
        2: folder(0, "A"),
        10: file(1, "a.jpg"),
        11: file(2, "z.jpg"),
        12: file(2, "m.jpg"),
        13: file(0, "top.jpg"),
        14: file(1, "A.jpg"),
    }
    assert [(o.folder, o.name) for o in objects_from_prop_list(tree)] == [
        (ROOT, "top.jpg"),
        (f"{ROOT}/A", "m.jpg"),
        (f"{ROOT}/A", "z.jpg"),
        (f"{ROOT}/B", "A.jpg"),
        (f"{ROOT}/B", "a.jpg"),
    ]


def test_the_same_name_in_two_folders_is_two_objects() -> None:
    tree = {
        1: folder(0, "100MSDCF"),
        2: folder(0, "101MSDCF"),
        3: file(1, "X.JPG"),
        4: file(2, "X.JPG"),
    }
    assert [(o.folder, o.handle) for o in objects_from_prop_list(tree)] == [
        (f"{ROOT}/100MSDCF", 3),
        (f"{ROOT}/101MSDCF", 4),
    ]


def test_the_camera_name_is_kept_exactly() -> None:
    """Sanitising is engine.sanitize's job: the listing passes names through untouched."""
    name = "../\u00e9 x\x01.JPG"
    (obj,) = objects_from_prop_list({1: folder(0, "D I R"), 2: file(1, name)})
    assert obj.name == name
    assert obj.folder == f"{ROOT}/D I R"


# --- the bulk listing: capture time --------------------------------------------------------


def with_dates(created: PropValue | None, modified: PropValue | None) -> Props:
    props = file(0, "A.JPG", created=None)
    if created is not None:
        props[P.DATE_CREATED] = created
    if modified is not None:
        props[P.DATE_MODIFIED] = modified
    return props


@pytest.mark.parametrize(
    ("created", "modified", "expected"),
    [
        ("20240501T123015", "20240602T080001", LATER),  # DateModified wins, as in libgphoto2
        ("20240501T123015", "garbage", SHOT),  # unparsable DateModified: DateCreated
        ("20240501T123015.0Z", None, SHOT),  # tenths and zone suffixes ignored
        ("20240501T123015+0200", None, SHOT),
        (None, "20240602T080001", LATER),  # no DateCreated: DateModified
        ("", "20240602T080001", LATER),  # empty DateCreated: DateModified
        ("garbage", "20240602T080001", LATER),  # unparsable DateCreated: DateModified
        ("20241301T000000", "20240602T080001", LATER),  # month 13
        (20240501, "20240602T080001", LATER),  # not a string
        ("garbage", "nonsense", None),
        ("20240230T120000", None, None),  # 30 February
        (None, None, None),
        ("", "", None),
    ],
)
def test_capture_time(
    created: PropValue | None, modified: PropValue | None, expected: datetime | None
) -> None:
    (obj,) = objects_from_prop_list({1: with_dates(created, modified)})
    assert obj.capture_time == expected


# --- the bulk listing: unusable replies ----------------------------------------------------

REQUIRED = [P.STORAGE_ID, P.OBJECT_FORMAT, P.OBJECT_FILE_NAME, P.PARENT_OBJECT]


@pytest.mark.parametrize("code", REQUIRED)
def test_a_file_missing_a_required_property_is_unusable(code: int) -> None:
    tree = card()
    del tree[0x101][code]
    with pytest.raises(UnusableListing, match=f"0x{code:04X}"):
        objects_from_prop_list(tree)


@pytest.mark.parametrize("code", REQUIRED)
def test_a_folder_missing_a_required_property_is_unusable(code: int) -> None:
    tree = card()
    del tree[0x11][code]
    with pytest.raises(UnusableListing, match=f"0x{code:04X}"):
        objects_from_prop_list(tree)


def test_an_unused_folder_missing_a_property_is_still_unusable() -> None:
    """A reply with holes is not trusted at all, even where no file needs the hole."""
    hole: Props = {P.OBJECT_FORMAT: ObjectFormat.ASSOCIATION}
    tree = {**card(), 0x30: hole}
    with pytest.raises(UnusableListing):
        objects_from_prop_list(tree)


def test_a_parent_that_is_a_file_is_unusable() -> None:
    tree = {1: file(0, "A.JPG"), 2: file(1, "B.JPG")}
    with pytest.raises(UnusableListing, match="not a folder"):
        objects_from_prop_list(tree)


def test_a_file_that_is_its_own_parent_is_unusable() -> None:
    with pytest.raises(UnusableListing, match="not a folder"):
        objects_from_prop_list({1: file(1, "A.JPG")})


def test_a_parent_that_is_a_file_higher_up_is_unusable() -> None:
    tree = {1: file(0, "A.JPG"), 2: folder(1, "DIR"), 3: file(2, "B.JPG")}
    with pytest.raises(UnusableListing, match="not a folder"):
        objects_from_prop_list(tree)


def test_a_file_with_an_unknown_parent_is_unusable() -> None:
    with pytest.raises(UnusableListing, match="unknown parent"):
        objects_from_prop_list({1: folder(0, "DCIM"), 2: file(99, "A.JPG")})


def test_a_folder_with_an_unknown_parent_is_unusable() -> None:
    tree = {1: folder(0, "DCIM"), 2: folder(98, "100MSDCF"), 3: file(2, "A.JPG")}
    with pytest.raises(UnusableListing, match="unknown parent"):
        objects_from_prop_list(tree)


def test_a_two_folder_cycle_is_unusable() -> None:
    tree = {1: folder(2, "A"), 2: folder(1, "B"), 3: file(1, "X.JPG")}
    with pytest.raises(UnusableListing, match="ancestor"):
        objects_from_prop_list(tree)


def test_a_longer_cycle_below_a_real_folder_is_unusable() -> None:
    tree = {
        1: folder(0, "DCIM"),
        2: folder(4, "B"),
        3: folder(2, "C"),
        4: folder(3, "D"),
        5: file(3, "X.JPG"),
        6: file(1, "OK.JPG"),
    }
    with pytest.raises(UnusableListing, match="ancestor"):
        objects_from_prop_list(tree)


@pytest.mark.parametrize("size", [None, "1000", -1.5])
def test_a_file_without_an_integer_size_is_unusable(size: Any) -> None:
    props = file(0, "A.JPG")
    if size is None:
        del props[P.OBJECT_SIZE]
    else:
        props[P.OBJECT_SIZE] = size
    with pytest.raises(UnusableListing, match="no size"):
        objects_from_prop_list({1: props})


def test_a_folder_needs_no_size() -> None:
    (obj,) = objects_from_prop_list({1: folder(0, "DCIM"), 2: file(1, "A.JPG")})
    assert obj.folder == DCIM


@pytest.mark.parametrize("code", [P.STORAGE_ID, P.OBJECT_FORMAT, P.PARENT_OBJECT])
def test_a_text_where_a_number_belongs_is_unusable(code: int) -> None:
    tree = card()
    tree[0x101][code] = "1"
    with pytest.raises(UnusableListing, match=f"0x{code:04X}"):
        objects_from_prop_list(tree)


@pytest.mark.parametrize("code", [P.STORAGE_ID, P.OBJECT_FORMAT, P.PARENT_OBJECT])
def test_a_folder_with_a_text_where_a_number_belongs_is_unusable(code: int) -> None:
    tree = card()
    tree[0x10][code] = "x"
    with pytest.raises(UnusableListing, match=f"0x{code:04X}"):
        objects_from_prop_list(tree)


def test_a_very_deep_folder_chain_is_a_result_or_unusable_never_a_crash() -> None:
    """A hostile reply may chain thousands of folders (the element cap allows ~380k objects).
    Whatever the listing makes of it, list_camera only catches UnusableListing (and protocol
    errors) to fall back to the gphoto2 listing: a RecursionError would end the whole sync."""
    depth = 3000
    tree = {n: folder(n - 1, f"d{n}") for n in range(1, depth + 1)}
    tree[depth + 1] = file(depth, "DEEP.JPG")
    try:
        objects = objects_from_prop_list(tree)
    except UnusableListing:
        return
    (obj,) = objects
    assert obj.folder == ROOT + "".join(f"/d{n}" for n in range(1, depth + 1))


# --- the bulk listing: random trees round-trip through the codec ----------------------------

NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. ", min_size=1, max_size=12)
DATES = st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0)  # PTP DateTime has whole seconds
)


@dataclass
class Tree:
    """Folders refer to earlier folders only, so the tree is acyclic by construction."""

    storages: list[int]
    folders: list[tuple[int | None, str, int]]  # (parent folder index, name, storage index)
    files: list[tuple[int | None, str, int, datetime | None, int]]  # (…, size, when, storage)
    handles: list[int] = field(default_factory=list)  # folders first, then files

    def folder_path(self, index: int | None, storage: int) -> str:
        parts: list[str] = []
        while index is not None:
            parent, name, storage = self.folders[index]
            parts.append(name)
            index = parent
        return f"/store_{self.storages[storage]:08x}" + "".join(f"/{p}" for p in reversed(parts))

    def storage_of(self, index: int | None, storage: int) -> int:
        while index is not None:
            index, _, storage = self.folders[index]
        return storage


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    storages = draw(st.lists(st.integers(1, 0xFFFFFFFE), min_size=1, max_size=3, unique=True))
    storage_index = st.integers(0, len(storages) - 1)
    folders: list[tuple[int | None, str, int]] = []
    for _ in range(draw(st.integers(0, 12))):
        parent = draw(st.none() | st.integers(0, len(folders) - 1)) if folders else None
        folders.append((parent, draw(NAME), draw(storage_index)))
    folder_index = st.none() | st.integers(0, len(folders) - 1) if folders else st.none()
    files = draw(
        st.lists(
            st.tuples(
                folder_index,
                NAME,
                st.integers(0, (1 << 64) - 1),
                st.none() | DATES,
                storage_index,
            ),
            max_size=20,
        )
    )
    handles = draw(
        st.lists(
            st.integers(1, 0xFFFFFFFE),
            min_size=len(folders) + len(files),
            max_size=len(folders) + len(files),
            unique=True,
        )
    )
    return Tree(storages, folders, files, handles)


def elements_of(tree: Tree) -> list[ObjectPropElement]:
    """The tree as GetObjPropList elements, folders first."""
    elements: list[ObjectPropElement] = []

    def add(handle: int, code: int, data_type: int, value: PropValue) -> None:
        elements.append(ObjectPropElement(handle, code, data_type, value))

    def parent_handle(index: int | None) -> int:
        return 0 if index is None else tree.handles[index]

    for i, (parent, name, storage) in enumerate(tree.folders):
        handle = tree.handles[i]
        # A nested folder's storage is its top folder's: cameras do not mix stores in a path.
        add(handle, P.STORAGE_ID, DataType.UINT32, tree.storages[tree.storage_of(i, storage)])
        add(handle, P.OBJECT_FORMAT, DataType.UINT16, ObjectFormat.ASSOCIATION)
        add(handle, P.OBJECT_FILE_NAME, DataType.STRING, name)
        add(handle, P.PARENT_OBJECT, DataType.UINT32, parent_handle(parent))
    for j, (parent, name, size, when, storage) in enumerate(tree.files):
        handle = tree.handles[len(tree.folders) + j]
        add(handle, P.STORAGE_ID, DataType.UINT32, tree.storages[tree.storage_of(parent, storage)])
        add(handle, P.OBJECT_FORMAT, DataType.UINT16, ObjectFormat.EXIF_JPEG)
        add(handle, P.OBJECT_FILE_NAME, DataType.STRING, name)
        add(handle, P.PARENT_OBJECT, DataType.UINT32, parent_handle(parent))
        add(handle, P.OBJECT_SIZE, DataType.UINT64, size)
        if when is not None:
            add(handle, P.DATE_CREATED, DataType.STRING, when.strftime("%Y%m%dT%H%M%S"))
    return elements


@given(tree=trees(), data=st.data())
def test_random_trees_round_trip(tree: Tree, data: st.DataObject) -> None:
    """Generate a tree, send it as a GetObjPropList reply in any element order, list it."""
    elements = data.draw(st.permutations(elements_of(tree)))
    wire = ObjectPropList(tuple(elements)).encode()
    objects = objects_from_prop_list(ObjectPropList.decode(wire).by_handle())

    expected = {
        tree.handles[len(tree.folders) + j]: (tree.folder_path(parent, storage), name, size, when)
        for j, (parent, name, size, when, storage) in enumerate(tree.files)
    }
    assert {o.handle: (o.folder, o.name, o.size, o.capture_time) for o in objects} == expected
    assert len(objects) == len(tree.files)
    assert [(o.folder, o.name) for o in objects] == sorted((o.folder, o.name) for o in objects)
    assert all(o.object_format == ObjectFormat.EXIF_JPEG for o in objects)


# --- the gphoto2 listing ------------------------------------------------------------------


class FakeCameraList:
    """python-gphoto2's CameraList: ``count()`` and ``get_name(i)``."""

    def __init__(self, names: list[str]) -> None:
        self._names = names

    def count(self) -> int:
        return len(self._names)

    def get_name(self, index: int) -> str:
        return self._names[index]


@dataclass
class FakeFileInfoFile:
    size: int
    mtime: int
    type: str


@dataclass
class FakeFileInfo:
    file: FakeFileInfoFile


class FakeGphotoCamera:
    """The three python-gphoto2 Camera methods the listing uses, over ``{path: info}``."""

    def __init__(self, files: dict[str, FakeFileInfoFile], empty_folders: tuple[str, ...] = ()):
        self._files = files
        self._folders = {"/", *empty_folders}
        for path in [*files, *empty_folders]:
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                self._folders.add("/" + "/".join(parts[:depth]))
        self.calls: list[tuple[str, str]] = []

    def _check(self, folder: str) -> None:
        assert folder in self._folders, f"listing asked for {folder!r}, which is no folder"

    def folder_list_files(self, folder: str) -> FakeCameraList:
        self._check(folder)
        self.calls.append(("files", folder))
        prefix = folder.rstrip("/") + "/"
        names = [
            p.removeprefix(prefix) for p in self._files if p.rpartition("/")[0] + "/" == prefix
        ]
        return FakeCameraList(sorted(names, reverse=True))  # camera order is not sorted order

    def folder_list_folders(self, folder: str) -> FakeCameraList:
        self._check(folder)
        self.calls.append(("folders", folder))
        prefix = folder.rstrip("/") + "/"
        names = {
            f.removeprefix(prefix)
            for f in self._folders
            if f != "/" and f.startswith(prefix) and "/" not in f.removeprefix(prefix)
        }
        return FakeCameraList(sorted(names, reverse=True))

    def file_get_info(self, folder: str, name: str) -> FakeFileInfo:
        self._check(folder)
        self.calls.append(("info", f"{folder}/{name}"))
        return FakeFileInfo(self._files[f"{folder}/{name}"])


MTIME = int(datetime(2024, 5, 1, 12, 30, 15).timestamp())


def gphoto_card() -> FakeGphotoCamera:
    return FakeGphotoCamera(
        {
            f"{MSDCF}/DSC00002.JPG": FakeFileInfoFile(2000, MTIME, "image/jpeg"),
            f"{MSDCF}/DSC00001.ARW": FakeFileInfoFile(25_000_000, MTIME, "image/x-sony-arw"),
            f"{ROOT}/PRIVATE/M4ROOT/CLIP/C0001.MP4": FakeFileInfoFile(5 << 32, 0, "video/mp4"),
            f"{ROOT}/README.TXT": FakeFileInfoFile(12, MTIME, "text/plain"),
            "/store_00020001/DCIM/100MSDCF/DSC00009.HIF": FakeFileInfoFile(7, MTIME, "image/heif"),
        },
        empty_folders=(f"{ROOT}/DCIM/101MSDCF",),
    )


def test_gphoto2_listing_walks_every_folder() -> None:
    objects = gphoto2_walk(gphoto_card())[0]
    assert [(o.folder, o.name) for o in objects] == [
        (ROOT, "README.TXT"),
        (MSDCF, "DSC00001.ARW"),
        (MSDCF, "DSC00002.JPG"),
        (f"{ROOT}/PRIVATE/M4ROOT/CLIP", "C0001.MP4"),
        ("/store_00020001/DCIM/100MSDCF", "DSC00009.HIF"),
    ]


def test_gphoto2_listing_folder_paths_have_single_slashes() -> None:
    camera = gphoto_card()
    gphoto2_walk(camera)[0]
    folders = {folder for kind, folder in camera.calls if kind != "info"}
    assert "/" in folders
    assert f"{ROOT}/DCIM/101MSDCF" in folders  # empty folders are visited too
    assert all("//" not in f for f in folders)
    assert all(f == "/" or not f.endswith("/") for f in folders)


def test_gphoto2_listing_fields() -> None:
    by_name = {o.name: o for o in gphoto2_walk(gphoto_card())[0]}
    jpg = by_name["DSC00002.JPG"]
    assert jpg == CameraObject(MSDCF, "DSC00002.JPG", 2000, SHOT, ObjectFormat.EXIF_JPEG, 0)
    assert by_name["DSC00001.ARW"].object_format == ObjectFormat.SONY_ARW
    assert by_name["DSC00009.HIF"].object_format == ObjectFormat.SONY_HEIF
    assert by_name["README.TXT"].object_format == ObjectFormat.UNDEFINED


def test_gphoto2_listing_keeps_64_bit_sizes_and_no_mtime_is_no_capture_time() -> None:
    clip = next(o for o in gphoto2_walk(gphoto_card())[0] if o.name == "C0001.MP4")
    assert clip.size == 5 << 32
    assert clip.capture_time is None
    assert clip.object_format == ObjectFormat.MTP_MP4


@pytest.mark.parametrize(
    ("mime", "fmt"),
    [
        ("image/jpeg", ObjectFormat.EXIF_JPEG),
        ("image/x-sony-arw", ObjectFormat.SONY_ARW),
        ("image/heif", ObjectFormat.SONY_HEIF),
        ("video/mp4", ObjectFormat.MTP_MP4),
        ("video/quicktime", ObjectFormat.QUICKTIME),
        ("video/mpeg", ObjectFormat.MPEG),
        ("video/3gpp", ObjectFormat.MTP_3GP),
        ("application/octet-stream", ObjectFormat.UNDEFINED),
        ("", ObjectFormat.UNDEFINED),
    ],
)
def test_gphoto2_listing_maps_mime_types(mime: str, fmt: int) -> None:
    camera = FakeGphotoCamera({f"{DCIM}/X": FakeFileInfoFile(1, MTIME, mime)})
    (obj,) = gphoto2_walk(camera)[0]
    assert obj.object_format == fmt


def test_gphoto2_listing_of_an_empty_camera() -> None:
    assert gphoto2_walk(FakeGphotoCamera({}))[0] == []


def test_gphoto2_listing_from_a_subfolder() -> None:
    objects = gphoto2_walk(gphoto_card(), MSDCF)[0]
    assert [o.name for o in objects] == ["DSC00001.ARW", "DSC00002.JPG"]


def test_both_listings_agree_on_the_same_card() -> None:
    bulk = objects_from_prop_list(
        {
            0x10: folder(0, "DCIM"),
            0x11: folder(0x10, "100MSDCF"),
            0x101: file(0x11, "DSC00002.JPG", 2000),
            0x100: file(0x11, "DSC00001.ARW", 25_000_000, fmt=ObjectFormat.SONY_ARW),
        }
    )
    camera = FakeGphotoCamera(
        {
            f"{MSDCF}/DSC00002.JPG": FakeFileInfoFile(2000, MTIME, "image/jpeg"),
            f"{MSDCF}/DSC00001.ARW": FakeFileInfoFile(25_000_000, MTIME, "image/x-sony-arw"),
        }
    )
    fallback = gphoto2_walk(camera)[0]
    assert [o.key for o in bulk] == [o.key for o in fallback]


# --- list_camera: a listing it cannot vouch for says so --------------------------------------


class CardAnswers:
    """Answers GetDeviceInfo, the bulk GetObjPropList and GetNumObjects (for a FakeTransport)."""

    def __init__(self, prop_list: bytes | int, count: int | None) -> None:
        self.prop_list = prop_list  # the reply's data, or a response code refusing it
        self.count = count

    def __call__(self, call: fakes.Call) -> TransactionResult | int:
        if call.opcode == OperationCode.GET_DEVICE_INFO:
            return TransactionResult(0x2001, (), BodyConfig().device_info().encode())
        if call.opcode == OperationCode.MTP_GET_OBJ_PROP_LIST:
            if isinstance(self.prop_list, int):
                return self.prop_list
            return TransactionResult(0x2001, (), self.prop_list)
        assert call.opcode == OperationCode.GET_NUM_OBJECTS
        assert list(call.params) == [ALL_OBJECTS, 0, 0]  # every storage, the whole hierarchy
        if self.count is None:
            return 0x2005  # OperationNotSupported
        return TransactionResult(0x2001, (self.count,), b"")


def FakeTransport(prop_list: bytes | int, count: int | None) -> fakes.FakeTransport:  # noqa: N802
    return fakes.FakeTransport(CardAnswers(prop_list, count))


@dataclass
class FakeSession:
    transport_: fakes.FakeTransport
    camera: FakeGphotoCamera = field(default_factory=lambda: gphoto_card())
    uses_native_layer: bool = True

    def transport(self) -> fakes.FakeTransport:
        return self.transport_


def encoded(tree: dict[int, Props]) -> bytes:
    def kind(code: int, value: PropValue) -> int:
        if isinstance(value, str):
            return DataType.STRING
        return DataType.UINT64 if code == P.OBJECT_SIZE else DataType.UINT32

    return ObjectPropList(
        tuple(
            ObjectPropElement(h, code, kind(code, v), v)
            for h, props in tree.items()
            for code, v in props.items()
        )
    ).encode()


def test_a_bulk_listing_that_agrees_with_the_camera_count_is_complete() -> None:
    tree = card()
    listing = list_camera(FakeSession(FakeTransport(encoded(tree), len(tree))))
    assert (listing.method, listing.problems) == ("bulk", ())


def test_a_bulk_listing_short_of_the_camera_count_names_what_is_missing() -> None:
    tree = card()
    listing = list_camera(FakeSession(FakeTransport(encoded(tree), len(tree) + 6)))
    assert listing.method == "bulk"
    assert listing.problems == (
        f"the camera counts {len(tree) + 6} files and folders, the bulk listing found "
        f"{len(tree)}: 6 could not be listed",
    )


def test_a_refused_bulk_listing_is_a_problem_even_when_the_fallback_finds_files() -> None:
    tree = card()
    tree[0x10][P.PARENT_OBJECT] = 0x11  # DCIM and 100MSDCF are each other's parent
    listing = list_camera(FakeSession(FakeTransport(encoded(tree), 13)))
    assert listing.method == "gphoto2"
    assert len(listing.objects) == 5
    (problem,) = listing.problems  # the fallback's 5 files and 8 folders match the count
    assert problem.startswith("the camera's bulk listing had to be refused (folder 0x")
    assert "is its own ancestor" in problem


def test_a_declined_bulk_listing_falls_back_without_distrust_and_counts_folders() -> None:
    """OperationNotSupported is the camera's honest answer; the fallback's 5 files and 8
    folders (not libgphoto2's /store_… level) are checked against the camera's count."""
    camera = CardAnswers(0x2005, 13)
    session = FakeSession(fakes.FakeTransport(camera))
    listing = list_camera(session)
    assert (listing.method, listing.problems) == ("gphoto2", ())
    camera.count = 20
    assert list_camera(session).problems == (
        "the camera counts 20 files and folders, the folder-by-folder listing found 13: 7 could "
        "not be listed",
    )


def test_a_camera_that_does_not_count_leaves_the_listing_unchecked() -> None:
    tree = card()
    listing = list_camera(FakeSession(FakeTransport(encoded(tree), None)))
    assert listing.problems == ()


def test_unusable_capture_dates_are_kept_as_the_camera_sent_them() -> None:
    tree = {0x11: folder(0, "100MSDCF")}
    for handle, text in enumerate(("00010101T000000", "99991231T235959", "garbage"), 0x40):
        tree[handle] = file(0x11, f"D{handle}.JPG", created=text)
    objects = objects_from_prop_list(tree)
    assert [(o.capture_time, o.camera_date) for o in objects] == [
        (datetime(1, 1, 1), "00010101T000000"),
        (datetime(9999, 12, 31, 23, 59, 59), "99991231T235959"),
        (None, "garbage"),
    ]
