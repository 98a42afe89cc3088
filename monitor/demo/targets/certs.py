"""Certificates for the target fleet, generated on the spot with `cryptography`.

One private CA signs the "good" certificates; callers trust `ca_file`. Kinds:
`valid`, `expiring` (5 days left), `expired`, `self_signed`, `wrong_host`.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOCAL_NAMES = ("localhost", "vakt.test", "*.vakt.test")
LOCAL_IPS = ("127.0.0.1", "::1")


class CertKind(StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    SELF_SIGNED = "self_signed"
    WRONG_HOST = "wrong_host"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(names: tuple[str, ...], ips: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    entries += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    return x509.SubjectAlternativeName(entries)


class CertFactory:
    """Writes a CA and leaf certificates (PEM) into `directory`; `now` anchors validity."""

    def __init__(self, directory: Path, now: datetime | None = None) -> None:
        self.directory = directory
        self.now = now or datetime.now(UTC)
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._ca_cert = self._build(
            _name("Vakt Test CA"),
            self._ca_key,
            self._ca_key.public_key(),
            _name("Vakt Test CA"),
            (self.now - timedelta(days=30), self.now + timedelta(days=3650)),
            ca=True,
        )
        self.ca_file = str(self._write("ca.pem", self._ca_cert, None))

    def _build(
        self,
        subject: x509.Name,
        signer: ec.EllipticCurvePrivateKey,
        public_key: ec.EllipticCurvePublicKey,
        issuer: x509.Name,
        validity: tuple[datetime, datetime],
        *,
        ca: bool = False,
        san: x509.SubjectAlternativeName | None = None,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        return builder.sign(signer, hashes.SHA256())

    def _write(
        self, filename: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None
    ) -> Path:
        path = self.directory / filename
        data = cert.public_bytes(serialization.Encoding.PEM)
        if key is not None:
            data += key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        path.write_bytes(data)
        return path

    def issue(self, kind: CertKind) -> str:
        """Write a certificate of `kind` with its key (one PEM file) and return its path."""
        key = ec.generate_private_key(ec.SECP256R1())
        names: tuple[str, ...] = LOCAL_NAMES
        ips: tuple[str, ...] = LOCAL_IPS
        validity = self._validity(kind)
        if kind is CertKind.WRONG_HOST:
            names, ips = ("other.example",), ()
        san = _san(names, ips)
        if kind is CertKind.SELF_SIGNED:
            subject = _name("localhost")
            cert = self._build(subject, key, key.public_key(), subject, validity, san=san)
        else:
            cert = self._build(
                _name(names[0]),
                self._ca_key,
                key.public_key(),
                self._ca_cert.subject,
                validity,
                san=san,
            )
        return str(self._write(f"{kind.value}.pem", cert, key))

    def _validity(self, kind: CertKind) -> tuple[datetime, datetime]:
        if kind is CertKind.EXPIRED:
            return self.now - timedelta(days=90), self.now - timedelta(days=3)
        if kind is CertKind.EXPIRING:
            return self.now - timedelta(days=80), self.now + timedelta(days=5, hours=1)
        return self.now - timedelta(days=1), self.now + timedelta(days=90)
