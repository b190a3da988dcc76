"""DUMP / RESTORE payloads in Redis's own format, so real Redis and we exchange them.

    payload = <RDB object: type byte + body> <RDB version, 2 bytes LE> <CRC-64/Jones, 8 bytes LE>

The CRC covers everything before it. We write RDB version 10 (Redis 7.0) and accept any
version <= 10, as Redis does.

Written (byte for byte what Redis 7.0 writes; strings of more than 20 bytes - values, keys,
listpack / intset blobs - LZF-compressed when rdbcompression is yes and it saves 4 bytes):
  * strings (type 0): canonical decimal integers in int32 range as RDB integer encodings,
    anything else length-prefixed;
  * lists (type 18, quicklist 2): listpack nodes (container 2), cut into nodes as Redis's
    quicklist cuts an RPUSHed list under `list-max-listpack-size`; elements of 1 GiB or
    more as plain nodes (container 1).

Read: strings (raw, integer and LZF-compressed encodings) and every list encoding Redis
ever wrote (1 linked list, 10 ziplist, 14 quicklist of ziplists, 18 quicklist 2). Listpacks
and ziplists are checked deeply (every entry, back-lengths, counts) whatever
sanitize-dump-payload says: a payload we cannot fully account for is refused with Redis's
`Bad data format` instead of being stored. Other data types register their own
`SAVERS` / `LOADERS` entries.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

from cluster.base.crc64 import crc64
from cluster.base.lzf import compress, decompress
from cluster.resp.reply import ReplyError
from cluster.base.numbers import string2ll

RDB_VERSION = 10
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_FORMAT = "ERR Bad data format"

TYPE_STRING = 0
TYPE_LIST = 1
TYPE_LIST_ZIPLIST = 10
TYPE_LIST_QUICKLIST = 14
TYPE_LIST_QUICKLIST_2 = 18

ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0, 1, 2, 3
CONTAINER_PLAIN, CONTAINER_PACKED = 1, 2
PACKED_THRESHOLD = 1 << 30           # quicklist: larger elements get a plain node
SIZE_SAFETY_LIMIT = 8192
SIZE_ESTIMATE_OVERHEAD = 8
OPTIMIZATION_LEVEL = (4096, 8192, 16384, 32768, 65536)


class Corrupt(Exception):
    """The payload's object cannot be read (RESTORE answers `Bad data format`)."""


# -- writing ------------------------------------------------------------------------
def encode_len(n: int) -> bytes:
    if n < 64:
        return bytes((n,))
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


# rdbcompression of what is being written: set by each writer (`set_compression`) from
# its node's config right before it encodes (as Redis reads server.rdb_compression).
_compression = [True]
COMPRESS_MIN = 21                    # Redis tries LZF on strings of more than 20 bytes


def set_compression(on: bool) -> None:
    _compression[0] = bool(on)


def encode_string(s: bytes) -> bytes:
    """rdbSaveRawString: integer encoding when Redis would use it, else LZF when
    rdbcompression is on and it saves at least 4 bytes, else raw."""
    n = len(s)
    if n >= COMPRESS_MIN:
        if _compression[0]:
            packed = compress(s, n - 4)
            if packed is not None:
                return b"\xc3" + encode_len(len(packed)) + encode_len(n) + packed
        return encode_len(n) + s
    if n <= 11:
        value = string2ll(s)
        if value is not None:
            if -128 <= value <= 127:
                return bytes((0xC0 | ENC_INT8,)) + value.to_bytes(1, "little", signed=True)
            if -32768 <= value <= 32767:
                return bytes((0xC0 | ENC_INT16,)) + value.to_bytes(2, "little", signed=True)
            if -(2**31) <= value < 2**31:
                return bytes((0xC0 | ENC_INT32,)) + value.to_bytes(4, "little", signed=True)
    return encode_len(len(s)) + s


def _backlen(n: int) -> bytes:
    """Listpack back-length of an entry of n bytes (read right to left, 7 bits a byte)."""
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                      (n & 127) | 128))
    return bytes((n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128,
                  ((n >> 7) & 127) | 128, (n & 127) | 128))


