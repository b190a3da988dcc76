"""BITFIELD and BITFIELD_RO: integer fields of 1..64 bits (u1..u63, i1..i64) in a string.

Overflow handling follows Redis 7.0 bitops.c, including its int64 arithmetic (the checks
are emulated with 64-bit wrap-around so that edge cases such as SET of a value far below
the type's minimum saturate exactly as Redis does).
"""
from __future__ import annotations

from cluster.commands.args import SYNTAX, string2ll
from cluster.commands.bitmaps import NOT_INT, bit_offset, grown, string_value
from cluster.keyspace.notify import STRING, notify
from cluster.resp.reply import ReplyError
from cluster.execution.table import command

BAD_TYPE = ("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
            "supported but i64 is.")
_WRAP, _SAT, _FAIL = 0, 1, 2
_OVERFLOWS = {b"WRAP": _WRAP, b"SAT": _SAT, b"FAIL": _FAIL}
_M64 = (1 << 64) - 1


def _s64(n: int) -> int:
    n &= _M64
    return n - (1 << 64) if n >> 63 else n


def _type(raw: bytes) -> tuple[bool, int]:
    head = raw[:1].lower()
    if head not in (b"i", b"u"):
        raise ReplyError(BAD_TYPE)
    signed = head == b"i"
    bits = string2ll(raw[1:])
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        raise ReplyError(BAD_TYPE)
    return signed, bits


def read_field(buf, offset: int, bits: int, signed: bool) -> int:
    """The field at bit `offset` (zero-padded past the end of `buf`)."""
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    chunk = bytes(buf[first:last + 1])
    width = (last - first + 1) << 3
    n = int.from_bytes(chunk.ljust(last - first + 1, b"\0"), "big")
    n = (n >> (width - (offset & 7) - bits)) & ((1 << bits) - 1)
    if signed and n >> (bits - 1):
        n -= 1 << bits
    return n


def write_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    width = (last - first + 1) << 3
    shift = width - (offset & 7) - bits
    mask = ((1 << bits) - 1) << shift
    n = int.from_bytes(buf[first:last + 1], "big")
    n = (n & ~mask) | ((value << shift) & mask)
    buf[first:last + 1] = n.to_bytes(last - first + 1, "big")


def _unsigned(value: int, incr: int, bits: int, owtype: int) -> tuple[int, int]:
    """(overflow, result) as checkUnsignedBitfieldOverflow; value is a uint64."""
    top = (1 << bits) - 1
    maxincr = _s64(top - value)
    minincr = _s64(-value)
    if value > top or (incr > 0 and incr > maxincr):
        limit = top
    elif incr < 0 and incr < minincr:
        limit = 0
    else:
        return 0, value + incr
    if owtype == _WRAP:
        limit = (value + incr) & top
    return 1, limit


def _signed(value: int, incr: int, bits: int, owtype: int) -> tuple[int, int]:
    """(overflow, result) as checkSignedBitfieldOverflow; value is an int64."""
    top = (1 << (bits - 1)) - 1
    low = -top - 1
    maxincr = _s64(top - value)
    minincr = _s64(low - value)
    if (value > top or (bits != 64 and incr > maxincr)
            or (value >= 0 and incr > 0 and incr > maxincr)):
        limit = top
    elif (value < low or (bits != 64 and incr < minincr)
          or (value < 0 and incr < 0 and incr < minincr)):
        limit = low
    else:
        return 0, value + incr
    if owtype == _WRAP:
        c = (value + incr) & ((1 << bits) - 1)
        limit = c - (1 << bits) if c >> (bits - 1) else c
    return 1, limit


def _parse(client, argv: list[bytes]) -> tuple[list[tuple], int]:
    """(ops, highest written bit or -1); an op is (opcode, signed, bits, offset, arg, ow)."""
    ops = []
    highest = -1
    owtype = _WRAP
    argc = len(argv)
    j = 2
    while j < argc:
        rem = argc - j - 1
        sub = argv[j].upper()
        if sub == b"GET" and rem >= 2:
            opcode = b"GET"
        elif sub in (b"SET", b"INCRBY") and rem >= 3:
            opcode = sub
        elif sub == b"OVERFLOW" and rem >= 1:
            owtype = _OVERFLOWS.get(argv[j + 1].upper())
            if owtype is None:
                raise ReplyError("ERR Invalid OVERFLOW type specified")
            j += 2
            continue
        else:
            raise ReplyError(SYNTAX)
        signed, bits = _type(argv[j + 1])
        offset = bit_offset(client, argv[j + 2], True, bits)
        arg = 0
        if opcode != b"GET":
            highest = max(highest, offset + bits - 1)
            arg = string2ll(argv[j + 3])
            if arg is None:
                raise ReplyError(NOT_INT)
        ops.append((opcode, signed, bits, offset, arg, owtype))
        j += 3 if opcode == b"GET" else 4
    return ops, highest


def _run(client, argv, readonly: bool):
    ops, highest = _parse(client, argv)
    db = client.db
    key = argv[1]
    if highest < 0:
        value = string_value(db.lookup_read(key, not client.no_touch))
        return [0 if value is None else read_field(value, op[3], op[2], op[1])
                for op in ops]
    if readonly:
        raise ReplyError("ERR BITFIELD_RO only supports the GET subcommand")
    old = string_value(db.lookup_write(key))
    buf = grown(old, (highest >> 3) + 1)
    out = []
    changes = 0
    for opcode, signed, bits, offset, arg, owtype in ops:
        if opcode == b"GET":
            out.append(read_field(buf, offset, bits, signed))
            continue
        oldval = read_field(buf, offset, bits, signed)
        check = _signed if signed else _unsigned
        if opcode == b"INCRBY":
            overflow, newval = check(oldval, arg, bits, owtype)
            reply = newval
        else:
            overflow, newval = check(arg if signed else arg & _M64, 0, bits, owtype)
            reply = oldval
        if overflow and owtype == _FAIL:
            out.append(None)
        else:
            out.append(reply)
            write_field(buf, offset, bits, newval & ((1 << bits) - 1))
            changes += 1
    db.store(key, bytes(buf), True)
    if changes:
        notify(client, STRING, b"setbit", key)
    return out


@command("bitfield", -2, "write denyoom", keys=(1, 1, 1), acl="@bitmap", group="bitmap",
         key_specs=({"notes": "This command allows both access and modification of the key",
                     "flags": ["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"],
                     "begin_search": {"type": "index", "spec": {"index": 1}},
                     "find_keys": {"type": "range",
                                   "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},),
         since="3.2.0", summary="Perform arbitrary bitfield integer operations on strings",
         complexity="O(1) for each subcommand specified")
def bitfield(client, argv):
    return _run(client, argv, False)


@command("bitfield_ro", -2, "readonly fast", keys=(1, 1, 1), acl="@bitmap", group="bitmap",
         key_flags="RO ACCESS", since="6.0.0",
         summary="Perform arbitrary bitfield integer operations on strings. Read-only variant "
                 "of BITFIELD", complexity="O(1) for each subcommand specified")
def bitfield_ro(client, argv):
    return _run(client, argv, True)
