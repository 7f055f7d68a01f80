"""The receiver's TLS certificate: the user's own, or a self-signed one made on first start.

A camera trusts a server certificate only through "Import Root Certificate" (a PEM file on
the memory card) or with "Root Certificate Error: Connect"; the SHA-256 fingerprint printed
at start lets the user check which certificate the camera met.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALID_DAYS = 3650  # a camera cannot renew anything; ten years, replaced by deleting the files


def ensure_self_signed(cert: Path, key: Path, hosts: tuple[str, ...] = ()) -> bool:
    """Create ``cert`` and ``key`` (mode 0600) unless both exist; True when created."""
    if cert.exists() and key.exists():
        return False
    cert.parent.mkdir(parents=True, exist_ok=True)
    key.parent.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"sony-pm-alt on {socket.gethostname()}")]
    )
    alt: list[x509.GeneralName] = [x509.DNSName(socket.gethostname()), x509.DNSName("localhost")]
    for host in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return True


def fingerprint(cert: Path) -> str:
    """``AB:CD:…``: the certificate's SHA-256 fingerprint, as browsers and openssl show it."""
    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    return ":".join(f"{b:02X}" for b in certificate.fingerprint(hashes.SHA256()))


def check_certificate(cert: Path, key: Path | None) -> str:
    """A one-line problem with the certificate (and key), or "" when they can be used."""
    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    except (OSError, ValueError) as exc:
        return f"cannot read the certificate {cert}: {exc}"
    if certificate.not_valid_after_utc < dt.datetime.now(dt.UTC):
        return f"the certificate {cert} expired on {certificate.not_valid_after_utc:%Y-%m-%d}"
    if key is not None:
        try:
            private = serialization.load_pem_private_key(key.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            return f"cannot read the key {key}: {exc}"
        spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if private.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
            return f"the key {key} does not belong to the certificate {cert}"
    return ""
