"""A built-in demo card: generated photos, a RAW pair and a video in the Sony folder layout."""

from __future__ import annotations

import os
import random
import struct
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw

from .ftp_media import box

DEMO_START = datetime(2024, 5, 1, 10, 0, 0)


def _photo(rng: random.Random, number: int, size: tuple[int, int]) -> Image.Image:
    # Noise keeps the JPEG above 1 MiB so clients exercise GetPartialObject, as on real files.
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 520, 120), fill=(20, 20, 20))
    draw.text((60, 70), f"sony-pm-alt demo photo {number}", fill=(255, 255, 255))
    return image


def _jpeg(image: Image.Image, taken: datetime) -> bytes:
    exif = Image.Exif()
    exif[0x0132] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTime
    exif[0x010F] = "SONY"  # Make
    out = BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def _raw(image: Image.Image) -> bytes:
    # Sony ARW files are TIFF containers; a TIFF stands in for the sensor data.
    out = BytesIO()
    image.resize((image.width // 4, image.height // 4)).save(out, "TIFF")
    return out.getvalue()


def _mp4(rng: random.Random, payload: int) -> bytes:
    ftyp = box(b"ftyp", b"XAVC" + struct.pack(">I", 0x100) + b"XAVCmp42iso2")
    return ftyp + box(b"free", b"") + box(b"mdat", rng.randbytes(payload))


def build_demo_card(
    root: Path, *, photos: int = 4, photo_size: tuple[int, int] = (1600, 1200)
) -> Path:
    """Write the demo card under ``root`` (created if missing) and return ``root``.

    Deterministic: the same call writes the same bytes and modification times. Layout::

        DCIM/100MSDCF/DSC00001.JPG …    photos, DSC00002 with a .ARW RAW twin
        PRIVATE/M4ROOT/CLIP/C0001.MP4   a short XAVC S-style clip
    """
    rng = random.Random(20240501)
    dcim = root / "DCIM" / "100MSDCF"
    clips = root / "PRIVATE" / "M4ROOT" / "CLIP"
    dcim.mkdir(parents=True, exist_ok=True)
    clips.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, bytes, datetime]] = []
    for n in range(1, photos + 1):
        taken = DEMO_START + timedelta(minutes=7 * n)
        image = _photo(rng, n, photo_size)
        written.append((dcim / f"DSC{n:05d}.JPG", _jpeg(image, taken), taken))
        if n == 2:
            written.append((dcim / f"DSC{n:05d}.ARW", _raw(image), taken))
    clip_time = DEMO_START + timedelta(minutes=7 * photos + 3)
    written.append((clips / "C0001.MP4", _mp4(rng, 300_000), clip_time))
    for path, data, taken in written:
        path.write_bytes(data)
        stamp = taken.timestamp()
        os.utime(path, (stamp, stamp))
    return root
