"""Settings, parsed once into the engine's types: a TOML file, ``SONY_PM_ALT_*`` variables, flags.

The file's sections, the precedence (default, file, variable, flag; a ``[[camera]]`` section's
own keys win for its body) and what an empty value means are in README "Settings". Each key is
one field of the schema below, declared with :func:`~.schema.key`; its variable
(:data:`ENV_VARS`) and its flag (``cli/options.py``) are generated from it.

Values are parsed once, into what the engine uses (``Template``, ``Profile``, ``Path``, the
parts of ``Filters``, GUID bytes), so ``watch`` fails at start with one line naming the file
and the key path (``defaults.since``), the variable or the flag, never when a camera turns up.
Why msgspec: docs/architecture.md, *Settings*. What msgspec cannot know (a GUID's spellings, a
template's tokens, a profile file) is parsed by the engine's own parser, named at the field.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, NamedTuple, TypeVar, get_args

import msgspec
import platformdirs

from .engine.download import PARTIAL_MAX_AGE_DAYS
from .engine.filters import Filters
from .engine.model import Kind
from .engine.naming import DEFAULT_TEMPLATE, Template
from .engine.sync import KEEPALIVE_INTERVAL, SyncOptions
from .errors import SonyPmAltError
from .ftp.settings import FtpLogin, FtpSection, pop_login
from .identity import Identity, default_friendly_name, format_guid, parse_guid
from .profiles import Profile, default_profile, load_profile
from .schema import Context, Parse, expand, key, path_value, text_value

APP_NAME = "sony-pm-alt"
CONFIG_ENV = "SONY_PM_ALT_CONFIG"
ENV_PREFIX = "SONY_PM_ALT_"
DEFAULT_COOLDOWN = 300.0  # a body keeps announcing for a while after it powers off
DEFAULT_SEARCH_INTERVAL = 60.0
# Intervals are waits between events of one evening's use; more than a day is a typo
# (seconds taken for minutes), and a bound keeps time arithmetic far from overflow.
MAX_INTERVAL = 86_400.0
MAX_DAYS = 36_500.0  # a century: more is a typo, and keeps date arithmetic in range


class ConfigError(SonyPmAltError):
    """Settings that cannot be used. The message is one line naming the file and the key path
    (``camera[2].dest``), the environment variable or the flag; ``path``, ``line`` (TOML syntax
    errors only) and ``key`` hold the same for callers."""

    def __init__(
        self, message: str, *, path: Path | None = None, line: int | None = None, key: str = ""
    ) -> None:
        super().__init__(" ".join(message.splitlines()))
        self.path, self.line, self.key = path, line, key


# Parsers for what msgspec cannot check. Each takes the value as given (text from a variable
# or flag, anything from TOML) and the context paths are read in; ValueError is a problem with
# the value, TypeError a value of the wrong type (reported with the field's "expect").


def _guid(value: object, context: Context) -> bytes:
    if isinstance(value, bytes) and len(value) == 16:
        return value
    return parse_guid(text_value(value))


def _name(value: object, context: Context) -> str:
    return Identity(bytes(16), text_value(value)).friendly_name


def _template(value: object, context: Context) -> Template:
    return value if isinstance(value, Template) else Template(text_value(value))


def _profile(value: object, context: Context) -> Profile:
    if isinstance(value, Profile):
        return value
    text = text_value(value)
    return load_profile(
        str(expand(text, context)) if text.endswith(".toml") or "/" in text else text
    )


def _kinds(value: object, context: Context) -> frozenset[Kind]:
    return Filters.parse(None, text_value(value, lists=True), None, None).kinds


def _extensions(value: object, context: Context) -> frozenset[str]:
    return Filters.parse(text_value(value, lists=True), None, None, None).extensions


def ipv4(value: object, context: Context) -> str:
    text = text_value(value).strip()
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IPv4 address; give the address of the LAN interface, "
            'e.g. "192.168.1.10", or "" for the default'
        ) from None


def _ssid(value: object, context: Context) -> str:
    text = text_value(value)
    if len(text.encode()) > 32 or any(ord(c) < 0x20 for c in text):
        raise ValueError("must be a Wi-Fi network name: at most 32 bytes, no control characters")
    return text


def _passphrase(value: object, context: Context) -> str:
    text = text_value(value)
    if not (8 <= len(text) <= 63 and text.isascii() and text.isprintable()):
        raise ValueError("must be a WPA passphrase: 8 to 63 printable ASCII characters")
    return text


_SECONDS = "a positive number of seconds, at most 86400"
_DATE = "a date YYYY-MM-DD"


class CameraSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[defaults]`` and each ``[[camera]]``: what one camera's sessions use."""

    # fmt: off
    guid: Annotated[bytes | None, key(
        "The GUID the camera was paired with (`sony-pm-alt guid --help`).",
        "a GUID such as ff:ff:52:54:…", _guid)] = None
    friendly_name: Annotated[str | None, key(
        "Name shown on the camera while it sends; unset: the host name.",
        "a name of 1–99 ASCII characters", _name)] = msgspec.field(default=None, name="name")
    dest: Annotated[Path | None, key(
        "Where files go (~ and $VARS expanded).", "a folder path", path_value)] = None
    template: Annotated[Template, key(
        "Path of each file inside dest; tokens under `sony-pm-alt sync` in the README.",
        f"a template such as {DEFAULT_TEMPLATE!r}", _template)] = Template(DEFAULT_TEMPLATE)
    profile: Annotated[Profile, key(
        "Sony commands at start and end: upstream, playmemories, none, or a .toml file.",
        "a profile name or a .toml path", _profile)] = msgspec.field(
        default_factory=default_profile)
    kinds: Annotated[frozenset[Kind], key(
        "Only these kinds: photos, raw, videos, other (unset: all).",
        'a string such as "photos,raw" or an array of them', _kinds,
        aliases=("--kind",))] = frozenset()
    extensions: Annotated[frozenset[str], key(
        "Only these extensions, e.g. jpg,arw (unset: all).",
        'a string such as "jpg,arw" or an array of them', _extensions,
        aliases=("--ext",))] = frozenset()
    since: Annotated[date | None, key(
        "Only files captured on or after this date (YYYY-MM-DD).", _DATE)] = None
    until: Annotated[date | None, key(
        "Only files captured on or before this date (YYYY-MM-DD).", _DATE)] = None
    hook: Annotated[str | None, key(
        "Command run at start, after each file and at the end (ACTION, ARGUMENT in its "
        "environment, JSON on standard input).", "a command")] = None
    keepalive_interval: Annotated[float, key(
        "Ping the camera after this many idle seconds (a Sony body gives up after ~120).",
        "a number of seconds from 0.1 to 86400", aliases=("--keepalive",),
        ge=0.1, le=MAX_INTERVAL)] = KEEPALIVE_INTERVAL
    bulk_listing: Annotated[bool, key(
        "List the card in one request (false: folder by folder, slower).",
        "true or false")] = True
    partial_max_age_days: Annotated[float, key(
        "Remove hidden partial downloads of files no longer on the camera after this many "
        "days untouched (0 = never).", "0 (never) or a number of days up to 36500",
        ge=0, le=MAX_DAYS)] = PARTIAL_MAX_AGE_DAYS
    wifi_ssid: Annotated[str | None, key(
        "The camera's own Wi-Fi (Send to Smartphone), joined through NetworkManager.",
        "a Wi-Fi network name", _ssid)] = None
    wifi_password: Annotated[str | None, key(
        "The passphrase of wifi_ssid.", "a WPA passphrase", _passphrase)] = None
    # fmt: on

    @property
    def filters(self) -> Filters:
        return Filters(self.extensions, self.kinds, self.since, self.until)

    def identity(self) -> Identity | None:
        """Who we are to the camera; None when no GUID is set."""
        if self.guid is None:
            return None
        return Identity(self.guid, self.friendly_name or default_friendly_name())

    def sync_options(self, dest: Path, **run: Any) -> SyncOptions:
        """The engine's options: every field :class:`SyncOptions` shares with this schema, by
        name, so a setting the engine also takes needs no copying; ``run`` adds the options
        of one run (``redownload``, ``dry_run``)."""
        return SyncOptions(**{**shared(self, SyncOptions), "dest": dest, "filters": self.filters,
                              **run})  # fmt: skip

    def check(self) -> tuple[tuple[str, ...], str] | None:
        try:
            self.filters  # noqa: B018 - since after until shows only once layers are merged
        except ValueError as exc:
            return ("since", "until"), str(exc)
        return None


class DiscoverySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[discovery]``: how ``watch`` finds cameras."""

    # fmt: off
    interface: Annotated[str | None, key(
        "IPv4 address of the LAN interface to listen on; unset: the default.",
        "an IPv4 address", ipv4)] = None
    cooldown: Annotated[float, key(
        "Seconds before the same camera may start another session.", _SECONDS,
        gt=0, le=MAX_INTERVAL)] = DEFAULT_COOLDOWN
    search_interval: Annotated[float, key(
        "Seconds between SSDP searches.", _SECONDS,
        gt=0, le=MAX_INTERVAL)] = DEFAULT_SEARCH_INTERVAL
    # fmt: on


def shared(struct: msgspec.Struct, target: Any) -> dict[str, Any]:
    """The values of ``struct`` whose names are fields of the dataclass ``target``: how a
    section's values reach the engine's own option types without a copy by hand."""
    wanted = {f.name for f in dataclasses.fields(target)}
    return {f.name: getattr(struct, f.name) for f in msgspec.structs.fields(struct)
            if f.name in wanted}  # fmt: skip


S = TypeVar("S", bound=msgspec.Struct)


class Section(NamedTuple):
    schema: type[msgspec.Struct]
    prefix: str  # of its variables and flags


# The sections that take variables and flags ([[camera]] is the file's only).
SECTIONS: dict[str, Section] = {
    "defaults": Section(CameraSettings, ""),
    "discovery": Section(DiscoverySettings, ""),
    "ftp": Section(FtpSection, "ftp_"),
}
SECTION_NAMES = "[defaults], [discovery], [[camera]], [ftp]"


class Setting(NamedTuple):
    """One key as the schema declares it."""

    section: str
    key: str  # in the file
    attr: str  # on the struct
    type: Any
    optional: bool  # its default is None: "" unsets it
    help: str
    expect: str
    parse: Parse | None
    aliases: tuple[str, ...]

    @property
    def flag(self) -> str:
        return "--" + (SECTIONS[self.section].prefix + self.key).replace("_", "-")

    @property
    def variable(self) -> str:
        return ENV_PREFIX + (SECTIONS[self.section].prefix + self.key).upper()


def settings_of(section: str) -> tuple[Setting, ...]:
    """The keys of a section, from its schema (looked up on each call: a test may swap one)."""
    return _read_schema(section, SECTIONS[section].schema)


@cache
def _read_schema(section: str, schema: type[msgspec.Struct]) -> tuple[Setting, ...]:
    result = []
    for spec in msgspec.structs.fields(schema):
        base, *metadata = get_args(spec.type) or (spec.type,)
        meta = next((m for m in metadata if isinstance(m, msgspec.Meta)), msgspec.Meta())
        extra = meta.extra or {}
        result.append(Setting(section, spec.encode_name, spec.name, base, spec.default is None,
                              meta.description or "", extra.get("expect", ""),
                              extra.get("parse"), tuple(extra.get("aliases", ()))))  # fmt: skip
    return tuple(result)


def all_settings() -> list[Setting]:
    return [setting for section in SECTIONS for setting in settings_of(section)]


def env_vars() -> dict[str, Setting]:
    return {setting.variable: setting for setting in all_settings()}


ENV_VARS = env_vars()


# Decoding one layer (a table of the file, the variables, the flags) of one section.


@dataclasses.dataclass(frozen=True)
class Layer:
    """Where values come from: ``name`` formats what a message names (``defaults.since``, a
    variable, a flag) after ``prefix`` (the file, ``environment variable ``); TOML is typed
    (``strict``), variables and flags are text to coerce."""

    name: str  # format of what a message names, with {key}
    context: Context
    strict: bool
    prefix: str = ""
    path: Path | None = None

    def error(self, key: str | None, problem: str) -> ConfigError:
        name = self.name.format(key=key or "").removesuffix(".")
        return ConfigError(f"{self.prefix}{name}: {problem}", path=self.path, key=name)

    def under(self, name: str) -> Layer:
        return dataclasses.replace(self, name=name)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, datetime):
        return f"a date and time ({value.isoformat()})"
    if isinstance(value, date):
        return f"a date ({value.isoformat()})"
    return "an array" if isinstance(value, list) else "a table" if isinstance(value, dict) else "?"


_AT = re.compile(r"`\$\.([A-Za-z0-9_]+)")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")


def decode(
    section: str, raw: Mapping[str, object], layer: Layer, known: str = ""
) -> dict[str, object]:
    """The keys of ``raw`` parsed and checked against the section's schema; ``known`` names
    keys the caller takes itself (``[[camera]]``'s ``match``)."""
    by_key = {s.key: s for s in settings_of(section)}
    parsed: dict[str, object] = {}
    for name, value in raw.items():
        setting = by_key.get(name)
        if setting is None:
            parsed[name] = value  # msgspec names it
            continue
        blank = isinstance(value, str) and (value == "" or (not value.strip() and name != "name"))
        if blank and setting.optional:  # (a name of spaces is still a name)
            parsed[name] = None
            continue
        if setting.parse is not None:
            try:
                value = setting.parse(value, layer.context)
            except TypeError:
                pass  # msgspec reports the type
            except ValueError as exc:
                raise layer.error(name, str(exc)) from None
        parsed[name] = value
    try:
        struct: Any = msgspec.convert(parsed, SECTIONS[section].schema, strict=layer.strict,
                                 dec_hook=_instances)  # fmt: skip
    except msgspec.ValidationError as exc:
        message = str(exc)
        unknown = _UNKNOWN.search(message)
        if unknown:
            keys = ", ".join([*by_key, *filter(None, [known])])
            raise layer.error(unknown.group(1), f"unknown key; known keys: {keys}") from None
        at = _AT.search(message)
        name = at.group(1) if at else next(iter(raw), "")
        setting, value = by_key[name], raw.get(name)
        problem = (f"must be {setting.expect}, not {_kind(value)}" if layer.strict
                   else f"{value!r} is not {setting.expect}")  # fmt: skip
        raise layer.error(name, problem) from None
    return {name: getattr(struct, by_key[name].attr) for name in parsed if name in by_key}


def _instances(type_: type, value: object) -> object:
    """msgspec's hook for types it does not know (Path, Template): parsed values pass."""
    if isinstance(value, type_):
        return value
    raise TypeError


@dataclasses.dataclass
class _Merged:
    """A section's struct with layers applied, and the label of the layer each key came from
    (most recent last: a cross-key problem blames the key set last)."""

    value: msgspec.Struct
    origin: dict[str, tuple[Layer, str]] = dataclasses.field(default_factory=dict)

    def over(self, section: str, values: Mapping[str, object], layer: Layer) -> _Merged:
        by_key = {s.key: s.attr for s in settings_of(section)}
        changes = {by_key[k]: v for k, v in values.items()}
        merged = _Merged(msgspec.structs.replace(self.value, **changes), dict(self.origin))
        for name in values:
            merged.origin.pop(name, None)
            merged.origin[name] = (layer, name)
        return merged

    def checked(self) -> msgspec.Struct:
        check = getattr(self.value, "check", None)
        found = check() if check is not None else None
        if found is not None:
            keys, problem = found
            blamed = [self.origin[k] for k in self.origin if k in keys]
            if not blamed:
                raise ConfigError(problem, key=keys[0])
            layer, name = blamed[-1]
            raise layer.error(name, problem)
        return self.value


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything configured. ``path``: the file read (None: none was); ``cameras`` pairs each
    ``[[camera]]`` match with its settings merged over ``defaults``; ``env_applied`` and
    ``flags_applied`` name what was given beyond the file."""

    path: Path | None = None
    defaults: CameraSettings = dataclasses.field(default_factory=CameraSettings)
    cameras: tuple[tuple[str, CameraSettings], ...] = ()
    discovery: DiscoverySettings = dataclasses.field(default_factory=DiscoverySettings)
    ftp: FtpSection = dataclasses.field(default_factory=FtpSection)
    ftp_logins: tuple[tuple[str, FtpLogin], ...] = ()  # ([[camera]] match, login)
    env_applied: tuple[str, ...] = ()
    flags_applied: tuple[str, ...] = ()

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


def load(
    path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    flags: Mapping[str, object] | None = None,
) -> Settings:
    """Read the settings: the file ``path``, else the one ``SONY_PM_ALT_CONFIG`` names, else
    :func:`default_config_path`; then the ``SONY_PM_ALT_*`` variables of ``environ``; then
    ``flags``, keyed by flag name without ``--`` and with ``_`` (``dest``, ``ftp_port``), where
    None means "not given". A missing file at the default path gives the defaults; a missing
    file that was named is an error. Raises :class:`ConfigError`, one line, for anything that
    cannot be used."""
    explicit_by = "the command line" if path is not None else None
    if path is None and environ.get(CONFIG_ENV, "").strip():
        explicit_by = CONFIG_ENV
        try:
            path = expand(environ[CONFIG_ENV].strip(), Context(None, environ))
        except ValueError as exc:
            raise ConfigError(f"environment variable {CONFIG_ENV}: {exc}", key=CONFIG_ENV) from None
    path = path or default_config_path()
    text = _read(path, explicit_by)
    raw = _parse_toml(path, text) if text is not None else {}
    file = Layer("{key}", Context(path.absolute().parent, environ), True, f"{path}: ", path)
    tables = _tables(raw, file)
    env = Layer("{key}", Context(None, environ), False, "environment variable ")
    cli = Layer("{key}", Context(None, environ), False)
    given_flags = {name: value for name, value in (flags or {}).items() if value is not None}
    by_name = {s.flag[2:].replace("-", "_"): s for s in all_settings()}
    unknown = sorted(set(given_flags) - set(by_name))
    if unknown:
        raise TypeError(f"load() got unknown flags: {', '.join(unknown)}")
    from_env = [
        (env.under(v), s, environ[v]) for v, s in env_vars().items() if environ.get(v, "").strip()
    ]
    from_flags = [
        (cli.under(s.flag), s, given_flags[n]) for n, s in by_name.items() if n in given_flags
    ]

    merged: dict[str, _Merged] = {}
    for name, section in SECTIONS.items():
        in_file = file.under(name + ".{key}")
        at = _Merged(section.schema()).over(name, decode(name, tables[name], in_file), in_file)
        for one, s, value in [*from_env, *from_flags]:  # weakest first
            if s.section == name:
                at = at.over(name, decode(name, {s.key: value}, one), one)
        merged[name] = at
    defaults = merged["defaults"]
    cameras, logins = _cameras(raw, file, defaults)
    return Settings(
        path=path if text is not None else None,
        defaults=_as(CameraSettings, defaults.checked()),
        cameras=cameras,
        discovery=_as(DiscoverySettings, merged["discovery"].checked()),
        ftp=_as(FtpSection, merged["ftp"].checked()),
        ftp_logins=logins,
        env_applied=tuple(one.name for one, _, _ in from_env),
        flags_applied=tuple(one.name for one, _, _ in from_flags),
    )


def override(settings: CameraSettings, flags: Mapping[str, object]) -> CameraSettings:
    """``settings`` with flags (None: not given) on top, even over a ``[[camera]]`` section:
    for a command that works on one camera chosen by name (``smartphone --camera``)."""
    merged = _Merged(settings)
    for name, value in flags.items():
        if value is not None:
            cli = Layer("--" + name.replace("_", "-"), Context(None, os.environ), False)
            merged = merged.over("defaults", decode("defaults", {name: value}, cli), cli)
    return _as(CameraSettings, merged.checked())


def _as(type_: type[S], value: msgspec.Struct) -> S:
    assert isinstance(value, type_)
    return value


def _read(path: Path, explicit_by: str | None) -> str | None:
    """The file's text; None when the default file does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit_by is None:
            return None
        hint = f"create one with `sony-pm-alt config init --path {path}`"
        message = f"{path}: no such file (named by {explicit_by}); {hint}"
        raise ConfigError(message, path=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})", path=path) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}", path=path) from None


