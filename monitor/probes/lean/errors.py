"""Target failures of the lean client: an error code and the detail a person reads."""

from __future__ import annotations

import errno
import socket

from monitor.model import ErrorCode
from monitor.probes.lean.tls import TlsError

RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
LOCAL_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
"""Vakt's own host ran out of something: no evidence about the target (trust rule 4)."""


def is_local(exc: BaseException) -> bool:
    """True when `exc` is Vakt's own resource trouble (descriptors, buffers, memory)."""
    return isinstance(exc, OSError) and exc.errno in LOCAL_ERRNOS


def raise_if_local() -> None:
    """Raise the `OSError` a new socket meets now when it is Vakt's own shortage.

    Called only after a failure whose cause is hidden: c-ares reports a resolver that
    could not open its socket as "Could not contact DNS servers", like a dead server.
    `run_probe` turns the raised error into a `local_resource` result.
    """
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
    except OSError as exc:
        if is_local(exc):
            raise
    return


def local_detail(exc: BaseException) -> str:
    return f"Vakt could not probe: {os_reason(exc)} (on Vakt's host, not the target)"


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class FetchError(Exception):
    """The exchange failed in a way the target is to blame for; args: (code, detail)."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    @classmethod
    def protocol(cls, detail: str) -> FetchError:
        return cls(ErrorCode.PROTOCOL, detail)


def redirect_error(detail: str) -> FetchError:
    return FetchError(ErrorCode.REDIRECTS, detail)


def dns_error(host: str, reason: str) -> FetchError:
    return FetchError(ErrorCode.DNS, f"cannot resolve {host}: {reason}")


def connect_error(exc: OSError, host: str, port: int) -> FetchError:
    """A TCP connection that could not be made (every address tried)."""
    where = host_port(host, port)
    if is_local(exc):
        return FetchError(ErrorCode.LOCAL_RESOURCE, local_detail(exc))
    if exc.errno == errno.ECONNREFUSED:
        return FetchError(ErrorCode.REFUSED, f"connection refused by {where}")
    if exc.errno in RESET_ERRNOS:
        return FetchError(ErrorCode.RESET, f"connection to {where} reset")
    return FetchError(ErrorCode.REFUSED, f"cannot connect to {where}: {os_reason(exc)}")


def handshake_error(exc: OSError | TlsError, host: str, port: int) -> FetchError:
    """A TLS handshake that failed for another reason than the certificate."""
    where = host_port(host, port)
    if is_local(exc):
        return FetchError(ErrorCode.LOCAL_RESOURCE, local_detail(exc))
    if isinstance(exc, OSError) and exc.errno in RESET_ERRNOS:
        return FetchError(ErrorCode.RESET, f"connection to {where} reset")
    return FetchError(ErrorCode.TLS, f"TLS handshake with {where} failed: {ssl_reason(exc)}")


def exchange_error(exc: Exception) -> FetchError:
    """The connection failed after the request was sent."""
    if is_local(exc):
        return FetchError(ErrorCode.LOCAL_RESOURCE, local_detail(exc))
    if isinstance(exc, OSError) and exc.errno in RESET_ERRNOS:
        return FetchError(ErrorCode.RESET, "connection reset by the server")
    if isinstance(exc, TlsError):
        return FetchError(ErrorCode.PROTOCOL, f"TLS error: {exc.reason}")
    return FetchError(ErrorCode.RESET, f"connection lost: {os_reason(exc)}")


def os_reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def ssl_reason(exc: BaseException) -> str:
    if isinstance(exc, TlsError):
        return exc.reason
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return str(exc) or type(exc).__name__
