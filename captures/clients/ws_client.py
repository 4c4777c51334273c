#!/usr/bin/env python3
"""WebSocket scenarios for record-corpus.sh, spoken by the `websockets` library (a real client).

    ws_client.py SCENARIO HOST:PORT

Each scenario opens the connection(s) it needs, checks what the server answered and exits 0,
or prints what it expected and what it got and exits 1. Every wait is bounded.
"""

import os
import sys
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

TIMEOUT = 10  # seconds, for every single wait


class Unexpected(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Unexpected(f"{what}: expected {want!r}, got {got!r}")


def ws(addr, path="/echo", **kwargs):
    # No proxy (loopback only), no keepalive pings of our own (they would add frames at
    # random times), bounded handshake and close.
    options = dict(
        proxy=None,
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        ping_interval=None,
        max_size=None,
    )
    options.update(kwargs)
    return connect(f"ws://{addr}{path}", **options)


def close_code(conn):
    """(code, reason) the server sent in its close frame."""
    received = conn.protocol.close_rcvd
    return (received.code, received.reason) if received else None


def text_echo(addr):
    with ws(addr) as conn:
        for message in ["hello, wiretap", "ünïcödé ✓ 🎉", ""]:
            conn.send(message)
            expect("echo", conn.recv(timeout=TIMEOUT), message)
    expect("close", close_code(conn), (1000, ""))


def binary_echo(addr):
    payload = bytes(range(256))
    with ws(addr) as conn:
        conn.send(payload)
        expect("echo", conn.recv(timeout=TIMEOUT), payload)
        conn.send(b"\x00")
        expect("echo", conn.recv(timeout=TIMEOUT), b"\x00")
    expect("close", close_code(conn), (1000, ""))


def fragmented(addr):
    # An iterable is sent as one fragmented message: one frame per piece.
    pieces = ["frag-one ", "frag-two ", "frag-three"]
    with ws(addr) as conn:
        conn.send(pieces)
        expect("echo", conn.recv(timeout=TIMEOUT), "".join(pieces))
        binary = [b"\x01\x02", b"\x03", b"\x04\x05\x06"]
        conn.send(binary)
        expect("echo", conn.recv(timeout=TIMEOUT), b"".join(binary))
    expect("close", close_code(conn), (1000, ""))


def ping(addr):
    with ws(addr) as conn:
        for data in [b"", b"ping-payload", bytes(125)]:
            pong = conn.ping(data)
            if not pong.wait(TIMEOUT):
                raise Unexpected(f"no pong for ping {data[:16]!r} within {TIMEOUT}s")
        # A message after the pings: the connection is still usable.
        conn.send("after pings")
        expect("echo", conn.recv(timeout=TIMEOUT), "after pings")
    expect("close", close_code(conn), (1000, ""))


def close_with(code, reason):
    def scenario(addr):
        conn = ws(addr)
        conn.send("bye soon")
        expect("echo", conn.recv(timeout=TIMEOUT), "bye soon")
        conn.close(code, reason)
        # The server echoes the client's close code (RFC 6455 §5.5.1).
        got = close_code(conn)
        if got is None or got[0] != code:
            raise Unexpected(f"close reply: expected code {code}, got {got!r}")

    return scenario


def one_mib(addr):
    # Fixed content: the 1 MiB message is the same on every run (only the mask differs).
    payload = bytes(range(256)) * 4096
    with ws(addr) as conn:
        conn.send(payload)
        echo = conn.recv(timeout=TIMEOUT)
        expect("echo length", len(echo), len(payload))
        expect("echo bytes", echo == payload, True)
    expect("close", close_code(conn), (1000, ""))


def chat(addr):
    # Two members: `a` joins first, then `b`; each says something; both see both lines in
    # the same order (the room is one queue). `b` leaves first.
    with ws(addr, "/chat") as a:
        with ws(addr, "/chat") as b:
            a.send("a: hello room")
            expect("a sees a", a.recv(timeout=TIMEOUT), "a: hello room")
            expect("b sees a", b.recv(timeout=TIMEOUT), "a: hello room")
            b.send("b: hi a")
            expect("a sees b", a.recv(timeout=TIMEOUT), "b: hi a")
            expect("b sees b", b.recv(timeout=TIMEOUT), "b: hi a")
        expect("b close", close_code(b), (1000, ""))
    expect("a close", close_code(a), (1000, ""))


def chat_binary(addr):
    # Binary is refused in the chat room with close 1003.
    conn = ws(addr, "/chat")
    conn.send(b"\x00\x01binary")
    try:
        conn.recv(timeout=TIMEOUT)
        raise Unexpected("chat answered a binary message instead of closing")
    except ConnectionClosed:
        pass
    got = close_code(conn)
    expect("close code", got and got[0], 1003)


SCENARIOS = {
    "text-echo": text_echo,
    "binary-echo": binary_echo,
    "fragmented": fragmented,
    "ping": ping,
    "close-1000": close_with(1000, ""),
    "close-1001": close_with(1001, "going away"),
    "close-4000": close_with(4000, "custom: done here"),
    "1mib": one_mib,
    "chat": chat,
    "chat-binary": chat_binary,
}


def _give_up(name):
    print(f"UNEXPECTED ws {name}: still running after {4 * TIMEOUT}s, given up", flush=True)
    os._exit(3)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: ws_client.py {{{','.join(SCENARIOS)}}} HOST:PORT")
    name, addr = sys.argv[1], sys.argv[2]
    # A hung scenario must not hang the recorder: a watchdog ends the process.
    watchdog = threading.Timer(4 * TIMEOUT, lambda: _give_up(name))
    watchdog.daemon = True
    watchdog.start()
    try:
        SCENARIOS[name](addr)
    except (Unexpected, ConnectionClosed, TimeoutError, OSError) as e:
        print(f"UNEXPECTED ws {name}: {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"ok ws {name}")


if __name__ == "__main__":
    main()
