#!/usr/bin/env python3
"""Writes the fuzz seeds under fuzz/seeds/<target>/.

Seeds are small real protocol exchanges (the RFC 6455 §5.7 examples, requests curl and
browsers send, responses nginx-style servers send). `cargo test --test fuzz_seeds` runs
every fuzzing function over them, and `cargo fuzz run TARGET fuzz/seeds/TARGET` starts from
them. Re-run after changing this file: python3 fuzz/make_seeds.py

The files named by a SHA-1 hash beside the named seeds are the minimized corpus of the
fuzzing runs (`-merge=1` over what the fuzzers found), kept so that plain `cargo test`
replays every input that reached new coverage.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(opcode, payload, fin=True, mask=None, rsv=0):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + bytes(mask) + payload
    return head + payload


K = b"\x37\xfa\x21\x3d"

SEEDS = {
    "request": {
        "get": b"GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
        "post_length": b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "post_chunked": b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\n",
        "pipelined": b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /c HTTP/1.0\r\n\r\n",
        "upgrade": b"GET /echo HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n",
        "smuggle_cl_te": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "connect": b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        "options_star": b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    },
    "response": {
        "ok_length": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
        "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n",
        "until_close": b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until close",
        "switching": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05Hello",
        "not_modified": b"HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\n\r\n",
        "continue_then_ok": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    },
    "frames": {
        "rfc_unmasked_hello": bytes.fromhex("810548656c6c6f"),
        "rfc_masked_hello": bytes.fromhex("818537fa213d7f9f4d5158"),
        "rfc_fragmented": bytes.fromhex("010348656c") + bytes.fromhex("80026c6f"),
        "rfc_ping_pong": bytes.fromhex("890548656c6c6f") + bytes.fromhex("8a8537fa213d7f9f4d5158"),
        "rfc_256_binary": bytes.fromhex("827e0100") + bytes(256),
        "len_64k": bytes.fromhex("827f0000000000010000") + bytes(65536),
        "close": frame(8, struct.pack(">H", 1000) + b"bye", mask=K),
    },
    "connection": {
        "text": frame(1, b"Hello", mask=K),
        "fragmented_with_ping": frame(1, b"Hel", fin=False, mask=K) + frame(9, b"p", mask=K)
        + frame(0, b"lo", mask=K),
        "binary_then_close": frame(2, bytes(range(200)), mask=K)
        + frame(8, struct.pack(">H", 1001) + b"going", mask=K),
        "invalid_utf8": frame(1, bytes.fromhex("cebae1bdb9cf83cebcceb5eda080656469746564"), mask=K),
        "unmasked": frame(1, b"Hello"),
        "rsv": frame(1, b"x", mask=K, rsv=4),
        "bad_close_code": frame(8, struct.pack(">H", 1005), mask=K),
    },
}


def capture_json(chunks, truncated=None, end_by="client"):
    """A finalized capture document (format v1) of (dir, bytes) chunks."""
    import json
    head = {"format": "wiretap-capture", "version": 1, "id": "seed", "start": "2026-01-01T00:00:00.000000Z",
            "client": "127.0.0.1:1", "server": "127.0.0.1:2"}
    lines = [json.dumps({"t": 100 * i, "dir": d, "hex": b.hex()}, separators=(",", ":"))
             for i, (d, b) in enumerate(chunks)]
    doc = json.dumps(head, separators=(",", ":"))[:-1] + ',"chunks":[\n' + ",\n".join(lines)
    doc += '\n],"truncated":' + json.dumps(truncated, separators=(",", ":"))
    doc += ',"end":{"t":%d,"by":"%s"}}\n' % (100 * len(chunks), end_by)
    return doc.encode()


def capture_partial(chunks):
    """A `.partial` (JSON Lines) capture without an end line: a crash."""
    import json
    head = {"format": "wiretap-capture", "version": 1, "id": "seed", "start": "2026-01-01T00:00:00.000000Z",
            "client": "127.0.0.1:1", "server": "127.0.0.1:2"}
    out = [json.dumps(head, separators=(",", ":"))]
    out += [json.dumps({"t": 100 * i, "dir": d, "hex": b.hex()}, separators=(",", ":"))
            for i, (d, b) in enumerate(chunks)]
    return ("\n".join(out) + "\n").encode()


UPGRADE = SEEDS["request"]["upgrade"]
SWITCH = SEEDS["response"]["switching"][:-7]
WS_CLIENT = frame(1, b"Hello", mask=K) + frame(2, bytes(range(200)), mask=K) \
    + frame(1, b"Hel", fin=False, mask=K) + frame(9, b"p", mask=K) + frame(0, b"lo", mask=K) \
    + frame(8, struct.pack(">H", 1000) + b"bye", mask=K)
WS_SERVER = frame(1, b"Hello") + frame(9, b"") + frame(8, struct.pack(">H", 1000))

SEEDS["capture"] = {
    "http_pipelined": capture_json([
        ("c2s", SEEDS["request"]["pipelined"]),
        ("s2c", SEEDS["response"]["chunked"]),
        ("s2c", SEEDS["response"]["ok_length"]),
        ("s2c", b"HTTP/1.0 200 OK\r\n\r\nbye"),
    ]),
    "websocket": capture_json([("c2s", UPGRADE), ("s2c", SWITCH), ("c2s", WS_CLIENT), ("s2c", WS_SERVER)]),
    "truncated": capture_json(
        [("c2s", SEEDS["request"]["get"]), ("s2c", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")],
        truncated={"reason": "connection-cap", "t": 150, "c2s": 78, "s2c": 41}),
    "errors": capture_json([("c2s", UPGRADE), ("s2c", SWITCH), ("c2s", SEEDS["connection"]["unmasked"]),
                            ("s2c", frame(1, b"x", mask=K))]),
    "crashed_partial": capture_partial([("c2s", SEEDS["request"]["post_chunked"]),
                                        ("s2c", SEEDS["response"]["continue_then_ok"])]),
    "empty": capture_json([]),
}

SEEDS["capture_streams"] = {
    # flags (bit 0: handshake first, bit 1: truncated), cut (of 256), then both streams.
    "http": b"\x00\x80" + SEEDS["request"]["pipelined"] + SEEDS["response"]["chunked"],
    "websocket": b"\x01\x80" + WS_CLIENT + WS_SERVER,
    "websocket_truncated": b"\x03\xa0" + WS_CLIENT + WS_SERVER[:5],
    "bad_frames": b"\x01\x40" + SEEDS["connection"]["rsv"] + SEEDS["connection"]["bad_close_code"],
}


def main():
    for target, seeds in SEEDS.items():
        folder = os.path.join(HERE, "seeds", target)
        os.makedirs(folder, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
