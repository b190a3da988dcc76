"""Redis's HyperLogLog as a byte string (hyperloglog.c of Redis 7.0), pure functions.

Layout: a 16-byte header ("HYLL", encoding 0 = dense / 1 = sparse, 3 unused bytes, the
cached cardinality as 8 little-endian bytes whose top bit set means "stale"), then either
16384 six-bit registers packed little-endian (dense, 12288 bytes) or run-length opcodes
(sparse: ZERO 00xxxxxx, XZERO 01xxxxxx yyyyyyyy, VAL 1vvvvvxx). Sparse updates replay
Redis's in-place algorithm (split, then merge adjacent VALs) so that the bytes - and so
GET/DUMP - are the same as a real server's for the same PFADD/PFMERGE sequence.

Registers in "raw" form are a 16384-byte `bytes`, one register per byte.
"""
from __future__ import annotations

import math

P = 14
REGISTERS = 1 << P
Q = 64 - P
HDR = 16
DENSE_SIZE = HDR + (REGISTERS * 6 + 7) // 8
DENSE, SPARSE = 0, 1
MAGIC = b"HYLL"
ALPHA_INF = 0.721347520444481703680
SPARSE_VAL_MAX = 32
SPARSE_VAL_MAX_LEN = 4
SPARSE_ZERO_MAX_LEN = 64
_M64 = (1 << 64) - 1
_MUL = 0xC6A4A7935BD1E995
SEED = 0xADC83B19


class Corrupted(Exception):
    """The sparse opcodes do not describe exactly 16384 registers."""


def murmur64a(data: bytes, seed: int = SEED) -> int:
    n = len(data)
    h = (seed ^ (n * _MUL)) & _M64
    stop = n & ~7
    for i in range(0, stop, 8):
        k = int.from_bytes(data[i:i + 8], "little")
        k = (k * _MUL) & _M64
        k ^= k >> 47
        k = (k * _MUL) & _M64
        h ^= k
        h = (h * _MUL) & _M64
    if n & 7:
        h ^= int.from_bytes(data[stop:], "little")
        h = (h * _MUL) & _M64
    h ^= h >> 47
    h = (h * _MUL) & _M64
    h ^= h >> 47
    return h


def pat_len(element: bytes) -> tuple[int, int]:
    """(register index, run length of zeros + 1) of an element, as hllPatLen."""
    h = murmur64a(element)
    index = h & (REGISTERS - 1)
    h = (h >> P) | (1 << Q)
    return index, (h & -h).bit_length()


# -- empty values and header ---------------------------------------------------------

def empty_sparse() -> bytes:
    """A new HLL as PFADD creates it: sparse, one XZERO of 16384, cached count 0."""
    length = REGISTERS - 1
    return MAGIC + bytes([SPARSE, 0, 0, 0]) + bytes(8) + bytes([0x40 | (length >> 8),
                                                               length & 0xFF])


def is_valid(value: bytes) -> bool:
    """isHLLObjectOrReply's checks (the type was already checked to be a string)."""
    if len(value) < HDR or value[:4] != MAGIC or value[4] > SPARSE:
        return False
    return value[4] != DENSE or len(value) == DENSE_SIZE


def invalidate(buf: bytearray) -> None:
    buf[15] |= 0x80


def cached(value: bytes) -> int | None:
    if value[15] & 0x80:
        return None
    return int.from_bytes(value[8:16], "little")


# -- dense ---------------------------------------------------------------------------

def _table(fn) -> bytes:
    return bytes(fn(b) & 0xFF for b in range(256))


_LO6, _HI2, _LO4_SH2, _HI4 = (_table(lambda b: b & 63), _table(lambda b: b >> 6),
                              _table(lambda b: (b & 15) << 2), _table(lambda b: b >> 4))
_LO2_SH4, _HI6 = _table(lambda b: (b & 3) << 4), _table(lambda b: b >> 2)
_SH6_LO2, _SH2_HI4 = _table(lambda b: (b & 3) << 6), _table(lambda b: (b >> 2) & 15)
_SH4_LO4, _SH4_HI2 = _table(lambda b: (b & 15) << 4), _table(lambda b: (b >> 4) & 3)
_SH2 = _table(lambda b: b << 2)


