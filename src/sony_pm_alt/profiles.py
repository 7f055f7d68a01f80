"""Vendor profiles: the Sony operations sent at session start and end, as data.

A profile is a TOML file with ``name``, ``description`` and two arrays of tables, ``start``
(run after OpenSession and GetDeviceInfo, before any listing) and ``end`` (run before
CloseSession). Each step::

    [[start]]
    opcode = 0x9280                                   # required
    params = [4]                                      # up to five 32-bit values
    data = "02000000 02000000 00000000 00000000 0101" # data-out payload in hex (optional)
    data_in = false                                   # true: the camera answers with data
    on_failure = "abort"                              # or "skip": log it and go on
    note = "show Sending…"                            # for logs

The built-in ones are in ``vendor_profiles/`` (README, "Vendor profiles are data"). What a
profile does is read from its steps, not declared: see :attr:`Profile.power_off` and
:attr:`Profile.sending` (PR #1220 for the trailing 0x9281 newer bodies need to power off).
"""

from __future__ import annotations

import struct
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ProfileError as ProfileError  # defined with every other error

DEFAULT_PROFILE = "upstream"
_STEP_KEYS = frozenset({"opcode", "params", "data", "data_in", "on_failure", "note"})
_PROFILE_KEYS = frozenset({"name", "description", "start", "end"})
# A vendor command is a handful of bytes; this only stops a mistyped file from being sent.
MAX_STEP_DATA = 64 * 1024
SONY_SET_REQUEST = 0x9280
SONY_GET_REQUEST = 0x9281
SONY_CMD_SENDING = 2  # word 1 of the 0x9280 (selector 4) data: show "Sending…"
SONY_CMD_POWER_OFF = 5  # leave the mode and power off


@dataclass(frozen=True)
class Step:
    opcode: int
    params: tuple[int, ...] = ()
    data: bytes | None = None
    data_in: bool = False
    abort_on_failure: bool = True
    note: str = ""

    def describe(self) -> str:
        params = ", ".join(f"0x{p:X}" for p in self.params)
        data = f" data {self.data.hex()}" if self.data is not None else ""
        return f"0x{self.opcode:04X}({params}){data}" + (f" — {self.note}" if self.note else "")

    @property
    def sony_command(self) -> int | None:
        """Word 1 of a Sony 0x9280 data phase (2 = "Sending…", 5 = power off), else None."""
        if self.opcode != SONY_SET_REQUEST or self.data is None or len(self.data) < 8:
            return None
        return int(struct.unpack_from("<I", self.data, 4)[0])


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    start: tuple[Step, ...]
    end: tuple[Step, ...]
    # What load_profile was given (a built-in name or a file path), to show it again.
    origin: str = field(default="", compare=False)

    @property
    def power_off(self) -> int | None:
        """Index in :attr:`end` of the power-off command; it and every later end step make up
        the power-off. None: this profile never powers the camera off."""
        return _first_command(self.end, SONY_CMD_POWER_OFF)

    @property
    def power_off_paired(self) -> bool:
        """A 0x9281 follows the power-off command: without it a newer body stays on."""
        first = self.power_off
        return first is not None and any(s.opcode == SONY_GET_REQUEST for s in self.end[first:])

    @property
    def sending(self) -> int | None:
        """Index in :attr:`start` of the "Sending…" command (it and the later start steps show
        it), or None."""
        return _first_command(self.start, SONY_CMD_SENDING)


def _first_command(steps: tuple[Step, ...], command: int) -> int | None:
    return next((i for i, step in enumerate(steps) if step.sony_command == command), None)


def _step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: a step must be a table")
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    opcode = raw.get("opcode")
    if not isinstance(opcode, int) or isinstance(opcode, bool) or not 0 <= opcode <= 0xFFFF:
        raise ProfileError(f"{where}: 'opcode' must be a 16-bit number such as 0x9280")
    params = raw.get("params", [])
    if (
        not isinstance(params, list)
        or len(params) > 5
        or not all(isinstance(p, int) and not isinstance(p, bool) for p in params)
        or not all(0 <= p <= 0xFFFFFFFF for p in params)
    ):
        raise ProfileError(f"{where}: 'params' must be a list of at most five 32-bit numbers")
    data: bytes | None = None
    if "data" in raw:
        if not isinstance(raw["data"], str):
            raise ProfileError(f"{where}: 'data' must be a hex string")
        try:
            data = bytes.fromhex(raw["data"])
        except ValueError:
            raise ProfileError(f"{where}: 'data' is not hex: {raw['data']!r}") from None
        if len(data) > MAX_STEP_DATA:
            raise ProfileError(f"{where}: 'data' is longer than {MAX_STEP_DATA} bytes")
    data_in = raw.get("data_in", False)
    if not isinstance(data_in, bool):
        raise ProfileError(f"{where}: 'data_in' must be true or false")
    if data_in and data is not None:
        raise ProfileError(f"{where}: a step cannot both send 'data' and expect 'data_in'")
    on_failure = raw.get("on_failure", "abort")
    if on_failure not in ("abort", "skip"):
        raise ProfileError(f'{where}: \'on_failure\' must be "abort" or "skip"')
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise ProfileError(f"{where}: 'note' must be a string")
    return Step(opcode, tuple(params), data, data_in, on_failure == "abort", note)


def parse_profile(text: str, source: str) -> Profile:
    """Build a :class:`Profile` from TOML text; ``source`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: {exc}") from None
    unknown = set(raw) - _PROFILE_KEYS
    if unknown:
        raise ProfileError(f"{source}: unknown key {sorted(unknown)[0]!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ProfileError(f"{source}: 'name' must be a non-empty string")
    blocks: dict[str, tuple[Step, ...]] = {}
    for block in ("start", "end"):
        steps = raw.get(block, [])
        if not isinstance(steps, list):
            raise ProfileError(f"{source}: '{block}' must be an array of tables ([[{block}]])")
        blocks[block] = tuple(
            _step(s, f"{source}: {block} step {i}") for i, s in enumerate(steps, 1)
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ProfileError(f"{source}: 'description' must be a string")
    return Profile(name, description, blocks["start"], blocks["end"])


# Inside the package; never zipped (the wheel carries the native layer's shared objects).
BUILTIN_DIR = Path(__file__).resolve().parent / "vendor_profiles"


def builtin_profiles() -> list[str]:
    return sorted(p.name.removesuffix(".toml") for p in BUILTIN_DIR.glob("*.toml"))


@cache  # a Profile is immutable; settings make many defaults
def default_profile() -> Profile:
    return load_profile(DEFAULT_PROFILE)


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile by name, or a user profile from a TOML file path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"cannot read profile file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ProfileError(f"profile file {path} is not UTF-8 text") from None
        return replace(parse_profile(text, str(path)), origin=str(path))
    if text not in builtin_profiles():
        raise ProfileError(
            f"unknown profile {text!r}; built-in: {', '.join(builtin_profiles())}, "
            "or give the path of a .toml file"
        )
    resource = BUILTIN_DIR / f"{text}.toml"
    profile = parse_profile(resource.read_text(encoding="utf-8"), f"built-in profile {text!r}")
    return replace(profile, origin=text)
