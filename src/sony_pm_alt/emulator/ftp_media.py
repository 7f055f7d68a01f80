"""Files such as a Sony body writes, generated deterministically for the FTP camera emulator:
JPEG (EXIF DateTimeOriginal), ARW (a TIFF with an EXIF IFD and a raw strip), HEIF (``.HIF``:
ftyp, a meta box whose iinf/iloc point at an image item and an Exif item, mdat; the image is
random bytes, not HEVC) and MP4 (ftyp, mdat, then moov with the creation time in mvhd, as
XAVC S clips end). Each is whole only with its last byte, like the real formats, so a
cut-short upload can be recognised."""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MP4_EPOCH = datetime(1904, 1, 1)


@dataclass(frozen=True)
class MediaFile:
    """One file on the emulated card: ``folder`` as on the card (``DCIM/100MSDCF``)."""

    folder: str
    name: str
    captured: datetime  # the camera's local time
    kind: str  # jpeg, arw, heif, mp4
    size_hint: int
    seed: int

    def data(self) -> bytes:
        return b"".join(self.chunks())

    def chunks(self, chunk: int = 1024 * 1024) -> Iterator[bytes]:
        """The content in pieces; an MP4's mdat is generated on the fly (flat memory for a
        3.5 GiB clip)."""
        if self.kind == "mp4":
            yield from mp4_chunks(self.captured, self.seed, self.size_hint, chunk)
        else:
            yield _PHOTOS[self.kind](self.captured, self.seed, self.size_hint)


def jpeg_bytes(captured: datetime, seed: int, size_hint: int = 0) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    image = Image.frombytes("RGB", (32, 24), rng.randbytes(32 * 24 * 3))
    exif = Image.Exif()
    exif[0x010F] = "SONY"
    exif[0x0110] = "ILCE-7M4"
    exif[0x0132] = captured.strftime("%Y:%m:%d %H:%M:%S")
    exif.get_ifd(0x8769)[0x9003] = captured.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    # A COM segment makes the file as large as asked (real JPEGs are megabytes).
    comment = rng.randbytes(max(0, min(size_hint, 60000)))
    image.save(out, "JPEG", exif=exif, comment=comment)
    return out.getvalue()


def box(kind: bytes, body: bytes, full: int | None = None) -> bytes:
    """An ISO BMFF box; ``full`` is a full box's version (its flags are 0)."""
    head = b"" if full is None else struct.pack(">I", full << 24)
    return struct.pack(">I4s", 8 + len(head) + len(body), kind) + head + body


