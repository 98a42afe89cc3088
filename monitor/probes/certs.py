"""Certificates: explaining why verification refused one."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from monitor.probes.lean.tls import TlsError

# OpenSSL X509_V_ERR_* codes that deserve their own words.
_NOT_YET_VALID = 9
_EXPIRED = 10
_SELF_SIGNED = 18
_SELF_SIGNED_IN_CHAIN = 19
_UNKNOWN_ISSUER = frozenset({2, 20, 21})
_NAME_MISMATCH = frozenset({62, 64})  # host name, IP address


def names_of(cert: x509.Certificate) -> list[str]:
    """The names a certificate is for: subject alternative names, else its common name."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        if names:
            return names
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def explain(error: TlsError, cert: x509.Certificate | None, name: str) -> str:
    """A human reason for a refused certificate: expired, self-signed, wrong host...."""
    code = error.verify_code
    if code == _EXPIRED:
        return (
            f"certificate expired on {_day(cert.not_valid_after_utc)}"
            if cert
            else ("certificate expired")
        )
    if code == _NOT_YET_VALID:
        when = f" until {_day(cert.not_valid_before_utc)}" if cert else ""
        return f"certificate is not valid{when}"
    if code == _SELF_SIGNED:
        return "self-signed certificate"
    if code == _SELF_SIGNED_IN_CHAIN:
        return "self-signed certificate in the chain"
    if code in _UNKNOWN_ISSUER:
        return "certificate issued by an untrusted authority"
    if code in _NAME_MISMATCH:
        names = ", ".join(names_of(cert)) if cert else "another name"
        return f"certificate is for {names}, not {name}"
    return f"certificate refused: {error.verify_message or error}"
