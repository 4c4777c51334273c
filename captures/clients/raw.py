#!/usr/bin/env python3
"""Raw-socket scenarios for record-corpus.sh: pipelining and hostile input.

    raw.py SCENARIO HOST:PORT

The bytes are written by hand on purpose: no client library would send them. Each scenario
checks what the server answered and exits 0, or prints what it expected and what it got and
exits 1. Every wait is bounded.
"""

import base64
import os
import select
import socket
import struct
import sys
import threading
import time

TIMEOUT = 10  # seconds, for every single wait


class Unexpected(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Unexpected(f"{what}: expected {want!r}, got {got!r}")


def dial(addr):
    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class Reader:
    """Buffered reads with a bound on every wait."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def fill(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def take(self, n):
        while len(self.buf) < n:
            if not self.fill():
                raise Unexpected(f"connection ended after {len(self.buf)} of {n} bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def until(self, marker):
        while marker not in self.buf:
            if not self.fill():
                raise Unexpected(f"connection ended before {marker!r}: {self.buf[:200]!r}")
        at = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:at], self.buf[at:]
        return out

    def rest(self):
        """Everything until EOF (the server closes)."""
        while self.fill():
            pass
        out, self.buf = self.buf, b""
        return out


def response(reader, head_only=False):
    """(status, headers dict with lowercase names, body) of one response."""
    head = reader.until(b"\r\n\r\n").decode("latin-1")
    lines = head.split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if head_only or status in (100, 101, 204, 304):
        return status, headers, b""
    if "content-length" in headers:
        return status, headers, reader.take(int(headers["content-length"]))
    return status, headers, reader.rest()


def answered_and_closed(addr, request, status, why):
    """Sends `request`, expects one response with `status`, then the server's close."""
    sock = dial(addr)
    reader = Reader(sock)
    sock.sendall(request)
    got, headers, _ = response(reader)
    expect(f"{why}: status", got, status)
    # A rejected request ends the connection: nothing more may follow.
    expect(f"{why}: bytes after the response", reader.rest(), b"")
    sock.close()


def answered(addr, request, status, why):
    """Sends `request`, expects `status` (the connection may stay open), then closes."""
    sock = dial(addr)
    reader = Reader(sock)
    sock.sendall(request)
    got, _, _ = response(reader)
    expect(f"{why}: status", got, status)
    sock.close()


# --- HTTP ------------------------------------------------------------------------------

def pipelining(addr):
    paths = ["/", "/hello.txt", "/sub/"]
    sock = dial(addr)
    reader = Reader(sock)
    requests = b"".join(
        f"GET {p} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: wiretap-corpus-pipeliner\r\n\r\n".encode()
        for p in paths
    )
    sock.sendall(requests)  # all three in one write
    for path in paths:
        status, _, _ = response(reader)
        expect(f"GET {path}", status, 200)
    sock.close()


def request_with(addr, head, body=b""):
    return head.replace("{addr}", addr).encode() + body


def cl_te(addr):
    answered_and_closed(
        addr,
        request_with(
            addr,
            "POST /hello.txt HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 4\r\n"
            "Transfer-Encoding: chunked\r\n\r\n",
            b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
        400,
        "Content-Length + Transfer-Encoding",
    )


def two_content_lengths(addr):
    answered_and_closed(
        addr,
        request_with(
            addr,
            "POST /hello.txt HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 5\r\n"
            "Content-Length: 45\r\n\r\n",
            b"hello" + b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
        400,
        "two differing Content-Lengths",
    )


def bare_lf(addr):
    answered_and_closed(
        addr, request_with(addr, "GET /hello.txt HTTP/1.1\nHost: {addr}\n\n"), 400, "bare LF"
    )


def obs_fold(addr):
    answered_and_closed(
        addr,
        request_with(
            addr,
            "GET /hello.txt HTTP/1.1\r\nHost: {addr}\r\nX-Folded: first\r\n  second\r\n\r\n",
        ),
        400,
        "obs-fold",
    )


def traversal(target, status):
    def scenario(addr):
        answered(
            addr,
            request_with(addr, f"GET {target} HTTP/1.1\r\nHost: {{addr}}\r\nConnection: close\r\n\r\n"),
            status,
            f"GET {target}",
        )

    return scenario


def long_request_line(addr):
    target = "/" + "a" * (10 * 1024)
    answered_and_closed(
        addr,
        request_with(addr, f"GET {target} HTTP/1.1\r\nHost: {{addr}}\r\n\r\n"),
        414,
        "10 KiB request line",
    )


def big_headers(addr):
    fields = "".join(f"X-Filler-{i:02d}: {'b' * 1000}\r\n" for i in range(20))
    answered_and_closed(
        addr,
        request_with(addr, f"GET /hello.txt HTTP/1.1\r\nHost: {{addr}}\r\n{fields}\r\n"),
        431,
        "20 KiB of header fields",
    )


def http2(addr):
    answered_and_closed(
        addr, request_with(addr, "GET / HTTP/2.0\r\nHost: {addr}\r\n\r\n"), 505, "HTTP/2.0"
    )


def torn(addr):
    # Half a request, then a reset (SO_LINGER 0): the server sees ECONNRESET mid-head.
    sock = dial(addr)
    sock.sendall(request_with(addr, "GET /hello.txt HTTP/1.1\r\nHost: {addr}\r\nUser-Ag"))
    time.sleep(0.3)  # let the server read the half on its own
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def slowloris(addr):
    # One byte every 200 ms of an endless head; the server (started with
    # --header-timeout 1s) must answer 408 and close well before we give up.
    sock = dial(addr)
    sock.sendall(request_with(addr, "GET /hello.txt HTTP/1.1\r\nHost: {addr}\r\n"))
    started = time.monotonic()
    trickle = b"X-Slow: " + b"z" * 1000
    sent = 0
    while time.monotonic() - started < TIMEOUT:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            break
        try:
            sock.send(trickle[sent : sent + 1])
        except OSError:
            break
        sent += 1
    waited = time.monotonic() - started
    reader = Reader(sock)
    status, _, _ = response(reader)
    expect("slowloris status", status, 408)
    expect("slowloris: bytes after the 408", reader.rest(), b"")
    if waited > 3:
        raise Unexpected(f"slowloris: the 408 came after {waited:.1f}s, not about 1s")
    sock.close()


# --- WebSocket -------------------------------------------------------------------------

KEY = base64.b64encode(b"wiretap-corpus-k").decode()  # 16 bytes, fixed


def ws_open(addr, path="/echo"):
    sock = dial(addr)
    reader = Reader(sock)
    sock.sendall(
        request_with(
            addr,
            f"GET {path} HTTP/1.1\r\nHost: {{addr}}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
    )
    status, _, _ = response(reader, head_only=True)
    expect("handshake", status, 101)
    return sock, reader


def frame(opcode, payload, masked=True, fin=True, length=None):
    """One frame; `length` overrides the encoded payload length (for lies)."""
    n = len(payload) if length is None else length
    out = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if n < 126:
        out += bytes([mask_bit | n])
    elif n < 65536:
        out += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        out += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if masked:
        key = b"\x37\xfa\x21\x3d"  # fixed: the same bytes on every run
        out += key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    else:
        out += payload
    return out


def read_frame(reader):
    b0, b1 = reader.take(2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", reader.take(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", reader.take(8))
    if b1 & 0x80:
        raise Unexpected("the server masked a frame")
    return b0 & 0x0F, reader.take(n)


def expect_close(sock, reader, code, why):
    """Reads frames up to the server's close, checks its code, answers it, waits for EOF."""
    while True:
        opcode, payload = read_frame(reader)
        if opcode == 0x8:
            break
    got = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    expect(f"{why}: close code", got, code)
    try:
        sock.sendall(frame(0x8, payload[:2]))  # echo the code: the closing handshake
    except OSError:
        pass  # the server may already have closed its side
    expect(f"{why}: bytes after the close", reader.rest(), b"")
    sock.close()


def ws_bad_utf8(addr):
    sock, reader = ws_open(addr)
    sock.sendall(frame(0x1, b"valid, then \xc3\x28 invalid"))
    expect_close(sock, reader, 1007, "invalid UTF-8 in a text frame")


def ws_unmasked(addr):
    sock, reader = ws_open(addr)
    sock.sendall(frame(0x1, b"not masked", masked=False))
    expect_close(sock, reader, 1002, "unmasked client frame")


def ws_oversized(addr):
    # A header announcing 17 MiB (over the default 16 MiB --max-frame) and a few bytes of
    # it: the server must refuse on the header, without waiting for the payload.
    sock, reader = ws_open(addr)
    header = frame(0x2, b"", length=17 << 20)[:-4] + b"\x37\xfa\x21\x3d"
    sock.sendall(header + bytes(64))
    expect_close(sock, reader, 1009, "17 MiB frame header")


SCENARIOS = {
    "pipelining": pipelining,
    "cl-te": cl_te,
    "two-content-lengths": two_content_lengths,
    "bare-lf": bare_lf,
    "obs-fold": obs_fold,
    "traversal-dotdot": traversal("/../../../etc/passwd", 404),
    "traversal-pct2e": traversal("/%2e%2e/%2e%2e/etc/passwd", 404),
    "traversal-pct2f": traversal("/..%2f..%2f..%2fetc/passwd", 404),
    "nul": traversal("/hello.txt%00.html", 400),
    "long-request-line": long_request_line,
    "big-headers": big_headers,
    "http2": http2,
    "torn": torn,
    "slowloris": slowloris,
    "ws-bad-utf8": ws_bad_utf8,
    "ws-unmasked": ws_unmasked,
    "ws-oversized-frame": ws_oversized,
}


def _give_up(name):
    print(f"UNEXPECTED raw {name}: still running after {3 * TIMEOUT}s, given up", flush=True)
    os._exit(3)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: raw.py {{{','.join(SCENARIOS)}}} HOST:PORT")
    name, addr = sys.argv[1], sys.argv[2]
    watchdog = threading.Timer(3 * TIMEOUT, lambda: _give_up(name))
    watchdog.daemon = True
    watchdog.start()
    try:
        SCENARIOS[name](addr)
    except (Unexpected, OSError, ValueError, IndexError) as e:
        print(f"UNEXPECTED raw {name}: {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"ok raw {name}")


if __name__ == "__main__":
    main()
