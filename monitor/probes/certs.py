"""Certificates: reading the peer's, and explaining why verification refused it."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime
from functools import lru_cache

from cryptography import x509
from cryptography.x509.oid import NameOID

# OpenSSL X509_V_ERR_* codes that deserve their own words.
_NOT_YET_VALID = 9
_EXPIRED = 10
_SELF_SIGNED = 18
_SELF_SIGNED_IN_CHAIN = 19
_UNKNOWN_ISSUER = frozenset({2, 20, 21})
_NAME_MISMATCH = frozenset({62, 64})  # host name, IP address


def not_after_of(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> datetime | None:
    """The verified peer certificate's expiry, from a live TLS connection."""
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    value = cert.get("notAfter") if cert else None
    if not isinstance(value, str):
        return None
    return _cert_time(value)


@lru_cache(maxsize=4096)
def _cert_time(value: str) -> datetime:
    """`notAfter` ("Jan  5 09:34:43 2027 GMT") as a UTC datetime. `cert_time_to_seconds`
    parses with `time.strptime`, ~20 us; the same few certificates come back at every
    probe, so the answers are kept."""
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(value), UTC)


def _unverified_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to read a certificate already refused
    return context


async def fetch_unverified(host: str, port: int, server_name: str) -> x509.Certificate | None:
    """The certificate a server presents, without trusting it (to explain a refusal).

    Returns None when the server cannot be reached again; the caller's timeout bounds it.
    """
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_connection(
            asyncio.Protocol, host, port, ssl=_unverified_context(), server_hostname=server_name
        )
    except (OSError, ssl.SSLError):
        return None
    try:
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        transport.abort()
    return x509.load_der_x509_certificate(der) if der else None


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


def explain(error: ssl.SSLCertVerificationError, cert: x509.Certificate | None, name: str) -> str:
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
    return f"certificate refused: {error.verify_message or error.reason or error}"
