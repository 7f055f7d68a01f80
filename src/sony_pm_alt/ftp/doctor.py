"""`sony-pm-alt doctor`'s FTP checks: the port, the certificate, each camera account."""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

from . import settings as ftp_settings

if TYPE_CHECKING:
    from ..doctor import Check
    from ..settings import Settings


def ftp_checks(config: Settings) -> list[Check]:
    from ..doctor import Check, Status, destination_check

    section = config.ftp
    if not section.enabled and not config.ftp_logins:
        return []
    checks: list[Check] = []
    if not section.enabled:
        checks.append(
            Check(
                "ftp",
                Status.WARN,
                "camera FTP accounts are set but [ftp] "
                "enabled = false: watch will not receive FTP uploads",
                "set enabled = true in [ftp]",
            )
        )
    checks.append(_port_check(section.listen, section.port))
    if section.tls:
        checks.append(_certificate_check(section))
    try:
        accounts = ftp_settings.accounts(config)
    except ftp_settings.FtpConfigError as exc:
        return [*checks, Check("ftp accounts", Status.FAIL, str(exc))]
    if not accounts:
        checks.append(
            Check(
                "ftp accounts",
                Status.FAIL,
                "[ftp] is enabled but no [[camera]] "
                "has ftp_user and ftp_password (or ftp_password_hash)",
                "add them to the section of each body (docs/ftp.md)",
            )
        )
    for account in accounts:
        name = f"ftp account {account.user}"
        if account.password is not None:
            fix = "replace ftp_password by ftp_password_hash (sony-pm-alt ftp-password-hash)"
            problem = "password stored in clear text in the config"
            checks.append(Check(name, Status.WARN, problem, fix))
        else:
            checks.append(
                Check(name, Status.OK, f"camera {account.camera}, files to {account.dest}")
            )
        dest = destination_check(account.dest)
        if dest.status is not Status.OK:
            checks.append(dest)
    return checks


def _port_check(listen: str, port: int) -> Check:
    from ..doctor import Check, Status

    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((listen, port))
        except OSError as exc:
            if exc.errno == errno.EACCES:
                advice = (
                    "ports below 1024 need privileges: use the default 2121 and redirect "
                    "21 to it, or grant CAP_NET_BIND_SERVICE (docs/ftp.md)"
                )
            else:
                advice = "another program holds it (another FTP server?); stop it or pick a port"
            return Check(
                "ftp port", Status.FAIL, f"cannot listen on {listen}:{port}: {exc}", advice
            )
    return Check("ftp port", Status.OK, f"{listen}:{port} is free")


def _certificate_check(section: ftp_settings.FtpSection) -> Check:
    from ..doctor import Check, Status
    from .tls import check_certificate, fingerprint

    cert = section.certfile or ftp_settings.CERT_DIR / "cert.pem"
    key = section.keyfile or ftp_settings.CERT_DIR / "key.pem"
    if section.certfile is None and not cert.exists():
        return Check(
            "ftp certificate",
            Status.OK,
            f"a self-signed one will be made in {cert} "
            "on first start; its fingerprint is shown then",
        )
    problem = check_certificate(cert, key)
    if problem:
        return Check(
            "ftp certificate",
            Status.FAIL,
            problem,
            "fix the files, or remove certfile/keyfile to use a self-signed one",
        )
    return Check(
        "ftp certificate",
        Status.OK,
        f"{cert}, SHA-256 {fingerprint(cert)} (import "
        "it into the camera: Network → FTP Transfer → Import Root Certificate)",
    )
