"""The ``[ftp]`` settings and the ``[[camera]]`` FTP login, in the engine's types.

:class:`FtpSection` is one section of the schema in ``settings.py``, which reads it from the
file, ``SONY_PM_ALT_FTP_*`` variables and ``--ftp-*`` flags and reports problems.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import msgspec
import platformdirs

from ..schema import Context, key, path_value, text_value
from .accounts import Account, PasswordHashError, check_hash_format

if TYPE_CHECKING:
    from ..settings import Settings
    from .server import ReceiverSettings

DEFAULT_PORT = 2121  # unprivileged; docs/ftp.md shows how to offer 21
CERT_DIR = platformdirs.user_data_path("sony-pm-alt") / "ftp"
CAMERA_FTP_KEYS: tuple[str, ...] = ("ftp_user", "ftp_password", "ftp_password_hash")

Problem = Callable[[str | None, str], Exception]
"""Makes the error to raise for a key (None: the section) and a one-line problem."""


class FtpConfigError(ValueError):
    """The FTP settings cannot be used for receiving; the message says what to set."""


def _address(value: object, context: Context) -> str:
    text = text_value(value)
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f'{value!r} is not an IP address, e.g. "0.0.0.0"') from None


def _range(value: object, context: Context) -> tuple[int, int]:
    low, _, high = value.partition("-") if isinstance(value, str) else ("", "", "")
    try:
        first, last = int(low), int(high)
    except ValueError:
        raise ValueError(f'must be a range such as "60000-60099", not {value!r}') from None
    if not 1024 <= first <= last <= 65535:
        raise ValueError(f"{value!r}: give unprivileged ports, low-high, within 1024-65535")
    return first, last


class FtpSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[ftp]``: the receiver for newer bodies' FTP Transfer (docs/ftp.md)."""

    # fmt: off
    enabled: Annotated[bool, key("Run the FTP receiver with `watch`.", "true or false")] = False
    listen: Annotated[str, key(
        "Address the FTP receiver listens on.", "an IP address in quotes", _address)] = "0.0.0.0"
    port: Annotated[int, key(
        "FTP port (0: any free one).", "a port number 0-65535", ge=0, le=65535)] = DEFAULT_PORT
    passive_ports: Annotated[tuple[int, int] | None, key(
        'Passive data ports, e.g. "60000-60099" (unset: any).', "a port range", _range)] = None
    masquerade_address: Annotated[str | None, key(
        "Address told to cameras in passive mode (behind NAT).", "an IP address",
        _address)] = None
    tls: Annotated[bool, key(
        "Offer FTPS (a self-signed certificate is made unless certfile is set).",
        "true or false")] = False
    tls_required: Annotated[bool, key("Refuse logins without TLS.", "true or false")] = False
    certfile: Annotated[Path | None, key(
        "TLS certificate (PEM); unset: the self-signed one.", "a file path", path_value)] = None
    keyfile: Annotated[Path | None, key(
        "TLS private key (PEM) of certfile.", "a file path", path_value)] = None
    # fmt: on

    def check(self) -> tuple[tuple[str, ...], str] | None:
        if (self.certfile is None) != (self.keyfile is None):
            missing = "keyfile" if self.keyfile is None else "certfile"
            return (missing,), "give both certfile and keyfile, or neither (one is made)"
        return None


@dataclass(frozen=True)
class FtpLogin:
    user: str
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)


def pop_login(section: dict[str, object], problem: Problem) -> FtpLogin | None:
    """Take the ``ftp_*`` keys out of a ``[[camera]]`` table; None when it has none."""
    found: dict[str, str] = {}
    for name in CAMERA_FTP_KEYS:
        if name in section:
            value = section.pop(name)
            if not isinstance(value, str) or not value:
                raise problem(name, f"must be a non-empty string, not {value!r}")
            found[name] = value
    if not found:
        return None
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
            check_hash_format(password_hash)
        except PasswordHashError as exc:
            raise problem("ftp_password_hash", str(exc)) from None
    return FtpLogin(found["ftp_user"], password, password_hash)


def accounts(config: Settings, dest_override: Path | None = None) -> tuple[Account, ...]:
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
                template=camera.template.text,  # Account (ftp/accounts.py) keeps text
                password=login.password,
                password_hash=login.password_hash,
                hook=camera.hook,
                filters=camera.filters,
                partial_max_age_days=camera.partial_max_age_days,
            )
        )
    return tuple(result)


def receiver_settings(
    section: FtpSection, accounts: tuple[Account, ...]
) -> tuple[ReceiverSettings, str]:
    """The receiver's settings, and a line about its certificate ("" without TLS); makes the
    self-signed certificate on first start."""
    from .server import ReceiverSettings
    from .tls import ensure_self_signed, fingerprint

    certfile, keyfile, note = section.certfile, section.keyfile, ""
    if section.tls:
        if certfile is None or keyfile is None:
            certfile, keyfile = CERT_DIR / "cert.pem", CERT_DIR / "key.pem"
            made = ensure_self_signed(certfile, keyfile, (section.listen,))
            note = "made a self-signed certificate " if made else "self-signed certificate "
        note += f"{certfile}, SHA-256 fingerprint {fingerprint(certfile)}"
    return (
        ReceiverSettings(
            listen=section.listen,
            port=section.port,
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
