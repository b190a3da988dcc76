"""LCS: the longest common subsequence of two strings (Redis 7.0's dynamic programming).

The table walk and the order in which IDX ranges are emitted follow Redis, so ties pick
the same subsequence and the same ranges.
"""
from __future__ import annotations

from cluster.commands.args import NOT_INT, SYNTAX, string2ll
from cluster.resp.reply import ReplyError
from cluster.execution.table import command


def _table(a: bytes, b: bytes) -> list[list[int]]:
    """rows[i][j] = LCS length of a[:i] and b[:j]."""
    width = len(b) + 1
    prev = [0] * width
    rows = [prev]
    for ch in a:
        cur = [0] * width
        left = 0
        for j in range(1, width):
            if ch == b[j - 1]:
                left = prev[j - 1] + 1
            else:
                up = prev[j]
                if up > left:
                    left = up
            cur[j] = left
        rows.append(cur)
        prev = cur
    return rows


def _walk(a: bytes, b: bytes, rows, want_ranges: bool, min_len: int, with_len: bool):
    """Walk the table back from the end: the LCS bytes and the IDX match ranges."""
    alen, blen = len(a), len(b)
    size = rows[alen][blen]
    out = bytearray(size)
    ranges: list = []
    idx = size
    a_start, a_end, b_start, b_end = alen, 0, 0, 0   # a_start == alen: no open range
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            out[idx - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if rows[i - 1][j] > rows[i][j - 1]:
                i -= 1
            else:
                j -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if want_ranges and (min_len == 0 or match_len >= min_len):
                item = [[a_start, a_end], [b_start, b_end]]
                if with_len:
                    item.append(match_len)
                ranges.append(item)
            a_start = alen
    return bytes(out), ranges


@command("lcs", -3, "readonly", keys=(1, 2, 1), acl="@string", group="string",
         key_flags="RO ACCESS", summary="Find longest common substring", since="7.0.0",
         complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively")
def lcs(client, argv):
    db = client.db
    touch = not client.no_touch
    a = db.lookup_read(argv[1], touch)
    b = db.lookup_read(argv[2], touch)
    if (a is not None and a.__class__ is not bytes) or (
            b is not None and b.__class__ is not bytes):
        raise ReplyError("ERR The specified keys must contain string values")
    a = a or b""
    b = b or b""
    get_len = get_idx = with_len = False
    min_len = 0
    j = 3
    while j < len(argv):
        opt = argv[j].upper()
        if opt == b"IDX":
            get_idx = True
        elif opt == b"LEN":
            get_len = True
        elif opt == b"WITHMATCHLEN":
            with_len = True
        elif opt == b"MINMATCHLEN" and j < len(argv) - 1:
            min_len = string2ll(argv[j + 1])
            if min_len is None:
                raise ReplyError(NOT_INT)
            min_len = max(min_len, 0)
            j += 1
        else:
            raise ReplyError(SYNTAX)
        j += 1
    if get_len and get_idx:
        raise ReplyError("ERR If you want both the length and indexes, please just use IDX.")
    if 4 * (len(a) + 1) * (len(b) + 1) > client.node.config["proto-max-bulk-len"]:
        raise ReplyError("ERR Insufficient memory, transient memory for LCS exceeds "
                         "proto-max-bulk-len")
    rows = _table(a, b)
    if get_len:
        return rows[len(a)][len(b)]
    text, ranges = _walk(a, b, rows, get_idx, min_len, with_len)
    if get_idx:
        return {b"matches": ranges, b"len": rows[len(a)][len(b)]}
    return text
