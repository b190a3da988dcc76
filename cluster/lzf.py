"""LZF decompression (liblzf's format, as Redis writes compressed RDB strings).

A stream is a sequence of runs: a control byte < 32 means `ctrl + 1` literal bytes follow;
otherwise the top 3 bits are a length (7 means "add the next byte") and the low 5 bits
with the next byte a back-reference distance; `length + 2` bytes are copied from
`distance + 1` bytes back (the copy may overlap itself). Corrupt input gives None, never
an exception and never more than `expected_len` bytes.
"""
from __future__ import annotations


def decompress(data: bytes, expected_len: int) -> bytes | None:
    """The decompressed bytes if they are exactly `expected_len` long, else None."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if len(out) + run > expected_len or i + run > n:
                return None
            out += data[i:i + run]
            i += run
            continue
        length = ctrl >> 5
        if length == 7:
            if i >= n:
                return None
            length += data[i]
            i += 1
        if i >= n:
            return None
        ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        length += 2
        if len(out) + length > expected_len or ref < 0:
            return None
        end = ref + length
        if end <= len(out):
            out += out[ref:end]
        else:
            chunk = out[ref:]
            reps = -(-length // len(chunk))
            out += (chunk * reps)[:length]
    if len(out) != expected_len:
        return None
    return bytes(out)
