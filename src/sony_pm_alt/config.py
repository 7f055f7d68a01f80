"""The configuration of ``sony-pm-alt watch``: a TOML file, environment variables and flags.

The file lives in the XDG config directory (:func:`default_config_path`, usually
``~/.config/sony-pm-alt/config.toml``); ``SONY_PM_ALT_CONFIG`` names another one. It has three
kinds of section::

    [defaults]          guid, name, dest, template, profile, kinds, extensions, since, until, hook,
                        partial_max_age_days
    [discovery]         interface, cooldown, search_interval
    [[camera]]          match = serial number or uuid:… UDN, then any key of [defaults],
                        and ftp_user with ftp_password or ftp_password_hash
    [ftp]               enabled, listen, port, passive_ports, masquerade_address, tls,
                        tls_required, certfile, keyfile (the FTP receiver, docs/ftp.md)

Where a value comes from, weakest first: the built-in defaults, ``[defaults]`` in the file,
the ``SONY_PM_ALT_*`` environment variables (:data:`ENV_VARS`, for containers), command-line
flags (:func:`apply_overrides`). The environment and the flags replace ``[defaults]`` values;
a ``[[camera]]`` section stays the most specific: its own keys still win for its body.

Everything is validated when the file is loaded (GUIDs, templates, profiles, filters, paths,
numbers), so that ``watch`` fails at start with one line naming the file, the line and the
key, never later when a camera turns up. An empty string means "not set" for ``guid``,
``name`` (the host name is sent), ``dest`` and ``hook``, and "no constraint" for the filters;
in a ``[[camera]]`` section it clears the ``[defaults]`` value for that body. An empty
environment variable counts as not set (``VAR=${VAR}`` in a compose file gives one).
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import cast

import platformdirs

from .engine.download import PARTIAL_MAX_AGE_DAYS
from .engine.filters import Filters
from .engine.model import Kind
from .engine.naming import DEFAULT_TEMPLATE, Template, TemplateError
from .errors import SonyPmAltError
from .ftp import settings as ftp_settings
from .identity import Identity, default_friendly_name, format_guid, parse_guid
from .profiles import DEFAULT_PROFILE, ProfileError, load_profile

APP_NAME = "sony-pm-alt"
CONFIG_ENV = "SONY_PM_ALT_CONFIG"

# Environment variable → the key it sets (over [defaults], or in [discovery]).
ENV_VARS: dict[str, str] = {
    "SONY_PM_ALT_GUID": "guid",
    "SONY_PM_ALT_NAME": "name",
    "SONY_PM_ALT_DEST": "dest",
    "SONY_PM_ALT_TEMPLATE": "template",
    "SONY_PM_ALT_PROFILE": "profile",
    "SONY_PM_ALT_HOOK": "hook",
    "SONY_PM_ALT_INTERFACE": "interface",
    "SONY_PM_ALT_COOLDOWN": "cooldown",
}

CAMERA_KEYS: tuple[str, ...] = (
    "guid", "name", "dest", "template", "profile",
    "kinds", "extensions", "since", "until", "hook", "wifi_ssid", "wifi_password",
    "partial_max_age_days",
)  # fmt: skip
DISCOVERY_KEYS: tuple[str, ...] = ("interface", "cooldown", "search_interval")
SECTIONS = "[defaults], [discovery], [[camera]], [ftp]"

DEFAULT_COOLDOWN = 300.0  # a body keeps announcing for a while after it powers off
DEFAULT_SEARCH_INTERVAL = 60.0
# Both intervals are waits between events of one evening's use; more than a day is a typo
# (seconds taken for minutes), and a bound keeps time arithmetic far from overflow.
MAX_INTERVAL = 86_400.0
MAX_DAYS = 36_500.0  # a century: more is a typo, and keeps date arithmetic in range

EXAMPLE_CONFIG = """\
# sony-pm-alt configuration, read by `sony-pm-alt watch`.
# `sony-pm-alt config show` prints what applies after environment variables and flags.
#
# [defaults] applies to every camera; a [[camera]] section overrides it for one body.
# Environment variables (SONY_PM_ALT_GUID, _NAME, _DEST, _TEMPLATE, _PROFILE, _HOOK,
# _INTERFACE, _COOLDOWN) and command-line flags replace [defaults] values.

[defaults]
# The GUID the camera was paired with (the one PlayMemories Home registered). The camera
# refuses any other; `sony-pm-alt guid --help` shows how to find it.
# guid = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"

# Shown on the camera while it sends; "" sends the host name.
name = ""

# Where files go (~ and $VARS are expanded), and their path inside it. Template tokens:
# {year} {month} {day} {hour} {minute} {second} {filename} {filename_lower} {stem}
# {stem_lower} {ext} {ext_lower} {model} {camera} {serial} {folder} {seq} (e.g. {seq:04d}).
dest = "~/Pictures/Sony"
template = "{year}/{year}-{month}-{day}/{filename}"

