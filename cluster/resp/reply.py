"""Reply values a command handler returns, and their RESP2/RESP3 encodings.

A handler returns plain Python values; the connection encodes them for the client's
protocol version:

    bytes -> bulk string            int -> integer        None -> null bulk / RESP3 null
    Status -> simple string         list/tuple -> array   dict -> RESP3 map / RESP2 flat array
    ReplyError -> error             float -> RESP3 double / RESP2 bulk string
    RespSet -> RESP3 set / array    Verbatim -> RESP3 verbatim / RESP2 bulk
    NULL_ARRAY -> `*-1` / RESP3 null   Push -> RESP3 push / RESP2 array
    NO_REPLY -> nothing at all      TRUE / FALSE -> RESP3 boolean / RESP2 integer
    BigNumber -> RESP3 big number / RESP2 bulk string
    Double -> RESP3 double of the given text / RESP2 bulk string
    Replies -> each item, one after the other
"""
from __future__ import annotations

import math


class Status(bytes):
    """A simple string reply (`+OK`)."""

    __slots__ = ()


class ReplyError(Exception):
    """An error reply. Raise it from a handler or return it as a value (e.g. inside EXEC).

    `message` is the whole text after `-`, code included: `ERR syntax error`, `WRONGTYPE ...`.
    `counted`: already in errorstats (a script's error that a command it called gave).
    """

    counted = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return self.message.split(" ", 1)[0]


class RespSet(frozenset):
    """A RESP3 set (`~`); an array in RESP2."""

    __slots__ = ()


class SetReply(list):
    """A RESP3 set (`~`) given in order, members may be unhashable (maps); an array in RESP2."""

    __slots__ = ()


class Verbatim(bytes):
    """A RESP3 verbatim string (`=N\\r\\ntxt:...`); a bulk string in RESP2."""

    __slots__ = ()


class BigNumber(bytes):
    """A RESP3 big number (`(digits`); a bulk string in RESP2."""

    __slots__ = ()


class Double(bytes):
    """A RESP3 double written with given text (`,13.36138933897018433`); a bulk string in
    RESP2. For doubles Redis prints other than `%.17g` (addReplyHumanLongDouble)."""

    __slots__ = ()


class Boolean:
    """A RESP3 boolean (`#t` / `#f`); `:1` / `:0` in RESP2. Use TRUE / FALSE."""

    __slots__ = ("value",)

    def __init__(self, value: bool):
        self.value = value

    def __repr__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE = Boolean(True)
FALSE = Boolean(False)


class Push(list):
    """A RESP3 push (`>`); an array in RESP2."""

    __slots__ = ()


class Attribute(dict):
    """A RESP3 attribute (`|N`), the map before the reply it annotates (DEBUG PROTOCOL
    attrib); RESP3 only."""

    __slots__ = ()


class Replies(list):
    """Several replies in a row from one command (SUBSCRIBE a b: one per channel)."""

    __slots__ = ()


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()


class _NoReply:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_REPLY"


# A command that sends nothing back (REPLCONF ACK / GETACK, as Redis): encodes to no bytes.
NO_REPLY = _NoReply()
OK = Status(b"OK")
QUEUED = Status(b"QUEUED")
PONG = Status(b"PONG")

_OK_BYTES = b"+OK\r\n"


