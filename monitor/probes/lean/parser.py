"""An incremental HTTP/1.1 response parser (sans I/O): bytes in, a head and a body out.

`ResponseParser.feed` takes whatever the socket delivered, in pieces of any size, and
never raises: malformed input ends the parse with `failure` set, so a hostile server can
only ever produce a `protocol` (or `reset`) result, never an exception. The body is
framed by `Transfer-Encoding: chunked`, `Content-Length` or the end of the connection,
decoded (`Content-Encoding: gzip | deflate`) and capped by a `Body`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from monitor.probes.lean.decoding import Body, BodyTooLarge, CorruptBody

HEAD_CAP = 64 * 1024  # bytes of status line and headers; more is not a web server
_CHUNK_LINE_CAP = 4096  # a chunk-size line with extensions
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})(?: ([^\r\n]*))?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_NO_BODY_STATUS = frozenset({204, 304})


class Failure(Enum):
    """Why a parse ended without a complete response."""

    MALFORMED = "malformed"  # not HTTP/1.x: `protocol`
    NO_RESPONSE = "no_response"  # closed before the head was complete: `reset`
    CUT_SHORT = "cut_short"  # closed before the framed body was complete: `reset`


class _Malformed(Exception):
    """Raised inside the parser only; the message becomes the detail."""


@dataclass(frozen=True, slots=True)
class Head:
    """The status line and headers of a response (names lower-cased, in order)."""

    version: tuple[int, int]
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        """The first value of header `name` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


