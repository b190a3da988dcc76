"""MIGRATE's network side: cached connections to targets and the transfer itself.

The transfer (Redis 7.0.15 migrateCommand, after the keys were looked up) is written once
as a generator that yields the I/O it needs (connect, write, read one reply line) and is
driven either by trio (`run_async`: the normal case, the node serves other clients
meanwhile) or by blocking calls (`run_sync`: MIGRATE inside MULTI/EXEC, where Redis blocks
too and the transaction must stay atomic).

What Redis does, and so do we:
  * one cached connection per "host:port" as the client wrote them, at most 64 (a random
    one is closed to make room), closed once idle more than 10 s (`close_idle` from the
    node's cron);
  * one write of [AUTH] [SELECT db, when the connection's last db differs] and one
    RESTORE(-ASKING) per key; then one reply line for each;
  * `timeout` (ms) bounds each wait (connect, each write, each reply line);
  * a RESTORE answered +OK acknowledges its key (deleted at the source unless COPY), even
    when another key failed; the first error line becomes
    `ERR Target instance replied with error: <line without '-'>`;
  * on a socket error before any RESTORE reply was read, and not a timeout, the cached
    connection is dropped and everything is tried once more on a new one; otherwise
    `IOERR error or timeout writing|reading to target instance`. As in Redis 7.0 the
    connect waits up to `timeout` but its failure (refused, unfinished) only shows at the
    first write ("writing"); `IOERR error or timeout connecting to the client` is for an
    address that cannot be resolved or a connect that cannot even start.
"""
from __future__ import annotations

import errno
import random
import select
import socket as pysocket

import attrs
import trio

from cluster.replication.propagate import encode_command

CACHE_ITEMS = 64
CACHE_TTL_S = 10
IOERR_CONNECT = "IOERR error or timeout connecting to the client"
IOERR_TRANSFER = "IOERR error or timeout %s to target instance"
TARGET_ERROR = "ERR Target instance replied with error: %s"
MAX_LINE = 1023                  # Redis reads reply lines into a 1024-byte buffer


class IOFail(Exception):
    def __init__(self, timed_out: bool):
        super().__init__("timeout" if timed_out else "socket error")
        self.timed_out = timed_out


class Cached:
    __slots__ = ("sock", "last_db", "last_use_ms", "rbuf")

    def __init__(self, sock, now_ms: int):
        self.sock = sock
        self.last_db = -1
        self.last_use_ms = now_ms
        self.rbuf = bytearray()


class SocketCache:
    """migrate_cached_sockets: "host:port" -> Cached."""

    def __init__(self, rng: random.Random | None = None):
        self.entries: dict[bytes, Cached] = {}
        self.rng = rng or random.Random()
        self._locks: dict[bytes, trio.Lock] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, name: bytes, now_ms: int) -> Cached | None:
        cs = self.entries.get(name)
        if cs is not None:
            cs.last_use_ms = now_ms
        return cs

    def add(self, name: bytes, sock, now_ms: int) -> Cached:
        if len(self.entries) >= CACHE_ITEMS:
            victim = self.rng.choice([n for n in self.entries if not self.in_use(n)]
                                     or list(self.entries))
            self.close(victim)
        cs = self.entries[name] = Cached(sock, now_ms)
        return cs

    def close(self, name: bytes) -> None:
        cs = self.entries.pop(name, None)
        if cs is not None:
            cs.sock.close()

    def close_all(self) -> None:
        for name in list(self.entries):
            self.close(name)

    def close_idle(self, now_ms: int) -> None:
        for name, cs in list(self.entries.items()):
            if now_ms // 1000 - cs.last_use_ms // 1000 > CACHE_TTL_S and not self.in_use(name):
                self.close(name)

    def lock(self, name: bytes) -> trio.Lock:
        """Serializes async transfers to one target (a cached connection carries one
        request at a time)."""
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = trio.Lock()
        return lock

    def in_use(self, name: bytes) -> bool:
        lock = self._locks.get(name)
        return lock is not None and lock.locked()


