"""The lean client's response parser: framing, decoding, caps and hostile input."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.probes.lean.decoding import Body
from monitor.probes.lean.parser import Failure, ResponseParser


def parse(
    wire: bytes, *, cap: int = 1 << 20, pieces: list[int] | None = None, head: bool = False
) -> ResponseParser:
    """Feed `wire` split after each offset in `pieces`, then the end of the connection."""
    parser = ResponseParser(Body(cap), head_request=head)
    start = 0
    for cut in sorted(pieces or []):
        parser.feed(wire[start:cut])
        start = cut
    parser.feed(wire[start:])
    parser.feed_eof()
    return parser


def outcome(parser: ResponseParser) -> tuple[object, ...]:
    assert parser.done
    status = parser.head.status if parser.head is not None else None
    return (parser.failure, parser.detail, status, parser.body.value())


def chunked(body: bytes, sizes: list[int]) -> bytes:
    out, start = [], 0
    for size in [*sizes, len(body)]:
        part = body[start : start + size]
        if part:
            out.append(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
        start += len(part)
    return b"".join(out) + b"0\r\nX-Trailer: yes\r\n\r\n"


OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"


def test_content_length_body_is_read_exactly_and_extra_bytes_ignored() -> None:
    parser = parse(OK_HEAD + b"Content-Length: 5\r\n\r\nhello, and more")
    assert outcome(parser) == (None, "", 200, b"hello")
    assert parser.head is not None
    assert parser.head.get("content-type") == "text/plain"


def test_chunked_body_with_extensions_and_trailers() -> None:
    wire = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"hello world", [3, 4])
    assert outcome(parse(wire)) == (None, "", 200, b"hello world")


def test_body_without_length_is_read_until_the_connection_closes() -> None:
    wire = b"HTTP/1.0 200 OK\r\n\r\nall of it"
    assert outcome(parse(wire)) == (None, "", 200, b"all of it")


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_end_at_the_head(status: int) -> None:
    parser = ResponseParser(Body(100))
    parser.feed(b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % status)
    assert parser.done
    assert outcome(parser) == (None, "", status, b"")


def test_head_request_has_no_body_whatever_the_headers_say() -> None:
    parser = ResponseParser(Body(100), head_request=True)
    parser.feed(OK_HEAD + b"Content-Length: 10\r\n\r\n")
    assert outcome(parser) == (None, "", 200, b"")


def test_interim_responses_are_skipped() -> None:
    wire = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + OK_HEAD
    wire += b"Content-Length: 2\r\n\r\nok"
    assert outcome(parse(wire)) == (None, "", 200, b"ok")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some send it
    ],
)
def test_compressed_bodies_are_decoded(encoding: str, compress: Callable[[bytes], bytes]) -> None:
    packed = compress(b"ACME " * 100)
    head = f"Content-Encoding: {encoding}\r\nContent-Length: {len(packed)}\r\n\r\n"
    assert outcome(parse(OK_HEAD + head.encode() + packed)) == (None, "", 200, b"ACME " * 100)


def test_declared_length_over_the_cap_is_too_large_before_reading() -> None:
    parser = ResponseParser(Body(16))
    parser.feed(OK_HEAD + b"Content-Length: 10737418240\r\n\r\n")
    assert parser.done
    assert parser.failure is None
    assert parser.body.too_large
    assert parser.body.value() is None


def test_chunked_and_unframed_bodies_stop_at_the_cap() -> None:
    endless = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"10\r\n" + b"x" * 16 + b"\r\n"
    parser = ResponseParser(Body(40))
    for _ in range(10):
        parser.feed(endless if parser.head is None else endless[len(OK_HEAD) + 30 :])
    assert (parser.done, parser.body.too_large) == (True, True)
    unframed = parse(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 41, cap=40)
    assert (unframed.failure, unframed.body.too_large) == (None, True)


def test_a_gzip_bomb_is_capped_on_its_decoded_size() -> None:
    bomb = gzip.compress(b"\0" * (10 << 20))
    wire = OK_HEAD + f"Content-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n\r\n".encode()
    parser = parse(wire + bomb, cap=1 << 20)
    assert len(bomb) < 1 << 20
    assert (parser.failure, parser.body.too_large, parser.body.value()) == (None, True, None)


@pytest.mark.parametrize(
    ("wire", "detail"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "invalid HTTP response: bad status line 'SSH-2.0-"),
        (b"HTTP/2.0 200 OK\r\n\r\n", "invalid HTTP response: unsupported version HTTP/2.0"),
        (b"HTTP/1.1 20 OK\r\n\r\n", "invalid HTTP response: bad status line"),
        (b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "invalid HTTP response: bad header line"),
        (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "invalid HTTP response: bad header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid HTTP response: bad Content"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "invalid HTTP response: bad Content-Length '1, 2'",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "invalid HTTP response: bad chunk size 'zz'",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
            "invalid HTTP response: missing CRLF after chunk data",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
            "invalid HTTP response: corrupt gzip body",
        ),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70000, "invalid HTTP response: response head too"),
    ],
)
def test_malformed_responses_fail_as_protocol_errors(wire: bytes, detail: str) -> None:
    parser = parse(wire)
    assert parser.failure is Failure.MALFORMED
    assert parser.detail.startswith(detail), parser.detail


@pytest.mark.parametrize(
    ("wire", "failure", "detail"),
    [
        (b"", Failure.NO_RESPONSE, "server closed the connection without a response"),
        (b"HTTP/1.1 200 OK\r\nX: 1", Failure.NO_RESPONSE, "server closed the connection"),
        (OK_HEAD + b"Content-Length: 9\r\n\r\nabc", Failure.CUT_SHORT, "response body was cut"),
        (
            OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
            Failure.CUT_SHORT,
            "response body was cut short",
        ),
    ],
)
def test_a_close_before_the_end_is_a_reset(wire: bytes, failure: Failure, detail: str) -> None:
    parser = parse(wire)
    assert parser.failure is failure
    assert parser.detail.startswith(detail)


# --- properties -------------------------------------------------------------------------

bodies = st.binary(max_size=300)
cuts = st.lists(st.integers(min_value=0, max_value=600), max_size=12)


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A valid response on the wire and the body it carries."""
    body = draw(bodies)
    framing = draw(st.sampled_from(["length", "chunked", "close", "gzip"]))
    head = b"HTTP/1.1 200 OK\r\nServer: x\r\n"
    if framing == "length":
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body, body
    if framing == "chunked":
        sizes = draw(st.lists(st.integers(min_value=1, max_value=64), max_size=8))
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(body, sizes), body
    if framing == "gzip":
        packed = gzip.compress(body)
        head += b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + chunked(packed, [7, 11]), body
    return head + b"\r\n" + body, body


@settings(max_examples=300, deadline=None)
@given(responses(), cuts)
def test_any_split_of_a_valid_response_parses_the_same(
    message: tuple[bytes, bytes], pieces: list[int]
) -> None:
    wire, body = message
    assert outcome(parse(wire, pieces=pieces)) == (None, "", 200, body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), cuts)
def test_arbitrary_bytes_never_raise_and_always_end(wire: bytes, pieces: list[int]) -> None:
    parser = parse(wire, cap=64, pieces=pieces)
    assert parser.done
    assert parser.failure is not None or parser.head is not None


@settings(max_examples=300, deadline=None)
@given(responses(), st.data())
def test_corrupted_responses_never_raise(message: tuple[bytes, bytes], data: st.DataObject) -> None:
    wire = bytearray(message[0])
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(wire) - 1))
        wire[at] = data.draw(st.integers(min_value=0, max_value=255))
    parser = parse(bytes(wire), cap=128, pieces=data.draw(cuts))
    assert parser.done
    if parser.failure is None:
        assert parser.head is not None
