"""Key expiry: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (with NX/XX/GT/LT), TTL PTTL EXPIRETIME
PEXPIRETIME and PERSIST, as Redis 7.0.15 answers them. A relative expiry is propagated as
PEXPIREAT (an expiry already in the past as DEL/UNLINK).
"""
from __future__ import annotations

from cluster.commands.args import INT64_MAX, INT64_MIN, parse_int
from cluster.keyspace.notify import GENERIC, notify
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import ReplyError
from cluster.execution.table import command

_EXPIRE_NX, _EXPIRE_XX, _EXPIRE_GT, _EXPIRE_LT = 1, 2, 4, 8


def _expire_flags(argv) -> int:
    flags = 0
    for opt in argv[3:]:
        low = opt.lower()
        if low == b"nx":
            flags |= _EXPIRE_NX
        elif low == b"xx":
            flags |= _EXPIRE_XX
        elif low == b"gt":
            flags |= _EXPIRE_GT
        elif low == b"lt":
            flags |= _EXPIRE_LT
        else:
            raise ReplyError("ERR Unsupported option %s" % opt.decode("utf-8", "replace"))
    if flags & _EXPIRE_NX and flags & (_EXPIRE_XX | _EXPIRE_GT | _EXPIRE_LT):
        raise ReplyError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if flags & _EXPIRE_GT and flags & _EXPIRE_LT:
        raise ReplyError("ERR GT and LT options at the same time are not compatible")
    return flags


def _expire(client, argv, name: str, relative: bool, seconds: bool):
    flags = _expire_flags(argv)
    when = parse_int(argv[2])
    bad_time = "ERR invalid expire time in '%s' command" % name
    if seconds:
        if when > INT64_MAX // 1000 or when < -(-INT64_MIN // 1000):
            raise ReplyError(bad_time)
        when *= 1000
    ks = client.node.keyspace
    base = ks.now_ms if relative else 0
    if when > INT64_MAX - base:
        raise ReplyError(bad_time)
    when += base
    db = client.db
    key = argv[1]
    if db.lookup_write(key) is None:
        return 0
    if flags:
        current = db.get_expire(key)
        if flags & _EXPIRE_NX and current is not None:
            return 0
        if flags & _EXPIRE_XX and current is None:
            return 0
        if flags & _EXPIRE_GT and (current is None or when <= current):
            return 0
        if flags & _EXPIRE_LT and current is not None and when >= current:
            return 0
    if when <= ks.now_ms and not ks.loading:
        db.delete(key)
        notify(client, GENERIC, b"del", key)
        lazy = client.node.config["lazyfree-lazy-expire"]
        return Rewritten(1, [[b"UNLINK" if lazy else b"DEL", key]])
    db.set_expire(key, when)
    db.modified(key)
    notify(client, GENERIC, b"expire", key)
    if name != "pexpireat":
        return Rewritten(1, [[b"PEXPIREAT", key, b"%d" % when, *argv[3:]]])
    return 1


_EXPIRE_SPEC = dict(keys=(1, 1, 1), key_flags="RW UPDATE", acl="@keyspace",
                    complexity="O(1)")


@command("expire", -3, "write fast", summary="Set a key's time to live in seconds",
         **_EXPIRE_SPEC)
def expire(client, argv):
    return _expire(client, argv, "expire", True, True)


@command("pexpire", -3, "write fast", summary="Set a key's time to live in milliseconds",
         since="2.6.0", **_EXPIRE_SPEC)
def pexpire(client, argv):
    return _expire(client, argv, "pexpire", True, False)


@command("expireat", -3, "write fast", since="1.2.0",
         summary="Set the expiration for a key as a UNIX timestamp", **_EXPIRE_SPEC)
def expireat(client, argv):
    return _expire(client, argv, "expireat", False, True)


@command("pexpireat", -3, "write fast", since="2.6.0",
         summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds",
         **_EXPIRE_SPEC)
def pexpireat(client, argv):
    return _expire(client, argv, "pexpireat", False, False)


def _ttl(client, argv, ms: bool, absolute: bool) -> int:
    db = client.db
    key = argv[1]
    if db.lookup_read(key, False) is None:
        return -2
    when = db.get_expire(key)
    if when is None:
        return -1
    ttl = when if absolute else when - client.node.keyspace.now_ms
    if ttl < 0:
        ttl = 0
    return ttl if ms else (ttl + 500) // 1000


_TTL_SPEC = dict(keys=(1, 1, 1), key_flags="RO ACCESS", acl="@keyspace", complexity="O(1)")


@command("ttl", 2, "readonly fast", summary="Get the time to live for a key in seconds",
         tips="nondeterministic_output", **_TTL_SPEC)
def ttl(client, argv):
    return _ttl(client, argv, False, False)


@command("pttl", 2, "readonly fast", since="2.6.0", tips="nondeterministic_output",
         summary="Get the time to live for a key in milliseconds", **_TTL_SPEC)
def pttl(client, argv):
    return _ttl(client, argv, True, False)


@command("expiretime", 2, "readonly fast", since="7.0.0",
         summary="Get the expiration Unix timestamp for a key", **_TTL_SPEC)
def expiretime(client, argv):
    return _ttl(client, argv, False, True)


@command("pexpiretime", 2, "readonly fast", since="7.0.0",
         summary="Get the expiration Unix timestamp for a key in milliseconds", **_TTL_SPEC)
def pexpiretime(client, argv):
    return _ttl(client, argv, True, True)


@command("persist", 2, "write fast", keys=(1, 1, 1), key_flags="RW UPDATE", acl="@keyspace",
         since="2.2.0", summary="Remove the expiration from a key", complexity="O(1)")
def persist(client, argv):
    db = client.db
    key = argv[1]
    if db.lookup_write(key) is None or not db.persist(key):
        return 0
    db.modified(key)
    notify(client, GENERIC, b"persist", key)
    return 1
