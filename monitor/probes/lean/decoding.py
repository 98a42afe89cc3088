"""A response body under a size cap: wire bytes counted, gzip/deflate decoded incrementally.

The cap applies twice: to the bytes on the wire (a declared `Content-Length` over the cap
is refused before a byte of body is read) and to the decoded body, so neither a 10 GB
download nor a small gzip bomb is ever held in memory.
"""

from __future__ import annotations

import zlib


class BodyTooLarge(Exception):
    """The body exceeds the cap (on the wire or decoded)."""


class CorruptBody(Exception):
    """A `Content-Encoding` the body does not actually have; the message is the detail."""


_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS


class Body:
    """Collect one response body of at most `cap` bytes.

    `value()` is the decoded body, or None when it exceeded the cap (`too_large`).
    """

    __slots__ = ("_cap", "_decoder", "_encoding", "_parts", "_size", "_wire", "too_large")

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._parts: list[bytes] = []
        self._size = 0  # decoded bytes kept
        self._wire = 0  # bytes received
        self._encoding = ""
        self._decoder: zlib._Decompress | None = None
        self.too_large = False

    def start(self, content_encoding: str | None) -> None:
        """Begin a body sent with `content_encoding` (unknown codings are kept as sent)."""
        encoding = (content_encoding or "").strip().lower()
        self._encoding = encoding if encoding in ("gzip", "x-gzip", "deflate") else ""

    def expect(self, length: int) -> None:
        """The declared length: over the cap ends the body here, unread."""
        if length > self._cap:
            self._over()

    def add(self, data: bytes) -> None:
        """Append wire bytes; raise `BodyTooLarge` or `CorruptBody`."""
        if not data:
            return
        self._wire += len(data)
        if self._wire > self._cap:
            self._over()
        if self._encoding:
            data = self._decode(data)
        self._keep(data)

    def finish(self) -> None:
        """The body ended: flush what the decoder still holds."""
        if self._decoder is not None:
            try:
                rest = self._decoder.flush()
            except zlib.error as exc:
                raise CorruptBody(f"corrupt {self._encoding} body") from exc
            self._keep(rest)

    def value(self) -> bytes | None:
        if self.too_large:
            return None
        return self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)

    def _keep(self, data: bytes) -> None:
        if data:
            self._size += len(data)
            if self._size > self._cap:
                self._over()
            self._parts.append(data)

    def _over(self) -> None:
        self.too_large = True
        self._parts.clear()
        raise BodyTooLarge

    def _decode(self, data: bytes) -> bytes:
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = zlib.decompressobj(self._wbits(data))
        room = self._cap - self._size
        try:
            out = decoder.decompress(data, room + 1)  # max_length 0 would mean "no limit"
        except zlib.error as exc:
            raise CorruptBody(f"corrupt {self._encoding} body") from exc
        if decoder.unconsumed_tail:
            self._over()  # more output is waiting than the cap has room for
        return out

    def _wbits(self, first: bytes) -> int:
        if self._encoding != "deflate":
            return _GZIP
        # `deflate` is meant to be zlib-wrapped, but some servers send raw deflate
        return _ZLIB if first[0] & 0x0F == 8 else _RAW_DEFLATE
