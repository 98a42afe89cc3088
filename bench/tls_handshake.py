"""What one HTTPS request with a full handshake costs the client, by TLS library.

    .venv/bin/python bench/tls_handshake.py                  # CPU per request, 3,000 each
    .venv/bin/python bench/tls_handshake.py --instructions   # and instructions, by callgrind

`ssl` is Python's ssl module on the system's OpenSSL (Debian 12: 3.0); `lean` is what
Vakt's probes use, `monitor.probes.lean.tls` on the OpenSSL in cryptography's wheel. Both
run the same blocking loop on CPU 0: connect, full handshake with verification of chain
and name, `GET /`, read the response, close. The server is `openssl s_server` on CPU 1
with an ECDSA P-256 certificate from Vakt's own test CA, offering TLS 1.2 and 1.3.
`--instructions` runs each library under `valgrind --tool=callgrind` twice (N and N + 200
requests) and prints the difference per request: a count that does not depend on what
else the machine is doing. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.demo.targets.certs import CertFactory, CertKind  # noqa: E402
from monitor.probes.lean.tls import TlsContext  # noqa: E402

CLIENT_CPU, SERVER_CPU = 0, 1
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
NAME = "localhost"


def _request_with_ssl(port: int, ca_file: str) -> Callable[[], None]:
    context = ssl.create_default_context()
    context.load_verify_locations(ca_file)

    def request() -> None:
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            context.wrap_socket(raw, server_hostname=NAME) as tls,
        ):
            tls.sendall(REQUEST)
            while tls.recv(65536):
                pass

    return request


def _request_with_lean(port: int, ca_file: str) -> Callable[[], None]:
    context = TlsContext(ca_file)

    def request() -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            tls = context.connect(NAME)
            while not tls.handshake():
                sock.sendall(tls.outgoing())
                tls.feed(sock.recv(65536))
            tls.write(REQUEST)
            sock.sendall(tls.outgoing())
            while True:
                data = tls.read()
                if data == b"":
                    break
                if data is None:
                    received = sock.recv(65536)
                    if not received:
                        break
                    tls.feed(received)

    return request


LIBRARIES = {"ssl": _request_with_ssl, "lean": _request_with_lean}


def _measure(library: str, port: int, ca_file: str, count: int) -> None:
    """Run in a child process: warm up, then `count` requests; print CPU per request."""
    os.sched_setaffinity(0, {CLIENT_CPU})
    request = LIBRARIES[library](port, ca_file)
    for _ in range(20):
        request()
    before = os.times()
    for _ in range(count):
        request()
    after = os.times()
    user, system = after.user - before.user, after.system - before.system
    print(f"{user / max(count, 1) * 1000:.3f} {system / max(count, 1) * 1000:.3f}")


@contextmanager
def _server(directory: Path) -> Iterator[tuple[int, str]]:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SystemExit("needs the openssl command (Debian package openssl)")
    certs = CertFactory(directory)
    cert = certs.issue(CertKind.VALID)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["taskset", "-c", str(SERVER_CPU), openssl, "s_server", "-quiet", "-www"]
    command += ["-accept", f"127.0.0.1:{port}", "-cert", cert, "-key", cert]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port, certs.ca_file
    finally:
        server.terminate()
        server.wait(10)


def _child(library: str, port: int, ca_file: str, count: int, tool: list[str]) -> str:
    command = [*tool, sys.executable, __file__, "--child", library, str(port), ca_file]
    command.append(str(count))
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return done.stdout + done.stderr


def _instructions(library: str, port: int, ca_file: str, count: int, out: Path) -> float:
    totals = []
    for n in (count, count + 200):
        tool = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/{library}.{n}"]
        found = re.search(r"Collected : (\d+)", _child(library, port, ca_file, n, tool))
        if found is None:
            raise SystemExit("valgrind printed no instruction count")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--instructions", action="store_true", help="count them (valgrind)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        library, port, ca_file, count = args.child
        _measure(library, int(port), ca_file, int(count))
        return
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian package valgrind)")
    print(f"ssl module      {ssl.OPENSSL_VERSION}")
    from OpenSSL import SSL

    print(f"lean            {SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode()}")
    with tempfile.TemporaryDirectory() as name, _server(Path(name)) as (port, ca_file):
        for library in LIBRARIES:
            user, system = map(float, _child(library, port, ca_file, args.requests, []).split())
            line = f"{library:<15} CPU per request {user + system:.3f} ms"
            line += f" (user {user:.3f}, kernel {system:.3f})"
            if args.instructions:
                count = _instructions(library, port, ca_file, 20, Path(name))
                line += f"   {count / 1e6:.2f} million instructions per request"
            print(line)


if __name__ == "__main__":
    main()