@attrs.define
class Job:
    host: str
    port: int
    name: bytes                  # b"host:port" as written: the cache key
    db: int
    timeout_ms: int
    auth: list[bytes]            # [] | [password] | [user, password]
    restores: list[bytes]        # one encoded RESTORE(-ASKING) per key

    def request(self, select: bool) -> bytes:
        head = []
        if self.auth:
            head.append(encode_command([b"AUTH", *self.auth]))
        if select:
            head.append(encode_command([b"SELECT", b"%d" % self.db]))
        return b"".join(head + self.restores)


@attrs.define
class Outcome:
    acked: list[int]             # indexes of the keys the target stored
    error: str | None            # the client's error reply, None for +OK


def transfer(cache: SocketCache, job: Job, now_ms: int):
    """The generator: yields ("connect", job) -> socket, ("write", cs, bytes) -> None,
    ("line", cs) -> bytes; a failed operation is thrown back in as IOFail."""
    may_retry = True
    while True:
        cs = cache.get(job.name, now_ms)
        if cs is None:
            try:
                sock = yield ("connect", job)
            except IOFail:
                return Outcome([], IOERR_CONNECT)
            cs = cache.add(job.name, sock, now_ms)
        select = cs.last_db != job.db
        failure, write_error = None, False
        try:
            yield ("write", cs, job.request(select))
        except IOFail as fail:
            failure, write_error = fail, True
        auth_line = select_line = b""
        if failure is None:
            try:
                if job.auth:
                    auth_line = yield ("line", cs)
                if select:
                    select_line = yield ("line", cs)
            except IOFail as fail:
                failure = fail
        acked: list[int] = []
        if failure is None:
            error = None
            read = 0
            for index in range(len(job.restores)):
                try:
                    line = yield ("line", cs)
                except IOFail as fail:
                    failure = fail
                    break
                read += 1
                bad = next((x for x in (auth_line, select_line, line) if x[:1] == b"-"), None)
                if bad is None:
                    acked.append(index)
                elif error is None:
                    cs.last_db = -1
                    error = TARGET_ERROR % bad[1:MAX_LINE].decode("utf-8", "replace")
            if failure is not None and read == 0 and error is None and may_retry \
                    and not failure.timed_out:
                pass                                  # nothing happened yet: retry below
            elif failure is not None:
                cache.close(job.name)
                if error is not None:
                    return Outcome(acked, error)
                return Outcome(acked, IOERR_TRANSFER % "reading")
            else:
                if error is None:
                    cs.last_db = job.db
                return Outcome(acked, error)
        cache.close(job.name)
        if not failure.timed_out and may_retry:
            may_retry = False
            continue
        return Outcome(acked, IOERR_TRANSFER % ("writing" if write_error else "reading"))


# -- drivers ----------------------------------------------------------------------------
def port_number(raw: bytes) -> int:
    """atoi(): leading digits (after spaces and a sign), 0 if none."""
    text = raw.decode("latin-1").lstrip(" \t\n\v\f\r")
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    digits = ""
    for ch in text:
        if not ch.isdigit() or not ch.isascii():
            break
        digits += ch
    return sign * int(digits) if digits else 0


async def run_async(cache: SocketCache, job: Job, now_ms: int) -> Outcome:
    async with cache.lock(job.name):
        gen = transfer(cache, job, now_ms)
        value = fail = None
        while True:
            try:
                op = gen.throw(fail) if fail is not None else gen.send(value)
            except StopIteration as stop:
                return stop.value
            value = fail = None
            try:
                value = await _async_op(op, job.timeout_ms / 1000)
            except IOFail as err:
                fail = err