# Sony commands sent at the start and the end: upstream, playmemories, none, or a .toml file.
profile = "upstream"

# Which files to take; "" takes all.
kinds = ""              # photos, raw, videos, other, e.g. "photos,raw"
extensions = ""         # e.g. "jpg,arw"
since = ""              # capture date YYYY-MM-DD, inclusive
until = ""

# A command run at the start, after each file and at the end ("" = none).
hook = ""

# Hidden partial downloads (.*.sony-pm-alt-partial) of files no longer on the camera are
# removed once untouched for this many days (0 = never); each removal is logged.
partial_max_age_days = 30

[discovery]
interface = ""          # IPv4 address of the LAN interface to listen on; "" = the default
cooldown = 300          # seconds before the same camera may start another session
search_interval = 60    # seconds between SSDP searches

# One section per body that needs other settings, matched by its serial number or its
# uuid:… UDN (`sony-pm-alt watch` logs both when a camera announces itself):
#
# [[camera]]
# match = "00000000000000003282651203392641"
# dest = "~/Pictures/A6000"

# Newer bodies (FTP Transfer, docs/ftp.md): the receiver, and an account per camera, in the
# camera's section: ftp_user = "a7iv" and ftp_password_hash = "…" (made by sony-pm-alt
# ftp-password-hash) or ftp_password = "…".
#
# [ftp]
# enabled = true
# port = 2121
# passive_ports = "60000-60099"
# tls = true              # a self-signed certificate is made on first start
"""


class ConfigError(SonyPmAltError):
    """A configuration that cannot be used. The message is one line naming the file, the line
    (when it can be found) and the key as ``section.key``, or the environment variable or the
    flag. ``path``, ``line`` and ``key`` hold the same for callers."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(" ".join(message.splitlines()))
        self.path = path
        self.line = line
        self.key = key


@dataclass(frozen=True)
class CameraSettings:
    """The effective settings for one camera, all validated.

    ``guid`` ``None``: not configured (``watch`` refuses the camera and says how to set it).
    ``friendly_name`` ``None``: send the host name. ``dest`` ``None``: not configured.
    ``profile`` is a built-in profile name or the absolute path of a profile file.
    ``hook`` ``None``: no hook.
    """

    guid: bytes | None = None
    friendly_name: str | None = None
    dest: Path | None = None
    template: str = DEFAULT_TEMPLATE
    filters: Filters = field(default_factory=Filters)
    profile: str = DEFAULT_PROFILE
    hook: str | None = None
    wifi_ssid: str | None = None  # the camera's own access point ("Send to Smartphone")
    wifi_password: str | None = None
    partial_max_age_days: float = PARTIAL_MAX_AGE_DAYS


@dataclass(frozen=True)
class DiscoverySettings:
    """``interface`` ``None``: the default interface. Times in seconds."""

    interface: str | None = None
    cooldown: float = DEFAULT_COOLDOWN
    search_interval: float = DEFAULT_SEARCH_INTERVAL


@dataclass(frozen=True)
class _Where:
    """Where a value came from: ``label`` starts an error message about it
    (``config.toml line 7: defaults.since``, ``environment variable …``, ``--since``)."""

    label: str
    path: Path | None = None
    line: int | None = None
    key: str | None = None

    def error(self, problem: str) -> ConfigError:
        return ConfigError(
            f"{self.label}: {problem}", path=self.path, line=self.line, key=self.key or self.label
        )


@dataclass(frozen=True)
class _Layer:
    """The validated keys one section set, with where each came from (for error messages).

    Values: guid ``bytes | None``, name ``str | None``, dest ``Path | None``, hook
    ``str | None``, template and profile ``str``, the four filter keys their text."""

    values: Mapping[str, object]
    where: Mapping[str, _Where]

    def over(self, other: _Layer) -> _Layer:
        """This layer with ``other``'s keys on top."""
        return _Layer({**self.values, **other.values}, {**self.where, **other.where})