def _or(a: bytes, b: bytes) -> bytes:
    """Byte-wise OR of two equal-length strings whose set bits do not overlap."""
    return (int.from_bytes(a, "big") | int.from_bytes(b, "big")).to_bytes(len(a), "big")


def dense_to_raw(regs) -> bytes:
    """The 12288 bytes of dense registers -> 16384 one-byte registers."""
    regs = bytes(regs)
    b0, b1, b2 = regs[0::3], regs[1::3], regs[2::3]
    out = bytearray(REGISTERS)
    out[0::4] = b0.translate(_LO6)
    out[1::4] = _or(b0.translate(_HI2), b1.translate(_LO4_SH2))
    out[2::4] = _or(b1.translate(_HI4), b2.translate(_LO2_SH4))
    out[3::4] = b2.translate(_HI6)
    return bytes(out)


def raw_to_dense(raw: bytes) -> bytes:
    r0, r1, r2, r3 = raw[0::4], raw[1::4], raw[2::4], raw[3::4]
    out = bytearray(DENSE_SIZE - HDR)
    out[0::3] = _or(r0, r1.translate(_SH6_LO2))
    out[1::3] = _or(r1.translate(_SH2_HI4), r2.translate(_SH4_LO4))
    out[2::3] = _or(r2.translate(_SH4_HI2), r3.translate(_SH2))
    return bytes(out)


def dense_get(buf, index: int) -> int:
    pos = HDR * 8 + index * 6
    b, fb = pos >> 3, pos & 7
    value = buf[b] >> fb
    if fb > 2:
        value |= buf[b + 1] << (8 - fb)
    return value & 63


def dense_set(buf: bytearray, index: int, count: int) -> bool:
    """Raise register `index` to `count`; True if it changed."""
    if dense_get(buf, index) >= count:
        return False
    pos = HDR * 8 + index * 6
    b, fb = pos >> 3, pos & 7
    buf[b] = (buf[b] & ~(63 << fb) & 0xFF) | ((count << fb) & 0xFF)
    if fb > 2:
        buf[b + 1] = (buf[b + 1] & ~(63 >> (8 - fb)) & 0xFF) | (count >> (8 - fb))
    return True


# -- sparse --------------------------------------------------------------------------
# An opcode is a list [kind, value, runlen]; kind 0 = ZERO, 1 = XZERO, 2 = VAL.
ZERO, XZERO, VAL = 0, 1, 2
_OPLEN = (1, 2, 1)


def sparse_ops(data) -> list[list[int]]:
    ops = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b & 0xC0 == 0:
            ops.append([ZERO, 0, (b & 63) + 1])
            i += 1
        elif b & 0xC0 == 0x40:
            if i + 1 >= n:
                raise Corrupted()
            ops.append([XZERO, 0, (((b & 63) << 8) | data[i + 1]) + 1])
            i += 2
        else:
            ops.append([VAL, ((b >> 2) & 31) + 1, (b & 3) + 1])
            i += 1
    return ops


def encode_ops(ops) -> bytes:
    out = bytearray()
    for kind, value, runlen in ops:
        if kind == ZERO:
            out.append(runlen - 1)
        elif kind == XZERO:
            out += bytes([0x40 | ((runlen - 1) >> 8), (runlen - 1) & 0xFF])
        else:
            out.append(0x80 | ((value - 1) << 2) | (runlen - 1))
    return bytes(out)


def ops_size(ops) -> int:
    return sum(_OPLEN[op[0]] for op in ops)


def sparse_to_raw(ops, strict_vals: bool = True) -> bytes:
    """Registers of a sparse HLL; Corrupted unless it covers exactly 16384 registers."""
    out = bytearray(REGISTERS)
    idx = 0
    for kind, value, runlen in ops:
        if kind == VAL:
            if strict_vals and idx + runlen > REGISTERS:
                raise Corrupted()
            out[idx:idx + runlen] = bytes([value]) * runlen
        idx += runlen
    if idx != REGISTERS:
        raise Corrupted()
    return bytes(out)


