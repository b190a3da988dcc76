"""Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP (Redis 7.0 bitops.c).

Strings are immutable `bytes` in the keyspace, so a change builds the new value and stores
it with its TTL kept (as SETRANGE does). Bit 0 is the most significant bit of byte 0.
BITFIELD / BITFIELD_RO live in `cluster.commands.bitfield`.
"""
from __future__ import annotations

from cluster.commands.args import SYNTAX, string2ll
from cluster.keyspace.databases import WRONGTYPE
from cluster.keyspace.notify import GENERIC, STRING, notify
from cluster.resp.reply import ReplyError
from cluster.execution.table import command

BAD_OFFSET = "ERR bit offset is not an integer or out of range"
BAD_BIT = "ERR bit is not an integer or out of range"
NOT_INT = "ERR value is not an integer or out of range"
INT64_MAX = (1 << 63) - 1


def string_value(value) -> bytes | None:
    if value is None or value.__class__ is bytes:
        return value
    raise ReplyError(WRONGTYPE)


def bit_offset(client, raw: bytes, hash_ok: bool = False, bits: int = 0) -> int:
    """Redis's getBitOffsetFromArgument: a bit offset (or '#n' * bits for BITFIELD)."""
    usehash = hash_ok and bits > 0 and raw[:1] == b"#"
    offset = string2ll(raw[1:] if usehash else raw)
    if offset is None:
        raise ReplyError(BAD_OFFSET)
    if usehash:
        offset *= bits
        if not -INT64_MAX - 1 <= offset <= INT64_MAX:
            raise ReplyError(BAD_OFFSET)
    if offset < 0 or (offset >> 3) >= client.node.config["proto-max-bulk-len"]:
        raise ReplyError(BAD_OFFSET)
    return offset


def grown(old: bytes | None, size: int) -> bytearray:
    """A mutable copy of `old` zero-padded to at least `size` bytes."""
    buf = bytearray(old or b"")
    if len(buf) < size:
        buf.extend(bytes(size - len(buf)))
    return buf


def _int(raw: bytes) -> int:
    value = string2ll(raw)
    if value is None:
        raise ReplyError(NOT_INT)
    return value


@command("setbit", 4, "write denyoom", keys=(1, 1, 1), acl="@bitmap", group="bitmap",
         key_flags="RW ACCESS UPDATE", since="2.2.0", complexity="O(1)",
         summary="Sets or clears the bit at offset in the string value stored at key")
def setbit(client, argv):
    offset = bit_offset(client, argv[2])
    on = string2ll(argv[3])
    if on is None or on not in (0, 1):
        raise ReplyError(BAD_BIT)
    db = client.db
    key = argv[1]
    old = string_value(db.lookup_write(key))
    byte = offset >> 3
    shift = 7 - (offset & 7)
    buf = grown(old, byte + 1)
    previous = (buf[byte] >> shift) & 1
    if on:
        buf[byte] |= 1 << shift
    else:
        buf[byte] &= ~(1 << shift) & 0xFF
    db.store(key, bytes(buf), True)
    notify(client, STRING, b"setbit", key)
    return previous


@command("getbit", 3, "readonly fast", keys=(1, 1, 1), acl="@bitmap", group="bitmap",
         key_flags="RO ACCESS", since="2.2.0", complexity="O(1)",
         summary="Returns the bit value at offset in the string value stored at key")
def getbit(client, argv):
    offset = bit_offset(client, argv[2])
    value = string_value(client.db.lookup_read(argv[1], not client.no_touch))
    byte = offset >> 3
    if value is None or byte >= len(value):
        return 0
    return (value[byte] >> (7 - (offset & 7))) & 1


def _range(argv: list[bytes], at: int, size: int, end_given: bool,
           unit_at: int) -> tuple[int, int] | None:
    """[first, last] absolute bit positions of a BITCOUNT/BITPOS range; None if empty."""
    start = _int(argv[at])
    isbit = False
    if len(argv) > unit_at:
        unit = argv[unit_at].upper()
        if unit == b"BIT":
            isbit = True
        elif unit != b"BYTE":
            raise ReplyError(SYNTAX)
    if end_given:
        end = _int(argv[at + 1])
    else:
        end = (size << 3) + 7 if isbit else size - 1
    total = size << 3 if isbit else size
    if start < 0:
        start += total
    if end < 0:
        end += total
    start = max(start, 0)
    end = max(end, 0)
    if end >= total:
        end = total - 1
    if start > end:
        return None
    if isbit:
        return start, end
    return start << 3, (end << 3) + 7


def count_bits(value: bytes, first: int, last: int) -> int:
    chunk = value[first >> 3:(last >> 3) + 1]
    n = int.from_bytes(chunk, "big")
    width = len(chunk) << 3
    lo = first & 7
    hi = (last & 7)
    n &= (1 << (width - lo)) - 1          # drop bits before `first`
    n >>= 7 - hi                          # drop bits after `last`
    return n.bit_count()