def run_sync(cache: SocketCache, job: Job, now_ms: int) -> Outcome:
    """Blocking transfer (inside EXEC). If an async transfer to the same target is using
    the cached connection right now, a private connection is used and closed after."""
    private = cache.in_use(job.name)
    if private:
        cache = SocketCache()
    gen = transfer(cache, job, now_ms)
    value = fail = None
    try:
        while True:
            try:
                op = gen.throw(fail) if fail is not None else gen.send(value)
            except StopIteration as stop:
                return stop.value
            value = fail = None
            try:
                value = _sync_op(op, job.timeout_ms / 1000)
            except IOFail as err:
                fail = err
    finally:
        if private:
            cache.close_all()


async def _async_op(op, timeout: float):
    kind = op[0]
    if kind == "line":
        return await _async_line(op[1], timeout)
    if kind == "write":
        return await _async_write(op[1].sock, op[2], timeout)
    return await _async_connect(op[1], timeout)


def _open(infos):
    """anetTcpNonBlockConnect: the first address whose non-blocking connect starts (or
    completes); None if none does (bad address, refused at once...)."""
    for family, socktype, proto, _, addr in infos:
        try:
            sock = pysocket.socket(family, socktype, proto)
        except OSError:
            continue
        sock.setblocking(False)
        err = sock.connect_ex(addr)
        if err in (0, errno.EINPROGRESS):
            _nodelay(sock)
            return sock
        sock.close()
    return None


async def _async_connect(job: Job, timeout: float):
    """connBlockingConnect in Redis 7.0: wait up to `timeout` for the connect to finish,
    but hand the socket over whatever happened; a refused or unfinished connection shows
    at the first write (so it is reported as 'writing', as Redis reports it)."""
    try:
        infos = await trio.socket.getaddrinfo(job.host, str(job.port),
                                              type=pysocket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise IOFail(False) from None
    sock = _open(infos)
    if sock is None:
        raise IOFail(False)
    with trio.move_on_after(timeout):
        await trio.lowlevel.wait_writable(sock)
    return sock


async def _async_write(sock, data: bytes, timeout: float) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view[:65536]):]
        except (BlockingIOError, InterruptedError):
            with trio.move_on_after(timeout) as scope:
                await trio.lowlevel.wait_writable(sock)
            if scope.cancelled_caught:
                raise IOFail(True) from None
        except OSError:
            raise IOFail(False) from None


async def _async_line(cs: Cached, timeout: float) -> bytes:
    while True:
        line = _take_line(cs)
        if line is not None:
            return line
        try:
            chunk = cs.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            with trio.move_on_after(timeout) as scope:
                await trio.lowlevel.wait_readable(cs.sock)
            if scope.cancelled_caught:
                raise IOFail(True) from None
            continue
        except OSError:
            raise IOFail(False) from None
        if not chunk:
            raise IOFail(False)
        cs.rbuf += chunk


def _sync_op(op, timeout: float):
    kind = op[0]
    if kind == "connect":
        job = op[1]
        try:
            infos = pysocket.getaddrinfo(job.host, str(job.port), type=pysocket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError):
            raise IOFail(False) from None
        sock = _open(infos)
        if sock is None:
            raise IOFail(False)
        select.select([], [sock], [], timeout)
        return sock
    cs = op[1]
    cs.sock.settimeout(timeout)
    try:
        if kind == "write":
            cs.sock.sendall(op[2])
            return None
        while True:
            line = _take_line(cs)
            if line is not None:
                return line
            chunk = cs.sock.recv(65536)
            if not chunk:
                raise IOFail(False)
            cs.rbuf += chunk
    except TimeoutError:
        raise IOFail(True) from None
    except OSError:
        raise IOFail(False) from None
    finally:
        try:
            cs.sock.setblocking(False)
        except OSError:
            pass


def _take_line(cs: Cached) -> bytes | None:
    end = cs.rbuf.find(b"\n")
    if end < 0:
        return None
    line = bytes(cs.rbuf[:end])
    del cs.rbuf[:end + 1]
    return line[:-1] if line.endswith(b"\r") else line


def _nodelay(sock) -> None:
    try:
        sock.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
    except OSError:
        pass
