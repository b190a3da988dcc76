"""Bus frames for gossip.messages.Message (sans I/O).

A frame is a 4-byte big-endian length N followed by N bytes of payload. The payload is a
msgpack map (the body) and, when a cluster-bus-secret is configured, a 32-byte
HMAC-SHA256 tag over the body appended after it:

    frame   = N (uint32 BE) || body || [tag]      N = len(body) + (32 if secret else 0)
    body    = msgpack map {"v": 1, "t": "<type>", header fields..., body fields...}

Keys of the body map (header): v t s ce fe f p sl ro ip po cp ok mf sh hn;
per type: g (PING/PONG/MEET: gossip entries as 7-element arrays
[id, ping_sent, pong_received, ip, port, cport, flags]), n (FAIL/UPDATE: node id),
e + us (UPDATE: config epoch, slot bitmap), ch + pl (PUBLISH/PUBLISHSHARD).
Every field is validated strictly; unknown keys, unknown versions and unknown types are
rejected, as are fields a type does not carry. The decoder never raises: a rejected frame
is reported as BadFrame(reason); an oversized length breaks the stream (`.broken`).
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import re

import attrs
import msgpack

from gossip.messages import GossipEntry, Header, Message, MsgType
from gossip.records import SLOT_BYTES

VERSION = 1
DEFAULT_MAX_FRAME = 1 << 20          # 1 MiB: largest accepted N (body + tag)
TAG_LEN = 32
LEN_PREFIX = 4
MAX_GOSSIP = 2000                    # gossip entries in one PING/PONG/MEET
MAX_IP_LEN = 46                      # INET6_ADDRSTRLEN
MAX_HOSTNAME_LEN = 255
UINT64_MAX = (1 << 64) - 1
UINT32_MAX = (1 << 32) - 1

_ID_RE = re.compile(r"[0-9a-f]{40}\Z")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9.\-]*\Z")

_GOSSIP_TYPES = frozenset({MsgType.PING, MsgType.PONG, MsgType.MEET})
_PUBLISH_TYPES = frozenset({MsgType.PUBLISH, MsgType.PUBLISHSHARD})
_TYPES_BY_NAME = {t.value: t for t in MsgType}
_HEADER_KEYS = frozenset({"v", "t", "s", "ce", "fe", "f", "p", "sl", "ro", "ip", "po", "cp",
                          "ok", "mf", "sh", "hn"})


def _body_keys(mtype: MsgType) -> frozenset[str]:
    if mtype in _GOSSIP_TYPES:
        return frozenset({"g"})
    if mtype is MsgType.FAIL:
        return frozenset({"n"})
    if mtype is MsgType.UPDATE:
        return frozenset({"n", "e", "us"})
    if mtype in _PUBLISH_TYPES:
        return frozenset({"ch", "pl"})
    return frozenset()


_KEYS_BY_TYPE = {t: _HEADER_KEYS | _body_keys(t) for t in MsgType}


class FrameTooLarge(ValueError):
    """encode(..., max_frame=N) of a message whose frame would exceed N."""


@attrs.frozen
class BadFrame:
    """A frame the decoder dropped, and why (for the log and the bad-frame counter)."""
    reason: str


class _Invalid(ValueError):
    pass


# -- field validators (raise _Invalid) ---------------------------------------------------

def _int(value, name: str, hi: int) -> int:
    if type(value) is not int or not 0 <= value <= hi:
        raise _Invalid(f"bad {name}")
    return value


def _port(value, name: str) -> int:
    return _int(value, name, 65535)


def _node_id(value, name: str) -> str:
    if type(value) is not str or not _ID_RE.match(value):
        raise _Invalid(f"bad {name}")
    return value


def _bool(value, name: str) -> bool:
    if type(value) is not bool:
        raise _Invalid(f"bad {name}")
    return value


def _bytes(value, name: str, length: int | None = None) -> bytes:
    if type(value) is not bytes or (length is not None and len(value) != length):
        raise _Invalid(f"bad {name}")
    return value


@functools.lru_cache(maxsize=4096)
def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _ip(value, name: str) -> str:
    if type(value) is not str or len(value) > MAX_IP_LEN or (value and not _is_ip(value)):
        raise _Invalid(f"bad {name}")
    return value


def _hostname(value, name: str) -> str:
    if type(value) is not str or len(value) > MAX_HOSTNAME_LEN or not _HOSTNAME_RE.match(value):
        raise _Invalid(f"bad {name}")
    return value


def _shard_id(value, name: str) -> str:
    if value == "":
        return value
    return _node_id(value, name)


def _optional_id(value, name: str) -> str | None:
    return None if value is None else _node_id(value, name)


def _gossip_entry(value) -> GossipEntry:
    if type(value) is not list or len(value) != 7:
        raise _Invalid("bad gossip entry")
    gid, ping_sent, pong_received, ip, port, cport, flags = value
    return GossipEntry(id=_node_id(gid, "gossip id"),
                       ping_sent=_int(ping_sent, "gossip ping_sent", UINT64_MAX),
                       pong_received=_int(pong_received, "gossip pong_received", UINT64_MAX),
                       ip=_ip(ip, "gossip ip"), port=_port(port, "gossip port"),
                       cport=_port(cport, "gossip cport"),
                       flags=_int(flags, "gossip flags", UINT32_MAX))


# -- message <-> map -------------------------------------------------------------------

def _plain(value):
    """IntFlag -> int for packing; anything else is left for validation to judge."""
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _to_map(msg: Message) -> dict:
    h = msg.header
    out = {"v": VERSION, "t": msg.type.value, "s": h.sender, "ce": h.current_epoch,
           "fe": h.config_epoch, "f": _plain(h.flags), "p": h.primary_id, "sl": h.slots,
           "ro": h.repl_offset, "ip": h.myip, "po": h.port, "cp": h.cport, "ok": h.state_ok,
           "mf": _plain(h.mflags), "sh": h.shard_id, "hn": h.hostname}
    if msg.type in _GOSSIP_TYPES:
        out["g"] = [[g.id, g.ping_sent, g.pong_received, g.ip, g.port, g.cport, _plain(g.flags)]
                    for g in msg.gossip]
    elif msg.type is MsgType.FAIL:
        out["n"] = msg.node_id
    elif msg.type is MsgType.UPDATE:
        out["n"] = msg.node_id
        out["e"] = msg.config_epoch
        out["us"] = msg.slots
    elif msg.type in _PUBLISH_TYPES:
        out["ch"] = msg.channel
        out["pl"] = msg.payload
    return out


def _from_map(m) -> Message:
    if type(m) is not dict:
        raise _Invalid("body is not a map")
    if "v" not in m:
        raise _Invalid("missing version")
    if type(m["v"]) is not int or m["v"] != VERSION:
        raise _Invalid(f"unsupported version {m['v']!r}"[:80])
    mtype = _TYPES_BY_NAME.get(m.get("t")) if type(m.get("t")) is str else None
    if mtype is None:
        raise _Invalid(f"unknown message type {m.get('t')!r}"[:80])
    expected = _KEYS_BY_TYPE[mtype]
    keys = set(m)
    if keys != expected:
        missing, extra = expected - keys, keys - expected
        what = f"missing {sorted(missing)}" if missing else f"unexpected {sorted(map(repr, extra))}"
        raise _Invalid(f"{mtype.value}: {what}"[:120])
    header = Header(sender=_node_id(m["s"], "sender"),
                    current_epoch=_int(m["ce"], "current_epoch", UINT64_MAX),
                    config_epoch=_int(m["fe"], "config_epoch", UINT64_MAX),
                    flags=_int(m["f"], "flags", UINT32_MAX),
                    primary_id=_optional_id(m["p"], "primary_id"),
                    slots=_bytes(m["sl"], "slots", SLOT_BYTES),
                    repl_offset=_int(m["ro"], "repl_offset", UINT64_MAX),
                    myip=_ip(m["ip"], "myip"), port=_port(m["po"], "port"),
                    cport=_port(m["cp"], "cport"), state_ok=_bool(m["ok"], "state_ok"),
                    mflags=_int(m["mf"], "mflags", UINT32_MAX),
                    shard_id=_shard_id(m["sh"], "shard_id"),
                    hostname=_hostname(m["hn"], "hostname"))
    kwargs: dict = {}
    if mtype in _GOSSIP_TYPES:
        g = m["g"]
        if type(g) is not list or len(g) > MAX_GOSSIP:
            raise _Invalid("bad gossip section")
        kwargs["gossip"] = tuple(_gossip_entry(e) for e in g)
    elif mtype is MsgType.FAIL:
        kwargs["node_id"] = _node_id(m["n"], "node_id")
    elif mtype is MsgType.UPDATE:
        kwargs["node_id"] = _node_id(m["n"], "node_id")
        kwargs["config_epoch"] = _int(m["e"], "update config_epoch", UINT64_MAX)
        kwargs["slots"] = _bytes(m["us"], "update slots", SLOT_BYTES)
    elif mtype in _PUBLISH_TYPES:
        kwargs["channel"] = _bytes(m["ch"], "channel")
        kwargs["payload"] = _bytes(m["pl"], "payload")
    return Message(type=mtype, header=header, **kwargs)


def validate(msg: Message) -> None:
    """Raise ValueError unless `msg` is a well-formed message of its type (what decode
    accepts). Fields a type does not carry must hold their defaults."""
    if not isinstance(msg, Message) or not isinstance(msg.type, MsgType):
        raise ValueError("not a Message")
    if not isinstance(msg.header, Header):
        raise ValueError("bad header")
    defaults = {"gossip": (), "node_id": None, "config_epoch": 0, "slots": None,
                "channel": b"", "payload": b""}
    carried = {"g": ("gossip",), "n": ("node_id",), "e": ("config_epoch",), "us": ("slots",),
               "ch": ("channel",), "pl": ("payload",)}
    own = {f for k in _body_keys(msg.type) for f in carried[k]}
    for field, default in defaults.items():
        value = getattr(msg, field)
        unset = len(value) == 0 if field == "gossip" else value == default
        if field not in own and not unset:
            raise ValueError(f"{msg.type.value} does not carry {field}")
    if msg.type in _GOSSIP_TYPES and not all(isinstance(g, GossipEntry) for g in msg.gossip):
        raise ValueError("bad gossip entry")
    try:
        _from_map(_to_map(msg))
    except _Invalid as exc:
        raise ValueError(str(exc)) from None
    except Exception as exc:        # e.g. a non-int where an int belongs
        raise ValueError(f"bad message: {exc}") from None


# -- frames ----------------------------------------------------------------------------

def _tag(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()


def encode(message: Message, secret: bytes | None = None, *,
           max_frame: int | None = None) -> bytes:
    """One frame for `message`. Raises ValueError for an invalid message (a bug in the
    caller) and FrameTooLarge when `max_frame` is given and the payload exceeds it."""
    validate(message)
    body = msgpack.packb(_to_map(message), use_bin_type=True)
    if secret:
        body += _tag(secret, body)
    if max_frame is not None and len(body) > max_frame:
        raise FrameTooLarge(f"frame of {len(body)} bytes exceeds the maximum {max_frame}")
    if len(body) > UINT32_MAX:
        raise FrameTooLarge("frame too large")
    return len(body).to_bytes(LEN_PREFIX, "big") + body


def _no_duplicate_keys(pairs):
    out = {}
    for key, value in pairs:
        if type(key) is not str:
            raise _Invalid("map key is not a string")
        if key in out:
            raise _Invalid(f"duplicate key {key!r}"[:80])
        out[key] = value
    return out


def decode_payload(payload: bytes, secret: bytes | None = None) -> Message | BadFrame:
    """The message in one frame's payload (the N bytes after the length), or BadFrame."""
    try:
        if secret:
            if len(payload) < TAG_LEN:
                return BadFrame("frame too short for its authentication tag")
            body, tag = payload[:-TAG_LEN], payload[-TAG_LEN:]
            if not hmac.compare_digest(tag, _tag(secret, body)):
                return BadFrame("bad authentication tag")
        else:
            body = payload
        if not body:
            return BadFrame("empty frame")
        m = msgpack.unpackb(body, raw=False, use_list=True, strict_map_key=False,
                            object_pairs_hook=_no_duplicate_keys)
        return _from_map(m)
    except _Invalid as exc:
        return BadFrame(str(exc))
    except msgpack.ExtraData:
        return BadFrame("trailing bytes after the message")
    except Exception as exc:        # any msgpack/unicode/recursion error: drop the frame
        return BadFrame(f"undecodable frame ({type(exc).__name__})")


class FrameDecoder:
    """Incremental decoder for one bus connection.

    feed(data) -> [Message | BadFrame, ...] in arrival order. A length prefix above
    `max_frame` cannot be resynchronised: feed returns BadFrame, sets `.broken` and
    ignores all further data (the driver closes the link).
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, secret: bytes | None = None):
        self.max_frame = max_frame
        self.secret = secret or None
        self.broken = False
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Message | BadFrame]:
        if self.broken:
            return []
        buf = self._buf
        buf += data
        out: list[Message | BadFrame] = []
        pos = 0
        while len(buf) - pos >= LEN_PREFIX:
            size = int.from_bytes(buf[pos:pos + LEN_PREFIX], "big")
            if size > self.max_frame:
                self.broken = True
                self._buf = bytearray()
                out.append(BadFrame(f"frame length {size} exceeds the maximum {self.max_frame}"))
                return out
            end = pos + LEN_PREFIX + size
            if len(buf) < end:
                break
            out.append(decode_payload(bytes(buf[pos + LEN_PREFIX:end]), self.secret))
            pos = end
        if pos:
            del buf[:pos]
        return out

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)