_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def _parse_toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        position = _TOML_POSITION.search(str(exc))
        line = int(position.group(1)) if position else None
        where = f"{path} line {line}" if line is not None else str(path)
        raise ConfigError(f"{where}: not valid TOML: {exc}", path=path, line=line) from None


def _tables(raw: Mapping[str, object], file: Layer) -> dict[str, Mapping[str, object]]:
    for name, value in raw.items():
        if name == "camera" and not isinstance(value, list):
            raise file.error(name, f"must be an array of tables, one [[camera]] per body, not "
                             f"{_kind(value)} (write [[camera]], not [camera])")  # fmt: skip
        if name in SECTIONS and not isinstance(value, dict):
            raise file.error(name, f"must be a table ([{name}]), not {_kind(value)}")
        if name not in SECTIONS and name != "camera":
            raise file.error(name, f"unknown section [{name}]; known sections: {SECTION_NAMES}"
                             if isinstance(value, dict) else f"unknown key {name!r} outside any "
                             f"section; settings go under [defaults] or [discovery] (known "
                             f"sections: {SECTION_NAMES})")  # fmt: skip
    return {name: raw.get(name, {}) for name in SECTIONS}  # type: ignore[misc]


def _cameras(
    raw: Mapping[str, Any], file: Layer, defaults: _Merged
) -> tuple[tuple[tuple[str, CameraSettings], ...], tuple[tuple[str, FtpLogin], ...]]:
    cameras: list[tuple[str, CameraSettings]] = []
    logins: list[tuple[str, FtpLogin]] = []
    first: dict[str, int] = {}
    for index, table in enumerate(raw.get("camera", []), 1):
        here = file.under(f"camera[{index}].{{key}}")
        if not isinstance(table, dict):
            raise here.error("", f"must be a table, not {_kind(table)}")
        table = dict(table)
        match = table.pop("match", None)
        if match is None:
            raise here.error("", "has no match; give the body's serial number or its uuid:… "
                             'UDN, e.g. match = "00000000000000003282651203392641"')  # fmt: skip
        if not isinstance(match, str) or not match.strip():
            raise here.error("match", "is empty; give the body's serial number or its uuid:… UDN"
                             if isinstance(match, str) else "must be a serial number or a "
                             f"uuid:… UDN, not {_kind(match)}")  # fmt: skip
        if _udn_key(match) in first:
            raise here.error(
                "match",
                f"{match!r} is already matched by camera"
                f"[{first[_udn_key(match)]}], so this section would never apply",
            )
        first[_udn_key(match)] = index
        login = pop_login(table, here.error)
        if login is not None:
            logins.append((match.strip(), login))
        extra = "match, ftp_user, ftp_password, ftp_password_hash"
        values = decode("defaults", table, here, extra)
        settings = defaults.over("defaults", values, here).checked()
        cameras.append((match.strip(), _as(CameraSettings, settings)))
    return tuple(cameras), tuple(logins)