def parse_head(block: bytes) -> Head:
    """Parse a complete head (without the blank line); raise `_Malformed` when invalid."""
    lines = block.split(b"\r\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise _Malformed(f"bad status line {_show(lines[0])}")
    major, minor, status, reason = match.groups()
    if major != b"1":
        raise _Malformed(f"unsupported version HTTP/{major.decode()}.{minor.decode()}")
    headers = tuple(_header(line) for line in lines[1:])
    return Head((1, int(minor)), int(status), (reason or b"").decode("latin-1"), headers)


def _header(line: bytes) -> tuple[str, str]:
    name, colon, value = line.partition(b":")
    if not colon or _TOKEN.fullmatch(name) is None:
        raise _Malformed(f"bad header line {_show(line)}")
    if b"\r" in value or b"\n" in value or b"\x00" in value:
        raise _Malformed(f"bad header value in {_show(line)}")
    return name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")


def _show(raw: bytes) -> str:
    return repr(raw[:60].decode("latin-1"))


def content_length(head: Head) -> int | None:
    """The declared body length; raise `_Malformed` when it is not one non-negative number."""
    values = {
        part.strip()
        for name, value in head.headers
        if name == "content-length"
        for part in value.split(",")
    }
    if not values:
        return None
    if len(values) > 1 or not all(v.isdigit() and v.isascii() for v in values):
        raise _Malformed(f"bad Content-Length {', '.join(sorted(values))!r}")
    return int(values.pop())


def is_chunked(head: Head) -> bool | None:
    """True: chunked; False: another transfer coding (read to close); None: no coding."""
    codings = [
        part.strip().lower()
        for name, value in head.headers
        if name == "transfer-encoding"
        for part in value.split(",")
        if part.strip()
    ]
    if not codings:
        return None
    return codings[-1] == "chunked"


class _State(Enum):
    HEAD = 0
    LENGTH = 1
    CHUNK_SIZE = 2
    CHUNK_DATA = 3
    CHUNK_END = 4
    TRAILERS = 5
    UNTIL_CLOSE = 6
    DONE = 7


class ResponseParser:
    """Parse one HTTP/1.x response fed in pieces; `done` once complete, failed or capped.

    After `done`: `failure` is None for a complete response (then `head` is set and
    `body.too_large` says whether the body was cut off at the cap), or why it ended.
    `detail` explains a `MALFORMED` failure. `head_request`: the response to HEAD has
    no body whatever its headers say.
    """

    __slots__ = (
        "_buf",
        "_head_request",
        "_remaining",
        "_state",
        "body",
        "detail",
        "failure",
        "head",
    )

    def __init__(self, body: Body, *, head_request: bool = False) -> None:
        self.body = body
        self.head: Head | None = None
        self.failure: Failure | None = None
        self.detail = ""
        self._head_request = head_request
        self._state = _State.HEAD
        self._buf = b""
        self._remaining = 0

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    def feed(self, data: bytes) -> None:
        """Consume `data`; never raises. Data after the end of the response is ignored."""
        if self._state is _State.DONE:
            return
        buf = self._buf + data if self._buf else data
        self._buf = b""
        try:
            while buf and not self.done:
                buf = self._step(buf)
        except _Malformed as exc:
            self._fail(Failure.MALFORMED, f"invalid HTTP response: {exc}")
        except CorruptBody as exc:
            self._fail(Failure.MALFORMED, f"invalid HTTP response: {exc}")
        except BodyTooLarge:
            self._state = _State.DONE  # a complete head, a capped body: `too_large`

    def feed_eof(self) -> None:
        """The peer closed the connection: finish a read-to-close body or fail."""
        if self._state is _State.DONE:
            return
        if self._state is _State.UNTIL_CLOSE:
            self._finish_body()
        elif self._state is _State.HEAD:
            self._fail(Failure.NO_RESPONSE, "server closed the connection without a response")
        else:
            self._fail(Failure.CUT_SHORT, "response body was cut short")

    def _fail(self, failure: Failure, detail: str) -> None:
        self.failure = failure
        self.detail = detail
        self._state = _State.DONE

    def _step(self, buf: bytes) -> bytes:
        state = self._state
        if state is _State.HEAD:
            return self._on_head(buf)
        if state is _State.LENGTH:
            return self._on_length(buf)
        if state is _State.CHUNK_DATA:
            return self._on_chunk_data(buf)
        if state is _State.CHUNK_SIZE:
            return self._on_chunk_size(buf)
        if state is _State.CHUNK_END:
            return self._on_chunk_end(buf)
        if state is _State.TRAILERS:
            return self._on_trailers(buf)
        self.body.add(buf)  # UNTIL_CLOSE
        return b""

    def _need_more(self, buf: bytes, cap: int, what: str) -> bytes:
        if len(buf) > cap:
            raise _Malformed(f"{what} too long")
        self._buf = buf
        return b""

    def _on_head(self, buf: bytes) -> bytes:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if not b"HTTP/".startswith(buf[:5]):  # fail fast on SSH banners and the like
                line = buf.split(b"\r\n", 1)[0]
                raise _Malformed(f"bad status line {_show(line)}")
            return self._need_more(buf, HEAD_CAP, "response head")
        if end > HEAD_CAP:
            raise _Malformed("response head too long")
        head = parse_head(buf[:end])
        rest = buf[end + 4 :]
        if 100 <= head.status < 200 and head.status != 101:
            return rest  # an interim response (100 Continue, 103 Early Hints): skip it
        self.head = head
        self._frame(head)
        return rest

    def _frame(self, head: Head) -> None:
        """Choose how the body ends, from the status, the method and the headers."""
        self.body.start(head.get("content-encoding"))
        if self._head_request or head.status in _NO_BODY_STATUS or head.status < 200:
            self._finish_body()
            return
        chunked = is_chunked(head)
        if chunked is not None:
            self._state = _State.CHUNK_SIZE if chunked else _State.UNTIL_CLOSE
            return
        length = content_length(head)
        if length is None:
            self._state = _State.UNTIL_CLOSE
            return
        self.body.expect(length)
        self._remaining = length
        self._state = _State.LENGTH
        if length == 0:
            self._finish_body()

    def _on_length(self, buf: bytes) -> bytes:
        take = buf[: self._remaining]
        self.body.add(take)
        self._remaining -= len(take)
        if self._remaining == 0:
            self._finish_body()
        return buf[len(take) :]

    def _on_chunk_size(self, buf: bytes) -> bytes:
        end = buf.find(b"\r\n")
        if end < 0:
            return self._need_more(buf, _CHUNK_LINE_CAP, "chunk size line")
        size = buf[:end].split(b";", 1)[0].strip(b" \t")
        if _HEX.fullmatch(size) is None:
            raise _Malformed(f"bad chunk size {_show(buf[:end])}")
        self._remaining = int(size, 16)
        self._state = _State.CHUNK_DATA if self._remaining else _State.TRAILERS
        return buf[end + 2 :]

    def _on_chunk_data(self, buf: bytes) -> bytes:
        take = buf[: self._remaining]
        self.body.add(take)
        self._remaining -= len(take)
        if self._remaining == 0:
            self._state = _State.CHUNK_END
        return buf[len(take) :]

    def _on_chunk_end(self, buf: bytes) -> bytes:
        if len(buf) < 2:
            if buf != b"\r"[: len(buf)]:
                raise _Malformed("missing CRLF after chunk data")
            return self._need_more(buf, 2, "chunk end")
        if buf[:2] != b"\r\n":
            raise _Malformed("missing CRLF after chunk data")
        self._state = _State.CHUNK_SIZE
        return buf[2:]

    def _on_trailers(self, buf: bytes) -> bytes:
        end = buf.find(b"\r\n")
        if end < 0:
            return self._need_more(buf, HEAD_CAP, "trailer section")
        if end > 0:
            _header(buf[:end])  # a trailer field: validated, then dropped
            return buf[end + 2 :]
        self._finish_body()
        return buf[2:]

    def _finish_body(self) -> None:
        self.body.finish()
        self._state = _State.DONE