@command("bitcount", -2, "readonly", keys=(1, 1, 1), acl="@bitmap", group="bitmap",
         key_flags="RO ACCESS", since="2.6.0", complexity="O(N)",
         summary="Count set bits in a string")
def bitcount(client, argv):
    argc = len(argv)
    value = string_value(client.db.lookup_read(argv[1], not client.no_touch))
    if value is None:
        return 0
    if argc == 2:
        return int.from_bytes(value, "big").bit_count() if value else 0
    if argc not in (4, 5):
        raise ReplyError(SYNTAX)
    start, end = _int(argv[2]), _int(argv[3])
    if start < 0 and end < 0 and start > end:
        return 0
    span = _range(argv, 2, len(value), True, 4)
    return 0 if span is None else count_bits(value, *span)


def first_bit(value: bytes, first: int, last: int, bit: int) -> int:
    """Position of the first `bit` in [first, last]; -1 if none."""
    lo, hi = first >> 3, last >> 3
    chunk = bytearray(value[lo:hi + 1])
    head = (0xFF << (8 - (first & 7))) & 0xFF     # bits before `first` in byte lo
    tail = (1 << (7 - (last & 7))) - 1            # bits after `last` in byte hi
    if bit:
        chunk[0] &= ~head & 0xFF
        chunk[-1] &= ~tail & 0xFF
        rest = bytes(chunk).lstrip(b"\x00")
    else:
        chunk[0] |= head
        chunk[-1] |= tail
        rest = bytes(chunk).lstrip(b"\xff")
    if not rest:
        return -1
    byte = rest[0] if bit else rest[0] ^ 0xFF
    return ((lo + len(chunk) - len(rest)) << 3) + 8 - byte.bit_length()


@command("bitpos", -3, "readonly", keys=(1, 1, 1), acl="@bitmap", group="bitmap",
         key_flags="RO ACCESS", since="2.8.7", complexity="O(N)",
         summary="Find first bit set or clear in a string")
def bitpos(client, argv):
    argc = len(argv)
    bit = string2ll(argv[2])
    if bit is None:
        raise ReplyError(NOT_INT)
    if bit not in (0, 1):
        raise ReplyError("ERR The bit argument must be 1 or 0.")
    value = string_value(client.db.lookup_read(argv[1], not client.no_touch))
    if value is None:
        return -1 if bit else 0
    size = len(value)
    end_given = argc >= 5
    if argc == 3:
        span = (0, (size << 3) - 1) if size else None
    elif argc <= 6:
        span = _range(argv, 3, size, end_given, 5)
    else:
        raise ReplyError(SYNTAX)
    if span is None:
        return -1
    pos = first_bit(value, span[0], span[1], bit)
    if pos < 0 and bit == 0 and not end_given:
        # no clear bit: the string is padded with zeros on the right
        return ((span[1] >> 3) + 1) << 3
    return pos


@command("bitop", -4, "write denyoom", keys=(2, -1, 1), acl="@bitmap", group="bitmap",
         key_specs=(
             {"flags": ["OW", "UPDATE"], "begin_search": {"type": "index", "spec": {"index": 2}},
              "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},
             {"flags": ["RO", "ACCESS"], "begin_search": {"type": "index", "spec": {"index": 3}},
              "find_keys": {"type": "range",
                            "spec": {"lastkey": -1, "keystep": 1, "limit": 0}}}),
         since="2.6.0", complexity="O(N)",
         summary="Perform bitwise operations between strings")
def bitop(client, argv):
    op = argv[1].upper()
    if op not in (b"AND", b"OR", b"XOR", b"NOT"):
        raise ReplyError(SYNTAX)
    if op == b"NOT" and len(argv) != 4:
        raise ReplyError("ERR BITOP NOT must be called with a single source key.")
    db = client.db
    sources = []
    for key in argv[3:]:
        value = string_value(db.lookup_read(key, not client.no_touch))
        sources.append(value or b"")
    size = max(len(s) for s in sources)
    dest = argv[2]
    if not size:
        if db.delete(dest):
            notify(client, GENERIC, b"del", dest)
        return 0
    nums = [int.from_bytes(s.ljust(size, b"\0"), "big") for s in sources]
    if op == b"NOT":
        result = nums[0] ^ ((1 << (size << 3)) - 1)
    else:
        result = nums[0]
        for n in nums[1:]:
            if op == b"AND":
                result &= n
            elif op == b"OR":
                result |= n
            else:
                result ^= n
    db.store(dest, result.to_bytes(size, "big"))
    notify(client, STRING, b"set", dest)
    return size
