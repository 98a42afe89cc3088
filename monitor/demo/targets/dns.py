"""A tiny authoritative DNS server over UDP (hand-rolled wire format) for tests and demos.

Answers A, AAAA, CNAME, MX, TXT and NS from a mutable `Zone`; unknown names get
NXDOMAIN, known names without the asked type an empty answer (NODATA).
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from dataclasses import dataclass, field
from typing import cast

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "MX": 15, "TXT": 16, "AAAA": 28}
_NAMES = {code: name for name, code in TYPES.items()}
NOERROR, FORMERR, NXDOMAIN = 0, 1, 3


@dataclass(slots=True)
class Zone:
    """Records by (lower-case name without the final dot, type); change it at any time."""

    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    queries: int = 0
    ttl: int = 30  # resolvers (c-ares too) cache answers this long; 0: never

    def add(self, name: str, rtype: str, *values: str) -> None:
        self.records.setdefault((_key(name), rtype.upper()), []).extend(values)

    def set(self, name: str, rtype: str, *values: str) -> None:
        self.records[(_key(name), rtype.upper())] = list(values)

    def knows(self, name: str) -> bool:
        return any(n == name for n, _ in self.records)

    def lookup(self, name: str, rtype: str) -> list[tuple[str, str, str]]:
        """(owner, type, value) answers, following one CNAME like a resolver would."""
        direct = self.records.get((name, rtype))
        if direct is not None or rtype == "CNAME":
            return [(name, rtype, v) for v in direct or ()]
        aliases = self.records.get((name, "CNAME"), [])
        if not aliases:
            return []
        target = _key(aliases[0])
        answers = [(name, "CNAME", aliases[0])]
        return answers + [(target, rtype, v) for v in self.records.get((target, rtype), ())]


def _key(name: str) -> str:
    return name.rstrip(".").lower()


def encode_name(name: str) -> bytes:
    out = b""
    for label in _key(name).split("."):
        if label:
            raw = label.encode("idna")
            out += bytes([len(raw)]) + raw
    return out + b"\x00"


def _rdata(rtype: str, value: str) -> bytes:
    if rtype in ("A", "AAAA"):
        return ipaddress.ip_address(value).packed
    if rtype in ("CNAME", "NS"):
        return encode_name(value)
    if rtype == "MX":
        priority, _, exchange = value.partition(" ")
        return struct.pack("!H", int(priority)) + encode_name(exchange)
    raw = value.encode()
    return b"".join(
        bytes([len(raw[i : i + 255])]) + raw[i : i + 255] for i in range(0, len(raw) or 1, 255)
    )


def _question(packet: bytes) -> tuple[str, int, int]:
    """(name, qtype, end offset) of the first question."""
    labels, offset = [], 12
    while packet[offset]:
        length = packet[offset]
        labels.append(packet[offset + 1 : offset + 1 + length].decode("latin-1"))
        offset += 1 + length
    qtype = struct.unpack_from("!H", packet, offset + 1)[0]
    return ".".join(labels).lower(), qtype, offset + 5


def answer(zone: Zone, packet: bytes) -> bytes | None:
    """The response to one query packet, or None for garbage."""
    if len(packet) < 17:
        return None
    try:
        name, qtype, end = _question(packet)
    except (IndexError, struct.error):
        return None
    zone.queries += 1
    rtype = _NAMES.get(qtype)
    found = zone.lookup(name, rtype) if rtype else []
    rcode = NOERROR if found or zone.knows(name) else NXDOMAIN
    flags = 0x8400 | (packet[2] & 0x01) << 8 | rcode  # QR, AA, copy RD
    header = packet[:2] + struct.pack("!HHHHH", flags, 1, len(found), 0, 0)
    records = b""
    for owner, kind, value in found:
        rdata = _rdata(kind, value)
        records += encode_name(owner) + struct.pack("!HHIH", TYPES[kind], 1, zone.ttl, len(rdata))
        records += rdata
    return header + packet[12:end] + records


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's datagram transports do not all subclass DatagramTransport
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = answer(self.zone, data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class DnsServer:
    """`async with DnsServer(zone) as server:` listens on `server.host`:`server.port` (UDP)."""

    def __init__(self, zone: Zone | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.zone = zone if zone is not None else Zone()
        self.host = host
        self.port = port
        self._transport: asyncio.DatagramTransport | None = None

    async def __aenter__(self) -> DnsServer:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self.zone), local_addr=(self.host, self.port)
        )
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._transport is not None:
            self._transport.close()