def _zeros(runlen: int) -> list[int]:
    return [XZERO, 0, runlen] if runlen > SPARSE_ZERO_MAX_LEN else [ZERO, 0, runlen]


def sparse_set(ops: list, size: int, index: int, count: int, max_bytes: int,
               hint: list | None = None):
    """hllSparseSet on the opcode list: returns (changed, new total size) or None when
    the HLL must be promoted to dense first (Corrupted if the opcodes are invalid).

    `hint`, a [opcode position, its first register] list, lets a caller that sets
    registers in increasing order start the search there; it is updated in place."""
    if count > SPARSE_VAL_MAX:
        return None
    p, first = hint if hint else (0, 0)
    n = len(ops)
    while p < n:
        if index <= first + ops[p][2] - 1:
            break
        first += ops[p][2]
        p += 1
    if p >= n:
        raise Corrupted()
    if hint is not None:     # the previous opcode keeps its start; later ones may merge
        hint[:] = (p - 1, first - ops[p - 1][2]) if p > 0 else (0, 0)
    kind, value, runlen = ops[p]
    if kind == VAL and value >= count:
        return False, size
    if runlen == 1 and kind != XZERO:
        ops[p] = [VAL, count, 1]
    else:
        last = first + runlen - 1
        seq = []
        if kind == VAL:
            if index != first:
                seq.append([VAL, value, index - first])
            seq.append([VAL, count, 1])
            if index != last:
                seq.append([VAL, value, last - index])
        else:
            if index != first:
                seq.append(_zeros(index - first))
            seq.append([VAL, count, 1])
            if index != last:
                seq.append(_zeros(last - index))
        delta = ops_size(seq) - _OPLEN[kind]
        if delta > 0 and size + delta > max_bytes:
            return None
        ops[p:p + 1] = seq
        size += delta
    # merge adjacent VALs of the same value, scanning up to 5 opcodes from the previous
    i = p - 1 if p > 0 else 0
    scan = 5
    while i < len(ops) and scan > 0:
        scan -= 1
        if ops[i][0] != VAL:
            i += 1
            continue
        if i + 1 < len(ops) and ops[i + 1][0] == VAL and ops[i][1] == ops[i + 1][1]:
            total = ops[i][2] + ops[i + 1][2]
            if total <= SPARSE_VAL_MAX_LEN:
                ops[i:i + 2] = [[VAL, ops[i][1], total]]
                size -= 1
                continue
        i += 1
    return True, size


# -- estimator -----------------------------------------------------------------------

def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        prev = z
        z += x * y
        y += y
        if prev == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        prev = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if prev == z:
            return z / 3


def estimate(histo: list[int]) -> int:
    """Ertl's improved estimator, as hllCount, from a 64-entry register histogram."""
    m = float(REGISTERS)
    z = m * _tau((m - histo[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = ALPHA_INF * m * m / z
    floor = math.floor(e)
    return int(floor + 1 if e - floor >= 0.5 else floor)


def raw_histogram(raw: bytes) -> list[int]:
    return [raw.count(bytes([v])) for v in range(64)]


def sparse_histogram(ops) -> list[int]:
    histo = [0] * 64
    idx = 0
    for kind, value, runlen in ops:
        histo[value] += runlen
        idx += runlen
    if idx != REGISTERS:
        raise Corrupted()
    return histo


def registers(value: bytes) -> bytes:
    """Raw registers of a valid HLL value (Corrupted for a bad sparse one)."""
    if value[4] == DENSE:
        return dense_to_raw(value[HDR:])
    return sparse_to_raw(sparse_ops(value[HDR:]))


def count(value: bytes) -> int:
    if value[4] == DENSE:
        return estimate(raw_histogram(dense_to_raw(value[HDR:])))
    return estimate(sparse_histogram(sparse_ops(value[HDR:])))


def merge_max(acc: bytes, raw: bytes) -> bytes:
    """Register-wise maximum of two raw register strings."""
    return bytes(map(max, acc, raw))