def listpack_entry(item: bytes) -> bytes:
    value = string2ll(item) if len(item) <= 20 else None
    if value is not None:
        if 0 <= value <= 127:
            enc = bytes((value,))
        elif -4096 <= value <= 4095:
            v = value & 0x1FFF
            enc = bytes((0xC0 | (v >> 8), v & 0xFF))
        elif -32768 <= value <= 32767:
            enc = b"\xf1" + value.to_bytes(2, "little", signed=True)
        elif -(2**23) <= value < 2**23:
            enc = b"\xf2" + value.to_bytes(3, "little", signed=True)
        elif -(2**31) <= value < 2**31:
            enc = b"\xf3" + value.to_bytes(4, "little", signed=True)
        else:
            enc = b"\xf4" + value.to_bytes(8, "little", signed=True)
    else:
        n = len(item)
        if n < 64:
            enc = bytes((0x80 | n,)) + item
        elif n < 4096:
            enc = bytes((0xE0 | (n >> 8), n & 0xFF)) + item
        else:
            enc = b"\xf0" + n.to_bytes(4, "little") + item
    return enc + _backlen(len(enc))


def listpack(entries: list[bytes]) -> bytes:
    """A listpack from already encoded entries."""
    body = b"".join(entries)
    total = 6 + len(body) + 1
    count = len(entries) if len(entries) < 65535 else 65535
    return total.to_bytes(4, "little") + count.to_bytes(2, "little") + body + b"\xff"


def _node_allows(node_sz: int, count: int, sz: int, fill: int) -> bool:
    """quicklist's _quicklistNodeAllowInsert for a packed node."""
    new_sz = node_sz + sz + SIZE_ESTIMATE_OVERHEAD
    if fill < 0:
        level = min(-fill - 1, len(OPTIMIZATION_LEVEL) - 1)
        if new_sz <= OPTIMIZATION_LEVEL[level]:
            return True
    if new_sz > SIZE_SAFETY_LIMIT:
        return False
    return count < fill


def save_list(value, fill: int = -2) -> bytes:
    nodes: list[bytes] = []
    entries: list[bytes] = []
    node_sz = 0                       # bytes of the listpack being filled

    def close():
        if entries:
            nodes.append(encode_len(CONTAINER_PACKED) + encode_string(listpack(entries)))
            entries.clear()

    for item in value:
        sz = len(item)
        if sz >= PACKED_THRESHOLD:
            close()
            node_sz = 0
            nodes.append(encode_len(CONTAINER_PLAIN) + encode_string(item))
            continue
        if not entries or not _node_allows(node_sz, len(entries), sz, fill):
            close()
            node_sz = 7
        entry = listpack_entry(item)
        entries.append(entry)
        node_sz += len(entry)
    close()
    return bytes((TYPE_LIST_QUICKLIST_2,)) + encode_len(len(nodes)) + b"".join(nodes)


def save_string(value: bytes, fill: int = -2) -> bytes:
    return bytes((TYPE_STRING,)) + encode_string(value)


# value class -> function(value, list_fill) -> type byte + body
SAVERS: dict[type, Callable] = {bytes: save_string, deque: save_list}


def dump(value, list_fill: int = -2, compress_strings: bool = True) -> bytes:
    """The DUMP payload of a value (strings LZF-compressed as rdbcompression says)."""
    saver = SAVERS.get(value.__class__)
    if saver is None:
        raise ReplyError("ERR DUMP of this type is not supported")
    set_compression(compress_strings)
    body = saver(value, list_fill) + RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