_EMPTY = _Layer({}, {})


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``path`` is the file read (``None`` when none was);
    ``cameras`` pairs each ``[[camera]]`` match with its effective settings (already merged
    over ``defaults``); ``env_applied`` and ``flags_applied`` name what replaced file values."""

    path: Path | None = None
    defaults: CameraSettings = field(default_factory=CameraSettings)
    cameras: tuple[tuple[str, CameraSettings], ...] = ()
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    env_applied: tuple[str, ...] = ()
    flags_applied: tuple[str, ...] = ()
    ftp: ftp_settings.FtpSection = field(default_factory=ftp_settings.FtpSection)
    ftp_logins: tuple[tuple[str, ftp_settings.FtpLogin], ...] = ()  # ([[camera]] match, login)
    # What each section set, so that apply_overrides can re-merge the cameras.
    _defaults_layer: _Layer = field(default=_EMPTY, repr=False, compare=False)
    _camera_layers: tuple[_Layer, ...] | None = field(default=None, repr=False, compare=False)

    def for_camera(self, serial: str, udn: str) -> CameraSettings:
        """The settings of the first ``[[camera]]`` whose ``match`` is ``serial`` (exactly) or
        ``udn`` (case-insensitive, with or without ``uuid:``); ``defaults`` when none is."""
        for match, settings in self.cameras:
            if camera_matches(match, serial, udn):
                return settings
        return self.defaults


def camera_matches(match: str, serial: str, udn: str) -> bool:
    """Whether a ``[[camera]]`` ``match`` value names the camera with this serial and UDN."""
    wanted = match.strip()
    if not wanted:
        return False
    if not wanted.lower().startswith("uuid:") and wanted == serial.strip():
        return True
    return bool(udn.strip()) and _udn_key(wanted) == _udn_key(udn)


def _udn_key(text: str) -> str:
    return text.strip().lower().removeprefix("uuid:")


def default_config_path() -> Path:
    """``config.toml`` in the XDG config directory (``$XDG_CONFIG_HOME/sony-pm-alt``)."""
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


# ---------------------------------------------------------------------------------------------
# Finding the line of a key. tomllib reports no positions for values, so the text is scanned:
# section headers, ``key =`` lines, multi-line strings skipped. Anything unclear gives None.

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\[\]#]+?)\s*(\]\]?)\s*(?:#.*)?")
_KEY = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*([.=])""")


def _lines(text: str) -> list[str]:
    """Lines as TOML (and tomllib's positions) count them: only ``\n`` ends one, not the
    other separators ``str.splitlines`` knows, which a TOML string may hold."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _header_name(text: str) -> str:
    parts = [p.strip().strip("\"'") for p in text.split(".")]
    return ".".join(parts)


def _scan(text: str) -> list[tuple[int, str | None, int, str | None]]:
    """``(line, section, occurrence, key)`` for each header (key ``None``) and each key line.
    ``section`` is ``None`` before the first header; ``occurrence`` counts repeated ``[[x]]``
    headers from 0."""
    found: list[tuple[int, str | None, int, str | None]] = []
    section: str | None = None
    occurrence = 0
    seen: dict[str, int] = {}
    closing: str | None = None  # the delimiter of the multi-line string we are in
    for number, line in enumerate(_lines(text), 1):
        if closing is not None:
            if closing in line:
                closing = None
            continue
        header = _HEADER.fullmatch(line)
        if header and len(header.group(1)) == len(header.group(3)):
            section = _header_name(header.group(2))
            occurrence = seen.get(section, 0)
            seen[section] = occurrence + 1
            found.append((number, section, occurrence, None))
            continue
        key = _KEY.match(line)
        if key:
            found.append((number, section, occurrence, key.group(1).strip("\"'")))
            value = line[key.end() :]
            for delimiter in ('"""', "'''"):
                start = value.find(delimiter)
                if start != -1 and value.find(delimiter, start + 3) == -1:
                    closing = delimiter
                    break
    return found


def find_line(text: str, section: str | None, key: str | None, occurrence: int = 0) -> int | None:
    """The line (from 1) where ``key`` is set in ``section`` (``None``: before any header),
    in its ``occurrence``-th ``[[section]]`` for arrays of tables; with ``key`` ``None``, the
    line of that section's header. A key set with a dotted key (``defaults.dest = …`` at the
    top) or as a sub-table header (``[defaults.dest]``) is found too. ``None`` when the key
    is not found or found more than once."""
    entries = _scan(text)
    if key is None:
        lines = [n for n, s, o, k in entries if k is None and s == section and o == occurrence]
    else:
        lines = [n for n, s, o, k in entries if (s, o, k) == (section, occurrence, key)]
        if not lines and section is not None:
            dotted = f"{section}.{key}"
            lines = [n for n, s, _o, k in entries if k is None and s == dotted]
            if not lines and occurrence == 0:
                lines = [n for n, s, _o, k in entries if s is None and k == section]
                lines = [n for n in lines if _dotted_key_at(text, n, key)]
    return lines[0] if len(lines) == 1 else None


def _dotted_key_at(text: str, line: int, key: str) -> bool:
    parts = _lines(text)[line - 1].split("=", 1)[0].split(".")
    return len(parts) > 1 and parts[1].strip().strip("\"'") == key


def _first_header(text: str, name: str) -> int | None:
    """The first header line of section ``name`` or one of its sub-tables."""
    for number, section, _occurrence, key in _scan(text):
        if key is None and section is not None and (section + ".").startswith(name + "."):
            return number
    return None


# ---------------------------------------------------------------------------------------------
# Validating single values. Each raises _Invalid with the problem; the caller adds where.


class _Invalid(ValueError):
    pass


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime):
        return f"a date and time ({value.isoformat()})"
    if isinstance(value, date):
        return f"a date ({value.isoformat()})"
    return type(value).__name__