def format_double(value: float) -> bytes:
    """Redis's `%.17g` rendering of a double (inf, -inf, nan spelled as Redis spells them)."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if math.isnan(value):
        return b"nan"
    return (b"%.17g" % value)


def _clean_error(message: str) -> bytes:
    # An error reply is one line: Redis replaces CR/LF inside it with spaces.
    raw = message.encode("utf-8", "surrogateescape") if isinstance(message, str) else message
    if b"\r" in raw or b"\n" in raw:
        raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
    return b"-" + raw + b"\r\n"




_BULK_SEP = [b"\r\n$%d\r\n" % n for n in range(4096)]    # CRLF + a bulk length's header
_bulk_sep = _BULK_SEP.__getitem__
_ONLY_BYTES = {bytes}


def _bulk_array(value) -> bytes | None:
    """`value` as an array of bulks in one join, without a per-item Python loop; None if
    an item is not plain bytes or is 4 KiB or more (the general way then)."""
    if set(map(type, value)) != _ONLY_BYTES:
        return None
    flat = [b""] * (2 * len(value))
    try:
        flat[0::2] = map(_bulk_sep, map(len, value))    # "\r\n$<len>\r\n" before each item
    except IndexError:
        return None
    flat[1::2] = value
    return b"*%d" % len(value) + b"".join(flat) + b"\r\n"


def encode(value, resp3: bool) -> bytes:
    """Encode one reply value for a RESP2 (resp3=False) or RESP3 client."""
    if value.__class__ is list and len(value) >= 8:     # LRANGE, SMEMBERS, MGET...
        raw = _bulk_array(value)
        if raw is not None:
            return raw
    out: list[bytes] = []
    _encode_into(value, out, resp3)
    return b"".join(out)


def _encode_into(value, out: list, resp3: bool) -> None:
    cls = value.__class__
    if cls is bytes:
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    elif cls is Status:
        out.append(_OK_BYTES if value is OK else b"+" + value + b"\r\n")
    elif cls is int or cls is bool:
        out.append(b":%d\r\n" % value)
    elif value is None:
        out.append(b"_\r\n" if resp3 else b"$-1\r\n")
    elif cls is list or cls is tuple:
        if len(value) >= 8:         # LRANGE, SMEMBERS, MGET...: all bulks, one join
            raw = _bulk_array(value)
            if raw is not None:
                out.append(raw)
                return
        out.append(b"*%d\r\n" % len(value))
        append = out.append
        for item in value:
            if item.__class__ is bytes:     # inline: LRANGE, SMEMBERS, MGET... are bulks
                append(b"$%d\r\n%s\r\n" % (len(item), item))
            else:
                _encode_into(item, out, resp3)
    elif isinstance(value, ReplyError):
        out.append(_clean_error(value.message))
    elif cls is dict:
        out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % (len(value) * (1 if resp3 else 2)))
        for k, v in value.items():
            _encode_into(k, out, resp3)
            _encode_into(v, out, resp3)
    elif cls is float:
        text = format_double(value)
        if resp3:
            out.append(b"," + text + b"\r\n")
        else:
            out.append(b"$%d\r\n%s\r\n" % (len(text), text))
    elif cls is str:
        # Convenience: text replies are bulk strings of their UTF-8 bytes.
        raw = value.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    elif cls is RespSet or cls is SetReply:
        out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value))
        for item in value:
            _encode_into(item, out, resp3)
    elif cls is Verbatim:
        if resp3:
            out.append(b"=%d\r\ntxt:%s\r\n" % (len(value) + 4, value))
        else:
            out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    elif cls is Boolean:
        if resp3:
            out.append(b"#t\r\n" if value.value else b"#f\r\n")
        else:
            out.append(b":1\r\n" if value.value else b":0\r\n")
    elif cls is Double:
        out.append(b",%s\r\n" % value if resp3 else b"$%d\r\n%s\r\n" % (len(value), value))
    elif cls is BigNumber:
        out.append(b"(%s\r\n" % value if resp3 else b"$%d\r\n%s\r\n" % (len(value), value))
    elif cls is Push:
        out.append((b">%d\r\n" if resp3 else b"*%d\r\n") % len(value))
        for item in value:
            _encode_into(item, out, resp3)
    elif cls is Attribute:
        out.append(b"|%d\r\n" % len(value))
        for k, v in value.items():
            _encode_into(k, out, resp3)
            _encode_into(v, out, resp3)
    elif value is NULL_ARRAY:
        out.append(b"_\r\n" if resp3 else b"*-1\r\n")
    elif value is NO_REPLY:
        pass
    elif cls is Replies:
        for item in value:
            _encode_into(item, out, resp3)
    elif isinstance(value, (list, tuple)):
        out.append(b"*%d\r\n" % len(value))
        for item in value:
            _encode_into(item, out, resp3)
    elif isinstance(value, int):
        out.append(b":%d\r\n" % value)
    else:
        raise TypeError(f"cannot encode reply value of type {cls.__name__}")
