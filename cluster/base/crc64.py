"""CRC-64/Jones as Redis computes it (crc64.c): reflected, poly 0xad93d23594c935a9, init 0.

The check value of b"123456789" is 0xe9c6d914c4b8d9ca. DUMP payloads end with this CRC
(little endian) over everything before it. crcmod's C extension does the work when it is
installed (it is a project dependency); `crc64_py` is the table-driven pure-Python version,
eight bytes per step, kept as the fallback and as a cross-check in tests.
"""
from __future__ import annotations

import crcmod

POLY_REFLECTED = 0x95AC9329AC4BC9B5


def _make_tables() -> list[list[int]]:
    base = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ POLY_REFLECTED if crc & 1 else crc >> 1
        base.append(crc)
    tables = [base]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ base[prev[i] & 0xFF] for i in range(256)])
    return tables


_T = _make_tables()


def crc64_py(data: bytes, crc: int = 0) -> int:
    """Slicing-by-8 CRC-64/Jones in pure Python."""
    t0, t1, t2, t3, t4, t5, t6, t7 = _T
    n = len(data)
    head = n - n % 8
    mv = memoryview(data)
    from_bytes = int.from_bytes
    for i in range(0, head, 8):
        x = crc ^ from_bytes(mv[i:i + 8], "little")
        crc = (t7[x & 0xFF] ^ t6[(x >> 8) & 0xFF] ^ t5[(x >> 16) & 0xFF]
               ^ t4[(x >> 24) & 0xFF] ^ t3[(x >> 32) & 0xFF] ^ t2[(x >> 40) & 0xFF]
               ^ t1[(x >> 48) & 0xFF] ^ t0[x >> 56])
    for b in mv[head:]:
        crc = t0[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


_crc64_c = crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True, xorOut=0)


def crc64(data: bytes, crc: int = 0) -> int:
    """CRC of `data`, continuing from `crc` (the CRC of what came before), computed by
    crcmod's C extension; `crc64_py` is the same function in Python (the tests compare)."""
    return _crc64_c(data, crc)