def _text(value: object, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be {what}, not {_kind(value)}")
    return value


@dataclass(frozen=True)
class _Context:
    """How paths are read: relative to ``base`` (the config file's folder) or the current
    directory, with ``$VARS`` from ``environ``."""

    base: Path | None
    environ: Mapping[str, str]


_Validator = Callable[[object, _Context], object]

_VARIABLE = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def _expand(text: str, context: _Context) -> Path:
    """``~`` and ``$VAR``/``${VAR}`` expanded, made absolute. An unset variable is an error:
    a literal ``$NAS`` folder is never what was meant."""
    if text == "~" or text.startswith("~/"):
        home = context.environ.get("HOME") or str(Path.home())
        text = home + text[1:]
    elif text.startswith("~"):
        text = os.path.expanduser(text)

    def variable(match: re.Match[str]) -> str:
        name = match.group(1) if match.group(1) is not None else match.group(2)
        value = context.environ.get(name)
        if value is None:
            raise _Invalid(f"{match.group(0)} in {text!r} is not set in the environment")
        return value

    path = Path(_VARIABLE.sub(variable, text))
    if not path.is_absolute():
        path = (context.base or Path.cwd()) / path
    return Path(os.path.normpath(path))


def _guid(value: object, context: _Context) -> bytes | None:
    if isinstance(value, bytes) and len(value) == 16:
        return value
    text = _text(value, "a string such as ff:ff:52:54:…")
    if not text.strip():
        return None
    try:
        return parse_guid(text)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def _name(value: object, context: _Context) -> str | None:
    text = _text(value)
    if not text:
        return None
    try:
        Identity(bytes(16), text)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    return text


def _wifi_ssid(value: object, context: _Context) -> str | None:
    text = _text(value)
    if len(text.encode()) > 32 or any(ord(c) < 0x20 for c in text):
        raise _Invalid("must be a Wi-Fi network name: at most 32 bytes, no control characters")
    return text or None


def _wifi_password(value: object, context: _Context) -> str | None:
    text = _text(value)
    if text and not (8 <= len(text) <= 63 and text.isascii() and text.isprintable()):
        raise _Invalid("must be a WPA passphrase: 8 to 63 printable ASCII characters")
    return text or None


def _dest(value: object, context: _Context) -> Path | None:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    text = _text(value, "a folder path")
    return _expand(text, context) if text.strip() else None


def _template(value: object, context: _Context) -> str:
    text = _text(value, "a template such as " + json.dumps(DEFAULT_TEMPLATE))
    try:
        Template(text)
    except TemplateError as exc:
        raise _Invalid(str(exc)) from None
    return text


def _profile(value: object, context: _Context) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    text = _text(value, "a profile name or a .toml path")
    if text.endswith(".toml") or "/" in text:
        text = str(_expand(text, context))
    try:
        load_profile(text)
    except ProfileError as exc:
        raise _Invalid(str(exc)) from None
    return text


def _hook(value: object, context: _Context) -> str | None:
    text = _text(value, "a command")
    return text if text.strip() else None


def _filter_text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(_text(item, "a string in the array") for item in value)
    return _text(value, 'a string such as "photos,raw" or an array of them')


def _kinds(value: object, context: _Context) -> str:
    text = _filter_text(value)
    try:
        Filters.parse(None, text, None, None)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    return text


def _extensions(value: object, context: _Context) -> str:
    text = _filter_text(value)
    try:
        Filters.parse(text, None, None, None)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    return text


def _date(label: str) -> _Validator:
    def check(value: object, context: _Context) -> str:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        text = _text(value, "a date YYYY-MM-DD")
        try:
            if label == "since":
                Filters.parse(None, None, text, None)
            else:
                Filters.parse(None, None, None, text)
        except ValueError as exc:
            raise _Invalid(str(exc)) from None
        return text

    return check


def _interface(value: object, context: _Context) -> str | None:
    text = _text(value, "an IPv4 address")
    if not text.strip():
        return None
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise _Invalid(
            f"{text!r} is not an IPv4 address; give the address of the LAN interface, "
            'e.g. "192.168.1.10", or "" for the default'
        ) from None


def _seconds(value: object, context: _Context) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"must be a number of seconds, not {_kind(value)}")
    seconds = float(value)
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_INTERVAL):
        raise _Invalid(f"{value} must be a positive number of seconds, at most {MAX_INTERVAL:g}")
    return seconds


def _days(value: object, context: _Context) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"must be a number of days, not {_kind(value)}")
    days = float(value)
    if not (math.isfinite(days) and 0 <= days <= MAX_DAYS):
        raise _Invalid(f"{value} must be 0 (never) or a number of days up to {MAX_DAYS:g}")
    return days


_VALIDATORS: dict[str, _Validator] = {
    "guid": _guid,
    "name": _name,
    "dest": _dest,
    "template": _template,
    "profile": _profile,
    "kinds": _kinds,
    "extensions": _extensions,
    "since": _date("since"),
    "until": _date("until"),
    "hook": _hook,
    "wifi_ssid": _wifi_ssid,
    "wifi_password": _wifi_password,
    "interface": _interface,
    "cooldown": _seconds,
    "search_interval": _seconds,
    "partial_max_age_days": _days,
}