# -- reading ------------------------------------------------------------------------
class Reader:
    """Reads an RDB object from a buffer (the whole payload, footer included, as Redis)."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int = 0):
        self.buf = buf
        self.pos = pos

    def read(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.buf):
            raise Corrupt("short read")
        data = self.buf[self.pos:end]
        self.pos = end
        return data

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise Corrupt("short read")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def length(self) -> tuple[int, bool]:
        """(length, is_encoded): rdbLoadLenByRef."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int.from_bytes(self.read(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self.read(8), "big"), False
        raise Corrupt("unknown length encoding")

    def plain_length(self) -> int:
        n, encoded = self.length()
        if encoded:
            raise Corrupt("encoded length where a length was expected")
        return n

    def string(self) -> bytes:
        n, encoded = self.length()
        if not encoded:
            return self.read(n)
        if n == ENC_INT8:
            return b"%d" % int.from_bytes(self.read(1), "little", signed=True)
        if n == ENC_INT16:
            return b"%d" % int.from_bytes(self.read(2), "little", signed=True)
        if n == ENC_INT32:
            return b"%d" % int.from_bytes(self.read(4), "little", signed=True)
        if n == ENC_LZF:
            clen = self.plain_length()
            ulen = self.plain_length()
            data = decompress(self.read(clen), ulen)
            if data is None:
                raise Corrupt("invalid LZF compressed string")
            return data
        raise Corrupt("unknown string encoding")


def _le(buf: bytes, pos: int, n: int, signed: bool = False) -> int:
    if pos + n > len(buf):
        raise Corrupt("listpack entry past the end")
    return int.from_bytes(buf[pos:pos + n], "little", signed=signed)


def parse_listpack(buf: bytes) -> list[bytes]:
    """Every element of a listpack, validating it deeply."""
    if len(buf) < 7 or _le(buf, 0, 4) != len(buf) or buf[-1] != 0xFF:
        raise Corrupt("bad listpack header")
    declared = _le(buf, 4, 2)
    items: list[bytes] = []
    pos, last = 6, len(buf) - 1
    while pos < last:
        b = buf[pos]
        if b < 0x80:
            size, item = 1, b"%d" % b
        elif b < 0xC0:
            n = b & 0x3F
            size, item = 1 + n, buf[pos + 1:pos + 1 + n]
        elif b < 0xE0:
            v = ((b & 0x1F) << 8) | _le(buf, pos + 1, 1)
            size, item = 2, b"%d" % (v - 8192 if v >= 4096 else v)
        elif b < 0xF0:
            n = ((b & 0x0F) << 8) | _le(buf, pos + 1, 1)
            size, item = 2 + n, buf[pos + 2:pos + 2 + n]
        elif b == 0xF0:
            n = _le(buf, pos + 1, 4)
            size, item = 5 + n, buf[pos + 5:pos + 5 + n]
        elif b in (0xF1, 0xF2, 0xF3):
            width = b - 0xEF
            size, item = 1 + width, b"%d" % _le(buf, pos + 1, width, True)
        elif b == 0xF4:
            size, item = 9, b"%d" % _le(buf, pos + 1, 8, True)
        else:
            raise Corrupt("bad listpack entry encoding")
        end = pos + size
        if end > last:
            raise Corrupt("listpack entry past the end")
        backlen = _backlen(size)
        if buf[end:end + len(backlen)] != backlen:
            raise Corrupt("bad listpack back-length")
        items.append(bytes(item))
        pos = end + len(backlen)
    if pos != last or (declared != 65535 and declared != len(items)):
        raise Corrupt("listpack count mismatch")
    return items


