#!/usr/bin/env python3
"""Golden vectors for the DSKE wire codec, written from docs/protocol.md with struct.pack,
independently of the C code. tests/unit/test_wire.c builds the same messages, compares its
encodings with these files byte for byte and decodes them.

Run from the repository root: python3 tests/vectors/gen_wire.py  (rewrites tests/vectors/wire/).
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wire")


def name(s):
    b = s.encode("ascii")
    assert 1 <= len(b) <= 64
    return struct.pack(">B", len(b)) + b


def meta(key_id, init_kme, init_sae, resp_kme, resp_sae, n, k, x, codec, key_len, expiry):
    """key metadata; init_kme is None in SHARE_PUT (the frame's sender is the initiator)"""
    b = key_id
    if init_kme is not None:
        b += name(init_kme)
    b += name(init_sae) + name(resp_kme) + name(resp_sae)
    b += struct.pack(">BBBBHQ", n, k, x, codec, key_len, expiry)
    return b


KID1 = bytes(range(0x00, 0x10))
KID2 = bytes(range(0x10, 0x20))
KID3 = bytes(range(0x20, 0x30))
SHARE_BYTES = bytes(i & 0xFF for i in range(3 * 97))


def share_put():
    b = struct.pack(">H", 2)
    b += meta(KID1, None, "sae-a", "client2", "sae-b", 5, 3, 1, 1, 32, 1700000000)
    b += meta(KID2, None, "a@b:c+d", "c.2_x-y", "Z", 3, 2, 3, 1, 1, 0xFFFFFFFFFFFFFFFF)
    b += struct.pack(">Q", 0x0102030405060708)
    b += SHARE_BYTES[: (32 + 32) + (1 + 32)]
    return b


def status_list(req_mac_off, entries):
    b = struct.pack(">QH", req_mac_off, len(entries))
    for kid, st in entries:
        b += kid + struct.pack(">B", st)
    return b


def share_list():
    return struct.pack(">QIH", 7, 25000, 1024)


def share_list_reply(entries):
    b = struct.pack(">QQH", 1 << 40, 9, len(entries))
    for kid, ikme, isae, rsae, exp in entries:
        b += kid + name(ikme) + name(isae) + name(rsae) + struct.pack(">Q", exp)
    return b


def share_get():
    b = struct.pack(">H", 2)
    b += KID1 + name("sae-a") + name("sae-b")
    b += KID2 + name("a@b:c+d") + name("Z")
    return b


def share_deliver():
    b = struct.pack(">QH", 0xDEADBEEF, 3)
    b += struct.pack(">B", 0) + meta(KID1, "client1", "sae-a", "client2", "sae-b", 5, 3, 2, 1, 32, 1700000000)
    b += struct.pack(">B", 4) + KID2
    b += struct.pack(">B", 0) + meta(KID3, "client1", "sae-a", "client2", "sae-b", 255, 255, 255, 1, 1024, 42)
    b += struct.pack(">Q", 65536)
    b += bytes((i * 7) & 0xFF for i in range((32 + 32) + (1024 + 32)))
    return b


def stream_status():
    return struct.pack(">QQQQQII", 0, 1 << 20, 64 << 20, 4096, 64 << 20, 1, 2)


def stream_status_reply():
    return struct.pack(">QQQQQII", 12345, 2 << 20, 128 << 20, 8192, 128 << 20, 2, 2)


def error():
    msg = b"PSRD exhausted on c2h"
    return struct.pack(">QHB", 777, 3, len(msg)) + msg


def error_empty():
    return struct.pack(">QHB", 0, 1, 0)


def frame(type_, sender, receiver, txn, mac_off, body, tag):
    hdr = b"DSKE" + struct.pack(">BBHI", 1, type_, 0, len(body))
    hdr += name(sender) + name(receiver) + txn + struct.pack(">Q", mac_off)
    return hdr + body + tag


VECTORS = {
    "share_put.bin": share_put(),
    "share_put_ack.bin": status_list(4096, [(KID1, 0), (KID2, 1), (KID3, 2)]),
    "share_release.bin": status_list(0, [(KID1, 0)]),
    "share_status_reply.bin": status_list(99, [(KID1, 7), (KID2, 8), (KID3, 9)]),
    "share_list.bin": share_list(),
    "share_list_reply.bin": share_list_reply([
        (KID1, "client1", "sae-a", "sae-b", 1700000000),
        (KID2, "c" * 64, "S" * 64, "x", 1),
    ]),
    "share_list_reply_empty.bin": share_list_reply([]),
    "share_get.bin": share_get(),
    "share_deliver.bin": share_deliver(),
    "stream_status.bin": stream_status(),
    "stream_status_reply.bin": stream_status_reply(),
    "error.bin": error(),
    "error_empty.bin": error_empty(),
    "frame_share_list.bin": frame(3, "client1", "hub1", bytes(range(0xF0, 0x100)), 123456,
                                  share_list(), bytes(range(0xA0, 0xB0))),
    "frame_empty_body.bin": frame(13, "h", "c", bytes(16), 0xFFFFFFFFFFFFFFFF, b"",
                                  bytes(16)),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for fname, data in sorted(VECTORS.items()):
        with open(os.path.join(OUT, fname), "wb") as f:
            f.write(data)
        print(f"{fname}: {len(data)} bytes")


if __name__ == "__main__":
    main()