# ---------------------------------------------------------------------------------------------
# Building settings from layers.


def _settings(layer: _Layer, blame: _Where | None = None) -> CameraSettings:
    """Effective settings from the merged ``layer``. The filters are checked together here:
    ``since`` after ``until`` can only show once layers are merged; the error names ``blame``,
    else the date key of the most specific layer."""
    values = layer.values

    def text(key: str) -> str | None:
        return cast("str | None", values.get(key))

    try:
        filters = Filters.parse(text("extensions"), text("kinds"), text("since"), text("until"))
    except ValueError as exc:
        where = blame or layer.where.get("until") or layer.where.get("since") or _Where("filters")
        raise where.error(str(exc)) from None
    return CameraSettings(
        guid=cast("bytes | None", values.get("guid")),
        friendly_name=text("name"),
        dest=cast("Path | None", values.get("dest")),
        template=text("template") or DEFAULT_TEMPLATE,
        filters=filters,
        profile=text("profile") or DEFAULT_PROFILE,
        hook=text("hook"),
        wifi_ssid=text("wifi_ssid"),
        wifi_password=text("wifi_password"),
        partial_max_age_days=cast(float, values.get("partial_max_age_days", PARTIAL_MAX_AGE_DAYS)),
    )


def _camera_settings(defaults: _Layer, camera: _Layer) -> CameraSettings:
    # A date conflict that involves the camera's own since/until is the camera's to fix.
    blame = camera.where.get("until") or camera.where.get("since")
    return _settings(defaults.over(camera), blame)


def _build(
    path: Path | None,
    defaults: _Layer,
    cameras: tuple[tuple[str, _Layer], ...],
    discovery: DiscoverySettings,
    env_applied: tuple[str, ...],
    flags_applied: tuple[str, ...],
) -> Config:
    return Config(
        path=path,
        defaults=_settings(defaults),
        cameras=tuple((match, _camera_settings(defaults, layer)) for match, layer in cameras),
        discovery=discovery,
        env_applied=env_applied,
        flags_applied=flags_applied,
        _defaults_layer=defaults,
        _camera_layers=tuple(layer for _match, layer in cameras),
    )


# ---------------------------------------------------------------------------------------------
# Reading the file.


class _File:
    """The file being read: its path and text, for locating keys in error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def where(self, section: str | None, key: str | None, occurrence: int = 0) -> _Where:
        """``config.toml line 7: defaults.guid``; ``camera[2].dest`` for the second
        ``[[camera]]`` section; no line number when it cannot be found for sure."""
        line = find_line(self.text, section, key, occurrence)
        return self.at(line, _key_name(section, key, occurrence))

    def at(self, line: int | None, name: str) -> _Where:
        prefix = f"{self.path} line {line}: " if line is not None else f"{self.path}: "
        return _Where(prefix + name, self.path, line, name)

    def error(
        self, section: str | None, key: str | None, problem: str, occurrence: int = 0
    ) -> ConfigError:
        return self.where(section, key, occurrence).error(problem)


def _key_name(section: str | None, key: str | None, occurrence: int = 0) -> str:
    if section == "camera":
        section = f"camera[{occurrence + 1}]"
    if section is None:
        return key or ""
    return f"{section}.{key}" if key else section


def _read(path: Path, explicit_by: str | None) -> str | None:
    """The file's text; ``None`` when the default file does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit_by is None:
            return None
        raise ConfigError(
            f"{path}: no such file (named by {explicit_by}); "
            f"create one with `sony-pm-alt config init --path {path}`",
            path=path,
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})", path=path) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}", path=path) from None