def parse_ziplist(buf: bytes) -> list[bytes]:
    """Every element of a ziplist (pre-7.0 list nodes), validating it."""
    if len(buf) < 11 or _le(buf, 0, 4) != len(buf) or buf[-1] != 0xFF:
        raise Corrupt("bad ziplist header")
    tail = _le(buf, 4, 4)
    declared = _le(buf, 8, 2)
    items: list[bytes] = []
    pos, last = 10, len(buf) - 1
    prev_size = 0
    last_entry = 10
    while pos < last:
        start = pos
        b = buf[pos]
        if b < 254:
            prevlen, pos = b, pos + 1
        elif b == 254:
            prevlen, pos = _le(buf, pos + 1, 4), pos + 5
        else:
            raise Corrupt("bad ziplist prevlen")
        if prevlen != prev_size:
            raise Corrupt("ziplist prevlen mismatch")
        if pos >= last:
            raise Corrupt("ziplist entry past the end")
        enc = buf[pos]
        top = enc >> 6
        if top == 0:
            n, pos = enc & 0x3F, pos + 1
        elif top == 1:
            n, pos = ((enc & 0x3F) << 8) | _le(buf, pos + 1, 1), pos + 2
        elif top == 2:
            if pos + 5 > last:
                raise Corrupt("ziplist entry past the end")
            n, pos = int.from_bytes(buf[pos + 1:pos + 5], "big"), pos + 5
        else:
            n = -1
            if enc == 0xC0:
                item, pos = _le(buf, pos + 1, 2, True), pos + 3
            elif enc == 0xD0:
                item, pos = _le(buf, pos + 1, 4, True), pos + 5
            elif enc == 0xE0:
                item, pos = _le(buf, pos + 1, 8, True), pos + 9
            elif enc == 0xF0:
                item, pos = _le(buf, pos + 1, 3, True), pos + 4
            elif enc == 0xFE:
                item, pos = _le(buf, pos + 1, 1, True), pos + 2
            elif 0xF1 <= enc <= 0xFD:
                item, pos = (enc & 0x0F) - 1, pos + 1
            else:
                raise Corrupt("bad ziplist entry encoding")
            item = b"%d" % item
        if n >= 0:
            item, pos = buf[pos:pos + n], pos + n
        if pos > last:
            raise Corrupt("ziplist entry past the end")
        items.append(bytes(item))
        prev_size = pos - start
        last_entry = start
    if pos != last or (declared != 65535 and declared != len(items)):
        raise Corrupt("ziplist count mismatch")
    if items and tail != last_entry or not items and tail != 10:
        raise Corrupt("ziplist tail offset mismatch")
    return items


def load_string(r: Reader, rdbtype: int):
    return r.string()


def load_list(r: Reader, rdbtype: int):
    result: deque = deque()
    if rdbtype == TYPE_LIST:
        for _ in range(r.plain_length()):
            result.append(r.string())
    elif rdbtype == TYPE_LIST_ZIPLIST:
        result.extend(parse_ziplist(r.string()))
    else:
        for _ in range(r.plain_length()):
            container = CONTAINER_PACKED
            if rdbtype == TYPE_LIST_QUICKLIST_2:
                container = r.plain_length()
                if container not in (CONTAINER_PACKED, CONTAINER_PLAIN):
                    raise Corrupt("quicklist integrity check failed")
            data = r.string()
            if not data:
                raise Corrupt("empty quicklist node")
            if container == CONTAINER_PLAIN:
                result.append(data)
            elif rdbtype == TYPE_LIST_QUICKLIST_2:
                result.extend(parse_listpack(data))
            else:
                result.extend(parse_ziplist(data))
    if not result:
        raise Corrupt("empty key")
    return result


# RDB type byte -> function(reader, type) -> value
LOADERS: dict[int, Callable] = {
    TYPE_STRING: load_string, TYPE_LIST: load_list, TYPE_LIST_ZIPLIST: load_list,
    TYPE_LIST_QUICKLIST: load_list, TYPE_LIST_QUICKLIST_2: load_list,
}


def verify(payload: bytes) -> bool:
    """verifyDumpPayload: RDB version not newer than ours and the CRC matches."""
    if len(payload) < 10:
        return False
    if int.from_bytes(payload[-10:-8], "little") > RDB_VERSION:
        return False
    return crc64(payload[:-8]) == int.from_bytes(payload[-8:], "little")


def load(payload: bytes):
    """The value a verified payload holds; ReplyError(BAD_FORMAT) if it is unreadable."""
    reader = Reader(payload)
    try:
        loader = LOADERS.get(reader.byte())
        if loader is None:
            raise Corrupt("unknown type")
        return loader(reader, payload[0])
    except Corrupt:
        raise ReplyError(BAD_FORMAT) from None
