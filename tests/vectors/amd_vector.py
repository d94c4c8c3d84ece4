#!/usr/bin/env python3
"""Independent reference for the AMD code of docs/primitives.md (not sharing code with
daemon/core/amd.c): prints the codeword for a fixed key, context and x, as used by
tests/unit/test_amd.c (test_golden_vector). Run: python3 tests/vectors/amd_vector.py"""

POLY = (1 << 128) | 0x87          # x^128 + x^7 + x^2 + x + 1


def gf_mul(a, b):
    """carry-less product reduced modulo POLY; integers, bit i = coefficient of x^i"""
    p = 0
    for i in range(128):
        if (b >> i) & 1:
            p ^= a << i
    for i in range(254, 127, -1):
        if (p >> i) & 1:
            p ^= POLY << (i - 128)
    return p


def blocks(data):
    data = data + bytes(-len(data) % 16)
    return [int.from_bytes(data[i:i + 16], "big") for i in range(0, len(data), 16)]


def field(b):
    return blocks(bytes([len(b)]) + b)


def context_blocks(key_id, init_kme, resp_kme, init_sae, resp_sae, n, k, key_len, codec):
    c = field(key_id)
    for name in (init_kme, resp_kme, init_sae, resp_sae):
        c += field(name.encode())
    c += blocks(bytes([n, k, key_len >> 8, key_len & 0xff, codec]))
    return c


def amd_tag(key, x, ctx):
    coeff = blocks(key) + context_blocks(*ctx)
    if len(coeff) % 2 == 0:
        coeff.append(0)
    D = len(coeff)
    t = 1                                   # x^(D+2) by repeated multiplication
    for _ in range(D + 2):
        t = gf_mul(t, x)
    xj = 1
    for j in range(1, D + 1):               # + sum c_j x^j
        xj = gf_mul(xj, x)
        t ^= gf_mul(coeff[j - 1], xj)
    return t, D


if __name__ == "__main__":
    key = bytes(range(0x20, 0x20 + 40))     # 40 bytes: 3 key blocks, the last one padded
    key_id = bytes(range(0xa0, 0xb0))
    ctx = (key_id, "client1", "client2", "client1_sae1", "client2_sae1", 5, 3, len(key), 1)
    x = bytes.fromhex("0123456789abcdeffedcba9876543210")
    t, D = amd_tag(key, int.from_bytes(x, "big"), ctx)
    print("D =", D)
    print("codeword =", (key + x + t.to_bytes(16, "big")).hex())