_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def _parse(path: Path, text: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        position = _TOML_POSITION.search(str(exc))
        line = int(position.group(1)) if position else None
        prefix = f"{path} line {line}: " if line is not None else f"{path}: "
        raise ConfigError(f"{prefix}not valid TOML: {exc}", path=path, line=line) from None


def _section_layer(
    file: _File, raw: dict[str, object], section: str, context: _Context, occurrence: int = 0
) -> _Layer:
    values: dict[str, object] = {}
    where: dict[str, _Where] = {}
    for key, value in raw.items():
        if section == "camera" and key == "match":
            continue
        if key not in CAMERA_KEYS:
            known = ", ".join(CAMERA_KEYS) + (", match" if section == "camera" else "")
            raise file.error(section, key, f"unknown key; known keys: {known}", occurrence)
        try:
            values[key] = _VALIDATORS[key](value, context)
        except _Invalid as exc:
            raise file.error(section, key, str(exc), occurrence) from None
        where[key] = file.where(section, key, occurrence)
    return _Layer(values, where)


def _discovery(file: _File, raw: Mapping[str, object], context: _Context) -> DiscoverySettings:
    settings = DiscoverySettings()
    for key, value in raw.items():
        if key not in DISCOVERY_KEYS:
            raise file.error(
                "discovery", key, f"unknown key; known keys: {', '.join(DISCOVERY_KEYS)}"
            )
        try:
            settings = _set_discovery(settings, key, _VALIDATORS[key](value, context))
        except _Invalid as exc:
            raise file.error("discovery", key, str(exc)) from None
    return settings


def _set_discovery(settings: DiscoverySettings, key: str, value: object) -> DiscoverySettings:
    if key == "interface":
        return replace(settings, interface=cast("str | None", value))
    if key == "cooldown":
        return replace(settings, cooldown=cast(float, value))
    return replace(settings, search_interval=cast(float, value))


def _table(file: _File, raw: dict[str, object], name: str) -> dict[str, object]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        problem = f"must be a table ([{name}]), not {_kind(value)}"
        raise file.at(_first_line_of(file, name), name).error(problem)
    return value


def _first_line_of(file: _File, name: str) -> int | None:
    return find_line(file.text, None, name) or _first_header(file.text, name)


def _cameras(
    file: _File,
    raw: dict[str, object],
    context: _Context,
    ftp_logins: list[tuple[str, ftp_settings.FtpLogin]] | None = None,
) -> tuple[tuple[str, _Layer], ...]:
    value = raw.get("camera", [])
    if not isinstance(value, list):
        raise file.at(_first_line_of(file, "camera"), "camera").error(
            f"must be an array of tables, one [[camera]] per body, not {_kind(value)} "
            "(write [[camera]], not [camera])"
        )
    cameras: list[tuple[str, _Layer]] = []
    first: dict[str, int] = {}
    for index, section in enumerate(value):
        if not isinstance(section, dict):
            raise file.error("camera", None, f"must be a table, not {_kind(section)}", index)
        if "match" not in section:
            raise file.error(
                "camera",
                None,
                "has no match; give the body's serial number or its uuid:… UDN, "
                'e.g. match = "00000000000000003282651203392641"',
                index,
            )
        match = section["match"]
        if not isinstance(match, str) or not match.strip():
            problem = (
                f"must be a serial number or a uuid:… UDN, not {_kind(match)}"
                if not isinstance(match, str)
                else "is empty; give the body's serial number or its uuid:… UDN"
            )
            raise file.error("camera", "match", problem, index)
        key = _udn_key(match)
        if key in first:
            raise file.error(
                "camera",
                "match",
                f"{match!r} is already matched by camera[{first[key] + 1}], "
                "so this section would never apply",
                index,
            )
        first[key] = index
        section = dict(section)

        def ftp_problem(key: str | None, text: str, index: int = index) -> Exception:
            return file.error("camera", key, text, index)

        login = ftp_settings.pop_login(section, ftp_problem)
        if login is not None and ftp_logins is not None:
            ftp_logins.append((match.strip(), login))
        cameras.append((match.strip(), _section_layer(file, section, "camera", context, index)))
    return tuple(cameras)


def _load_file(
    path: Path, text: str, environ: Mapping[str, str]
) -> tuple[_Layer, tuple[tuple[str, _Layer], ...], DiscoverySettings]:
    file = _File(path, text)
    raw = _parse(path, text)
    for name, value in raw.items():
        if name in ("defaults", "discovery", "camera", "ftp"):
            continue
        if isinstance(value, dict):
            line = _first_header(text, name) or find_line(text, None, name)
            problem = f"unknown section [{name}]; known sections: {SECTIONS}"
        else:
            line = find_line(text, None, name)
            problem = (
                f"unknown key {name!r} outside any section; settings go under [defaults] or "
                f"[discovery] (known sections: {SECTIONS})"
            )
        raise file.at(line, name).error(problem)
    context = _Context(path.absolute().parent, environ)
    defaults = _section_layer(file, _table(file, raw, "defaults"), "defaults", context)
    discovery = _discovery(file, _table(file, raw, "discovery"), context)
    cameras = _cameras(file, raw, context)
    return defaults, cameras, discovery


def _load_ftp(
    path: Path, text: str, environ: Mapping[str, str]
) -> tuple[ftp_settings.FtpSection, tuple[tuple[str, ftp_settings.FtpLogin], ...]]:
    """The [ftp] section and the cameras' FTP logins (read after _load_file checked the rest)."""
    file = _File(path, text)
    raw = _parse(path, text)
    context = _Context(path.absolute().parent, environ)

    def where_path(value: object) -> Path | None:
        return _dest(value, context)

    section = ftp_settings.parse_section(
        _table(file, raw, "ftp"), lambda k, problem: file.error("ftp", k, problem), where_path
    )
    logins: list[tuple[str, ftp_settings.FtpLogin]] = []
    _cameras(file, raw, context, logins)
    return section, tuple(logins)


def load_config(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> Config:
    """Read the configuration: ``path``, else the file ``SONY_PM_ALT_CONFIG`` names, else
    :func:`default_config_path`, then the ``SONY_PM_ALT_*`` variables of ``environ`` over
    ``[defaults]`` and ``[discovery]``.

    A missing file at the default path gives the built-in defaults; a missing file that was
    named (argument or variable) is an error. Raises :class:`ConfigError` for anything that
    cannot be used, with a one-line message.
    """
    explicit_by: str | None = None
    if path is not None:
        explicit_by = "the command line"
    elif environ.get(CONFIG_ENV, "").strip():
        explicit_by = CONFIG_ENV
        try:
            path = _expand(environ[CONFIG_ENV].strip(), _Context(None, environ))
        except _Invalid as exc:
            raise ConfigError(f"environment variable {CONFIG_ENV}: {exc}", key=CONFIG_ENV) from None
    else:
        path = default_config_path()
    text = _read(path, explicit_by)
    defaults, discovery = _EMPTY, DiscoverySettings()
    cameras: tuple[tuple[str, _Layer], ...] = ()
    ftp: tuple[ftp_settings.FtpSection, tuple[tuple[str, ftp_settings.FtpLogin], ...]] = (
        ftp_settings.FtpSection(),
        (),
    )
    if text is not None:
        defaults, cameras, discovery = _load_file(path, text, environ)
        ftp = _load_ftp(path, text, environ)

    context = _Context(None, environ)
    env_values: dict[str, object] = {}
    env_where: dict[str, _Where] = {}
    applied: list[str] = []
    for variable, key in ENV_VARS.items():
        raw = environ.get(variable, "")
        if not raw.strip():
            continue
        try:
            value: object = raw
            if key == "cooldown":
                try:
                    value = float(raw)
                except ValueError:
                    raise _Invalid(f"{raw!r} is not a number of seconds") from None
            checked = _VALIDATORS[key](value, context)
        except _Invalid as exc:
            raise ConfigError(f"environment variable {variable}: {exc}", key=variable) from None
        applied.append(variable)
        if key in DISCOVERY_KEYS:
            discovery = _set_discovery(discovery, key, checked)
        else:
            env_values[key] = checked
            env_where[key] = _Where(f"environment variable {variable}", key=variable)
    defaults = defaults.over(_Layer(env_values, env_where))
    built = _build(
        path if text is not None else None, defaults, cameras, discovery, tuple(applied), ()
    )
    return replace(built, ftp=ftp[0], ftp_logins=ftp[1])


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def apply_overrides(config: Config, **values: object) -> Config:
    """``config`` with command-line flag values over ``[defaults]`` (and ``[discovery]`` for
    ``interface``, ``cooldown``, ``search_interval``). Keys: the config keys (``guid``,
    ``name``, ``dest``, ``template``, ``profile``, ``hook``, ``kinds``, ``extensions``,
    ``since``, ``until``, …); ``None`` means the flag was not given. Values are validated
    like the file's (relative paths against the current directory); a bad one raises
    :class:`ConfigError` naming the flag. ``[[camera]]`` keys still win for their body.
    """
    unknown = sorted(set(values) - set(CAMERA_KEYS) - set(DISCOVERY_KEYS))
    if unknown:
        raise TypeError(f"apply_overrides() got unknown settings: {', '.join(unknown)}")
    context = _Context(None, os.environ)
    flag_values: dict[str, object] = {}
    flag_where: dict[str, _Where] = {}
    discovery = config.discovery
    applied = list(config.flags_applied)
    for key, value in values.items():
        if value is None:
            continue
        try:
            checked = _VALIDATORS[key](value, context)
        except _Invalid as exc:
            raise ConfigError(f"{_flag(key)}: {exc}", key=_flag(key)) from None
        if _flag(key) not in applied:
            applied.append(_flag(key))
        if key in DISCOVERY_KEYS:
            discovery = _set_discovery(discovery, key, checked)
        else:
            flag_values[key] = checked
            flag_where[key] = _Where(_flag(key), key=_flag(key))
    defaults_layer, camera_layers = _layers_of(config)
    matches = [match for match, _settings in config.cameras]
    cameras = tuple(zip(matches, camera_layers, strict=True))
    built = _build(
        config.path,
        defaults_layer.over(_Layer(flag_values, flag_where)),
        cameras,
        discovery,
        config.env_applied,
        tuple(applied),
    )
    return replace(built, ftp=config.ftp, ftp_logins=config.ftp_logins)


def _layers_of(config: Config) -> tuple[_Layer, tuple[_Layer, ...]]:
    """The layers ``config`` was built from; for a ``Config`` made by hand, its settings taken
    as complete layers (each camera then keeps all its values)."""
    if config._camera_layers is not None:
        return config._defaults_layer, config._camera_layers
    return _layer_of(config.defaults, "defaults"), tuple(
        _layer_of(settings, f"camera[{i}]") for i, (_m, settings) in enumerate(config.cameras, 1)
    )


def _layer_of(settings: CameraSettings, section: str) -> _Layer:
    filters = settings.filters
    values: dict[str, object] = {
        "guid": settings.guid,
        "name": settings.friendly_name,
        "dest": settings.dest,
        "template": settings.template,
        "profile": settings.profile,
        "hook": settings.hook,
        "partial_max_age_days": settings.partial_max_age_days,
        "kinds": _kinds_text(filters),
        "extensions": ",".join(sorted(filters.extensions)),
        "since": filters.since.isoformat() if filters.since else "",
        "until": filters.until.isoformat() if filters.until else "",
    }
    return _Layer(values, {key: _Where(f"{section}.{key}") for key in values})


def _kinds_text(filters: Filters) -> str:
    return ",".join(kind.value for kind in Kind if kind in filters.kinds)


# ---------------------------------------------------------------------------------------------
# Writing and showing.


def write_example(path: Path) -> None:
    """Write :data:`EXAMPLE_CONFIG` to ``path``, creating its folders. Never replaces a file:
    an existing one raises :class:`ConfigError`."""
    exists = ConfigError(
        f"{path} already exists; not overwriting it (edit it, or move it away first)", path=path
    )
    if os.path.lexists(path):
        raise exists
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ConfigError(f"cannot write {path}: {blocker} is a file, not a folder", path=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}", path=path) from None
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(EXAMPLE_CONFIG)
    except FileExistsError:
        raise exists from None  # created meanwhile by someone else
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}", path=path) from None


def _toml(value: str) -> str:
    """A TOML basic string: JSON's escapes, plus DEL, which TOML also wants escaped."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _settings_lines(settings: CameraSettings) -> list[str]:
    lines = []
    if settings.guid is not None:
        lines.append(f"guid = {_toml(format_guid(settings.guid))}")
    else:
        lines.append("# guid: not set; a camera talks only to the GUID it was paired with")
    if settings.friendly_name is not None:
        lines.append(f"name = {_toml(settings.friendly_name)}")
    else:
        lines.append(f'name = ""  # sends the host name, {_toml(default_friendly_name())}')
    if settings.dest is not None:
        lines.append(f"dest = {_toml(str(settings.dest))}")
    else:
        lines.append("# dest: not set; give --dest, SONY_PM_ALT_DEST or dest")
    filters = settings.filters
    lines += [
        f"template = {_toml(settings.template)}",
        f"profile = {_toml(settings.profile)}",
        f"kinds = {_toml(_kinds_text(filters))}",
        f"extensions = {_toml(','.join(sorted(filters.extensions)))}",
        f"since = {_toml(filters.since.isoformat() if filters.since else '')}",
        f"until = {_toml(filters.until.isoformat() if filters.until else '')}",
        f"hook = {_toml(settings.hook or '')}",
        f"partial_max_age_days = {_number(settings.partial_max_age_days)}",
    ]
    return lines


def describe(config: Config) -> str:
    """The effective configuration as TOML (loadable again), for ``sony-pm-alt config show``:
    GUIDs spelled out, paths expanded, every camera section merged over ``[defaults]``, and
    comments saying which file, environment variables and flags applied."""
    if config.path is not None:
        source = f"# file: {config.path}"
    else:
        source = f"# file: none ({default_config_path()} does not exist); built-in defaults"
    lines = [
        "# sony-pm-alt: the effective configuration",
        source,
        "# environment: " + (", ".join(config.env_applied) or "none applied"),
        "# command line: " + (", ".join(config.flags_applied) or "none applied"),
        "",
        "[defaults]",
        *_settings_lines(config.defaults),
        "",
        "[discovery]",
        f"interface = {_toml(config.discovery.interface or '')}"
        + ("" if config.discovery.interface else "  # the default interface"),
        f"cooldown = {_number(config.discovery.cooldown)}",
        f"search_interval = {_number(config.discovery.search_interval)}",
    ]
    logins = dict(config.ftp_logins)
    for match, settings in config.cameras:
        lines += ["", "[[camera]]", f"match = {_toml(match)}", *_settings_lines(settings)]
        if match in logins:  # never the password: commented, so the text still loads
            lines.append(f"# ftp_user = {_toml(logins[match].user)} (password not shown)")
    ftp = config.ftp
    if ftp.enabled or logins:
        lines += [
            "",
            "[ftp]",
            f"enabled = {'true' if ftp.enabled else 'false'}",
            f"listen = {_toml(ftp.listen)}",
            f"port = {ftp.port}",
            "passive_ports = "
            + _toml(f"{ftp.passive_ports[0]}-{ftp.passive_ports[1]}" if ftp.passive_ports else ""),
            f"tls = {'true' if ftp.tls else 'false'}",
            f"tls_required = {'true' if ftp.tls_required else 'false'}",
        ]
        if ftp.certfile is not None and ftp.keyfile is not None:
            lines += [
                f"certfile = {_toml(str(ftp.certfile))}",
                f"keyfile = {_toml(str(ftp.keyfile))}",
            ]
    return "\n".join(lines) + "\n"