def heif_bytes(captured: datetime, seed: int, size_hint: int = 0) -> bytes:
    """A HEIF with its EXIF in an ``Exif`` item, as ISO/IEC 23008-12 stores it: the brand
    ``heix`` (HEVC 4:2:2 10-bit, what the bodies' HEIF 4:2:2 mode is by the standard)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "SONY"
    exif[0x0110] = "ILCE-7M4"
    exif.get_ifd(0x8769)[0x9003] = captured.strftime("%Y:%m:%d %H:%M:%S")
    tiff = exif.tobytes()  # b"Exif\0\0" + the TIFF structure
    exif_item = struct.pack(">I", 6) + tiff  # exif_tiff_header_offset: past "Exif\0\0"
    image = random.Random(seed).randbytes(max(64, size_hint))
    ftyp = box(b"ftyp", b"heix" + struct.pack(">I", 0) + b"mif1heix")
    infos = [(1, b"hvc1"), (2, b"Exif")]
    iinf = box(
        b"iinf",
        struct.pack(">H", len(infos))
        + b"".join(box(b"infe", struct.pack(">HH4s", i, 0, t) + b"\0", full=2) for i, t in infos),
        full=0,
    )

    def meta(image_at: int, exif_at: int) -> bytes:
        extents = [(1, image_at, len(image)), (2, exif_at, len(exif_item))]
        iloc = box(
            b"iloc",
            struct.pack(">BBH", 0x44, 0x00, len(extents))  # 4-byte offsets and lengths
            + b"".join(struct.pack(">HHHHII", i, 0, 0, 1, at, n) for i, at, n in extents),
            full=1,
        )
        hdlr = box(b"hdlr", struct.pack(">I4s12x", 0, b"pict") + b"\0", full=0)
        pitm = box(b"pitm", struct.pack(">H", 1), full=0)
        return box(b"meta", hdlr + pitm + iinf + iloc, full=0)

    data_at = len(ftyp) + len(meta(0, 0)) + 8  # the mdat's payload
    head = ftyp + meta(data_at, data_at + len(image))
    return head + box(b"mdat", image + exif_item)


def _ifd(entries: list[tuple[int, int, int, bytes]], start: int, next_ifd: int = 0) -> bytes:
    """A little-endian IFD at ``start``; values longer than 4 bytes follow it."""
    head = struct.pack("<H", len(entries))
    extra = b""
    body = b""
    extra_at = start + 2 + 12 * len(entries) + 4
    for tag, typ, count, value in sorted(entries):
        if len(value) <= 4:
            body += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            body += struct.pack("<HHII", tag, typ, count, extra_at + len(extra))
            extra += value + (b"\0" if len(value) % 2 else b"")
    return head + body + struct.pack("<I", next_ifd) + extra


def arw_bytes(captured: datetime, seed: int, size_hint: int = 0) -> bytes:
    stamp = captured.strftime("%Y:%m:%d %H:%M:%S").encode() + b"\0"
    raw = random.Random(seed).randbytes(max(4096, size_hint) // 64 * 64)
    exif_at = 8 + 512
    exif = _ifd([(0x9003, 2, len(stamp), stamp)], exif_at)
    strip_at = exif_at + len(exif) + 8
    ifd0 = _ifd(
        [
            (0x0100, 4, 1, struct.pack("<I", 64)),
            (0x0101, 4, 1, struct.pack("<I", len(raw) // 64)),
            (0x0102, 3, 1, struct.pack("<H", 8)),
            (0x0103, 3, 1, struct.pack("<H", 1)),
            (0x0106, 3, 1, struct.pack("<H", 1)),
            (0x010F, 2, 5, b"SONY\0"),
            (0x0110, 2, 9, b"ILCE-7M4\0"),
            (0x0111, 4, 1, struct.pack("<I", strip_at)),
            (0x0117, 4, 1, struct.pack("<I", len(raw))),
            (0x0132, 2, len(stamp), stamp),
            (0x8769, 4, 1, struct.pack("<I", exif_at)),
        ],
        8,
    )
    assert len(ifd0) <= 512
    head = b"II*\x00" + struct.pack("<I", 8) + ifd0.ljust(512, b"\0") + exif
    return head.ljust(strip_at, b"\0") + raw


def mp4_chunks(captured: datetime, seed: int, size: int, chunk: int) -> Iterator[bytes]:
    yield struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"XAVC", 0x10000, b"XAVC", b"mp42")
    payload = max(0, size)
    yield struct.pack(">I4sQ", 1, b"mdat", 16 + payload)
    rng = random.Random(seed)
    block = rng.randbytes(min(chunk, max(payload, 1)))
    for sent in range(0, payload, len(block)):
        yield block[: payload - sent]
    utc = captured.astimezone(UTC).replace(tzinfo=None)  # mvhd holds UTC
    seconds = int((utc - _MP4_EPOCH).total_seconds())
    mvhd = struct.pack(">B3xIIII", 0, seconds, seconds, 1000, 0) + b"\0" * 80
    moov_body = struct.pack(">I4s", 8 + len(mvhd), b"mvhd") + mvhd
    yield struct.pack(">I4s", 8 + len(moov_body), b"moov") + moov_body


def mp4_size(payload: int) -> int:
    return 24 + 16 + payload + 8 + 8 + 100


_PHOTOS = {"jpeg": jpeg_bytes, "arw": arw_bytes, "heif": heif_bytes}


def card(
    count: int,
    *,
    start: datetime | None = None,
    first_number: int = 1,
    seed: int = 0,
    kinds: tuple[str, ...] = ("jpeg", "arw", "mp4"),
    mp4_bytes: int = 200_000,
    photo_bytes: int = 20_000,
) -> list[MediaFile]:
    """``count`` files cycling through ``kinds``, a second apart from ``start``."""
    when = start or datetime(2026, 11, 28, 14, 30, 0)
    files = []
    for i in range(count):
        number = first_number + i
        kind = kinds[i % len(kinds)]
        captured = when + timedelta(seconds=i)
        if kind == "mp4":
            where, name, size = "PRIVATE/M4ROOT/CLIP", f"C{number:04d}.MP4", mp4_bytes
        else:
            ext = {"jpeg": "JPG", "arw": "ARW", "heif": "HIF"}[kind]
            where, name, size = "DCIM/100MSDCF", f"DSC{number:05d}.{ext}", photo_bytes
        files.append(MediaFile(where, name, captured, kind, size, seed + number))
    return files
