"""The ``[ftp]`` config section and the ``[[camera]]`` FTP keys, parsed into engine types.

config.py hands the raw tables here (so that its own edit stays small) with a function that
turns a problem into its usual one-line ``ConfigError`` naming the file, line and key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from .accounts import Account, PasswordHashError, check_hash_format

if TYPE_CHECKING:
    from ..config import Config
    from .server import ReceiverSettings

DEFAULT_PORT = 2121  # unprivileged; docs/ftp.md shows how to offer 21
CERT_DIR = platformdirs.user_data_path("sony-pm-alt") / "ftp"
FTP_KEYS: tuple[str, ...] = (
    "enabled", "listen", "port", "passive_ports", "masquerade_address",
    "tls", "tls_required", "certfile", "keyfile",
)  # fmt: skip
CAMERA_FTP_KEYS: tuple[str, ...] = ("ftp_user", "ftp_password", "ftp_password_hash")

Problem = Callable[[str | None, str], Exception]
"""Makes the error to raise for a key (None: the section) and a one-line problem."""


class FtpConfigError(ValueError):
    """The FTP settings cannot be used for receiving; the message says what to set."""


@dataclass(frozen=True)
class FtpSection:
    enabled: bool = False
    listen: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    passive_ports: tuple[int, int] | None = None
    masquerade_address: str | None = None
    tls: bool = False
    tls_required: bool = False
    certfile: Path | None = None  # None: the self-signed one in CERT_DIR
    keyfile: Path | None = None


@dataclass(frozen=True)
class FtpLogin:
    user: str
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)


def _bool(key: str, value: object, problem: Problem) -> bool:
    if not isinstance(value, bool):
        raise problem(key, f"must be true or false, not {value!r}")
    return value


def _port(key: str, value: object, problem: Problem) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise problem(key, f"must be a port number 1-65535, not {value!r}")
    return value


def _address(key: str, value: object, problem: Problem) -> str:
    if not isinstance(value, str):
        raise problem(key, f"must be an IP address in quotes, not {value!r}")
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise problem(key, f'{value!r} is not an IP address, e.g. "0.0.0.0"') from None


def parse_section(
    raw: Mapping[str, object], problem: Problem, path: Callable[[object], Path | None]
) -> FtpSection:
    """``path`` turns a config value into an expanded path (None for "")."""
    values: dict[str, object] = {}
    for key, value in raw.items():
        if key not in FTP_KEYS:
            raise problem(key, f"unknown key; known keys: {', '.join(FTP_KEYS)}")
        if key in ("enabled", "tls", "tls_required"):
            values[key] = _bool(key, value, problem)
        elif key == "port":
            values[key] = _port(key, value, problem)
        elif key == "listen":
            values[key] = _address(key, value, problem)
        elif key == "masquerade_address":
            values[key] = _address(key, value, problem) if value != "" else None
        elif key == "passive_ports":
            values[key] = _range(key, value, problem)
        else:
            values[key] = path(value)
    section = FtpSection(**values)  # type: ignore[arg-type]
    if (section.certfile is None) != (section.keyfile is None):
        missing = "keyfile" if section.keyfile is None else "certfile"
        raise problem(missing, "give both certfile and keyfile, or neither (one is made)")
    return section


def _range(key: str, value: object, problem: Problem) -> tuple[int, int] | None:
    if value == "":
        return None
    text = value if isinstance(value, str) else ""
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high)
    except ValueError:
        raise problem(key, f'must be a range such as "60000-60099", not {value!r}') from None
    if not 1024 <= first <= last <= 65535:
        raise problem(key, f"{value!r}: give unprivileged ports, low-high, within 1024-65535")
    return first, last


def pop_login(section: dict[str, object], problem: Problem) -> FtpLogin | None:
    """Take the ``ftp_*`` keys out of a ``[[camera]]`` table; None when it has none."""
    found = {key: section.pop(key) for key in CAMERA_FTP_KEYS if key in section}
    if not found:
        return None
    for key, value in found.items():
        if not isinstance(value, str) or not value:
            raise problem(key, f"must be a non-empty string, not {value!r}")
    if "ftp_user" not in found:
        raise problem("ftp_user", "missing: give the user name entered in the camera")
    password, password_hash = found.get("ftp_password"), found.get("ftp_password_hash")
    if (password is None) == (password_hash is None):
        raise problem(
            "ftp_password",
            "give exactly one of ftp_password and ftp_password_hash "
            "(sony-pm-alt ftp-password-hash makes one)",
        )
    if password_hash is not None:
        try:
            check_hash_format(str(password_hash))
        except PasswordHashError as exc:
            raise problem("ftp_password_hash", str(exc)) from None
    return FtpLogin(str(found["ftp_user"]), _opt(password), _opt(password_hash))


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def accounts(config: Config, dest_override: Path | None = None) -> tuple[Account, ...]:
    """One account per ``[[camera]]`` with ``ftp_user``; its files go to that section's
    ``dest`` and ``template`` (``dest_override`` first, e.g. ``receive-ftp --dest``)."""
    settings = dict(config.cameras)
    result: list[Account] = []
    users: set[str] = set()
    for match, login in config.ftp_logins:
        camera = settings[match]
        dest = dest_override or camera.dest
        if dest is None:
            raise FtpConfigError(
                f"camera {match!r} has an FTP account but no dest: set dest in its [[camera]] "
                "section or [defaults], or give --dest"
            )
        if login.user in users:
            raise FtpConfigError(f"ftp_user {login.user!r} is given to two cameras")
        users.add(login.user)
        result.append(
            Account(
                user=login.user,
                camera=match,
                dest=dest,
                template=camera.template,
                password=login.password,
                password_hash=login.password_hash,
                hook=camera.hook,
                filters=camera.filters,
                partial_max_age_days=camera.partial_max_age_days,
            )
        )
    return tuple(result)


def receiver_settings(
    section: FtpSection,
    accounts: tuple[Account, ...],
    *,
    listen: str | None = None,
    port: int | None = None,
) -> tuple[ReceiverSettings, str]:
    """The receiver's settings, and a line about its certificate ("" without TLS); makes the
    self-signed certificate on first start."""
    from .server import ReceiverSettings
    from .tls import ensure_self_signed, fingerprint

    certfile, keyfile, note = section.certfile, section.keyfile, ""
    if section.tls:
        if certfile is None or keyfile is None:
            certfile, keyfile = CERT_DIR / "cert.pem", CERT_DIR / "key.pem"
            made = ensure_self_signed(certfile, keyfile, (listen or section.listen,))
            note = "made a self-signed certificate " if made else "self-signed certificate "
        note += f"{certfile}, SHA-256 fingerprint {fingerprint(certfile)}"
    return (
        ReceiverSettings(
            listen=listen or section.listen,
            port=section.port if port is None else port,
            passive_ports=section.passive_ports,
            tls=section.tls,
            certfile=certfile,
            keyfile=keyfile,
            tls_required=section.tls_required,
            masquerade_address=section.masquerade_address,
            accounts=accounts,
        ),
        note,
    )