# What `config init` writes: every key with its default and a comment, and what is to be set.
EXAMPLE_CONFIG = Path(__file__).with_name("example-config.toml").read_text(encoding="utf-8")


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
        with path.open("x", encoding="utf-8") as out:
            out.write(EXAMPLE_CONFIG)
    except FileExistsError:
        raise exists from None  # created meanwhile by someone else
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}", path=path) from None


def show(value: object) -> str:
    """A parsed value as TOML that parses back to it."""
    if value is None:
        return '""'
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):  # and bool: true, false
        return json.dumps(value)
    text: str
    if isinstance(value, bytes):
        text = format_guid(value)
    elif isinstance(value, Template):
        text = value.text
    elif isinstance(value, Profile):
        text = value.origin
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, tuple):
        text = "-".join(str(v) for v in value)  # a port range
    elif isinstance(value, frozenset):
        text = ",".join(sorted(v.value if isinstance(v, Kind) else str(v) for v in value))
    else:
        text = str(value)
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")  # TOML escapes DEL


_UNSET = {
    "guid": "not set; a camera talks only to the GUID it was paired with",
    "name": f"sends the host name, {show(default_friendly_name())}",
    "dest": "not set; give --dest, SONY_PM_ALT_DEST or dest",
    "interface": "the default interface",
}


def _lines(section: str, struct: msgspec.Struct) -> list[str]:
    lines = []
    for setting in settings_of(section):
        value = getattr(struct, setting.attr)
        if "password" in setting.key:  # commented, so that the text still loads
            lines += [f"# {setting.key}: set (not shown)"] if value is not None else []
            continue
        if value is None and setting.key in ("guid", "dest"):  # must be set: say so
            lines.append(f"# {setting.key}: {_UNSET[setting.key]}")
            continue
        note = f"  # {_UNSET[setting.key]}" if value is None and setting.key in _UNSET else ""
        lines.append(f"{setting.key} = {show(value)}{note}")
    return lines


def describe(settings: Settings) -> str:
    """The effective settings as TOML (loadable again), for ``sony-pm-alt config show``:
    GUIDs spelled out, paths expanded, every camera section merged over ``[defaults]``, and
    comments saying which file, variables and flags applied; passwords never shown."""
    source = f"# file: {settings.path}"
    if settings.path is None:
        source = f"# file: none ({default_config_path()} does not exist); built-in defaults"
    lines = [
        "# sony-pm-alt: the effective configuration",
        source,
        "# environment: " + (", ".join(settings.env_applied) or "none applied"),
        "# command line: " + (", ".join(settings.flags_applied) or "none applied"),
        "", "[defaults]", *_lines("defaults", settings.defaults),
        "", "[discovery]", *_lines("discovery", settings.discovery),
    ]  # fmt: skip
    logins = dict(settings.ftp_logins)
    for match, camera in settings.cameras:
        lines += ["", "[[camera]]", f"match = {show(match)}", *_lines("defaults", camera)]
        if match in logins:  # commented, so that the text still loads
            lines.append(f"# ftp_user = {show(logins[match].user)} (password not shown)")
    if settings.ftp.enabled or logins:
        lines += ["", "[ftp]", *_lines("ftp", settings.ftp)]
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """Every setting with its variable, flag and meaning, for the README (checked by a test)."""
    rows = ["| key | variable | flag | meaning |", "|---|---|---|---|"]
    for s in all_settings():
        flags = ", ".join(f"`{f}`" for f in (s.flag, *s.aliases))
        rows.append(f"| `{s.section}.{s.key}` | `{s.variable}` | {flags} | {s.help} |")
    return "\n".join(rows) + "\n"
