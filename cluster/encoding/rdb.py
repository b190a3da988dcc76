"""RDB snapshots (version 10, as Redis 7.0 writes them): the full-sync payload, the dump file
(cluster.persistence.rdb_file) and the AOF's RDB preamble.

    "REDIS0010"
    AUX (0xFA) name value ...                    redis-ver, redis-bits, ctime, used-mem,
                                                 repl-stream-db, repl-id, repl-offset, aof-base
    FUNCTION2 (0xF5) <library code string> ...   the source's `functions` (function libraries)
    per non-empty db: SELECTDB (0xFE) <db>, RESIZEDB (0xFB) <keys> <expires>
        [EXPIRETIME_MS (0xFC) <8 bytes LE>] <type byte> <key string> <value body>
    EOF (0xFF) <CRC-64/Jones of everything before, 8 bytes LE>

Values use `cluster.encoding.dump`'s object encodings (its SAVERS / LOADERS tables), so every type
DUMP/RESTORE knows is also snapshotted. The reader accepts what Redis 7.0.15 writes for the
types we have (every encoding registered in LOADERS: strings incl. LZF and integer encodings,
lists as quicklist/listpack/ziplist, hashes, sets, sorted sets), skips IDLE/FREQ metadata,
collects FUNCTION2 records (library codes, `Snapshot.functions`: the caller loads them),
honours EXPIRETIME (seconds) too, and refuses anything else with an `RdbError` naming
what it met. Strings of more than 20 bytes are LZF-compressed on write
unless `compress` is False (rdbcompression no).
"""
from __future__ import annotations

from cluster.base.crc64 import crc64
from cluster.encoding.dump import (LOADERS, SAVERS, Corrupt, Reader, encode_len, encode_string,
                          set_compression)

MAGIC = b"REDIS"
RDB_VERSION = 10

OP_FUNCTION2 = 0xF5
OP_FUNCTION = 0xF6
OP_MODULE_AUX = 0xF7
OP_IDLE = 0xF8
OP_FREQ = 0xF9
OP_AUX = 0xFA
OP_RESIZEDB = 0xFB
OP_EXPIRETIME_MS = 0xFC
OP_EXPIRETIME = 0xFD
OP_SELECTDB = 0xFE
OP_EOF = 0xFF

# RDB type byte -> Redis type name, for the error on a type we cannot load.
TYPE_WORDS = {0: "string", 1: "list", 2: "set", 3: "zset", 4: "hash", 5: "zset", 6: "module",
              7: "module", 9: "hash", 10: "list", 11: "set", 12: "zset", 13: "hash",
              14: "list", 15: "stream", 16: "hash", 17: "zset", 18: "list", 19: "stream",
              20: "set"}


class RdbError(Exception):
    """The snapshot cannot be written or read; the message says why."""


# -- writing ------------------------------------------------------------------------
def _aux(name: bytes, value: bytes) -> bytes:
    return bytes((OP_AUX,)) + encode_string(name) + encode_string(value)


def default_aux(node=None, repl_id: str | None = None, repl_offset: int = 0,
                stream_db: int = 0) -> dict[bytes, bytes]:
    now_s = (node.now_ms // 1000) if node is not None else 0
    aux = {b"redis-ver": (node.redis_version if node is not None else "7.0.15").encode(),
           b"redis-bits": b"64", b"ctime": b"%d" % now_s, b"used-mem": b"0"}
    if repl_id is not None:
        aux[b"repl-stream-db"] = b"%d" % stream_db
        aux[b"repl-id"] = repl_id.encode()
        aux[b"repl-offset"] = b"%d" % repl_offset
    aux[b"aof-base"] = b"0"
    return aux


def live_dbs(keyspace):
    """The (db id, data, expires) triples of a keyspace's non-empty databases, live
    (for a snapshot taken in one go; `cluster.keyspace.snapshot.View` gives frozen ones)."""
    return [(db.id, db.data, db.expires) for db in keyspace.dbs if db.data]


def iter_rdb(source, aux: dict[bytes, bytes] | None = None, list_fill: int = -2,
             now_ms: int | None = None, batch: int = 1024, compress: bool = True):
    """The snapshot of `source` - a keyspace, or an iterable of (db id, data, expires)
    triples such as a `cluster.keyspace.snapshot.View` - as a sequence of byte pieces, without the
    EOF opcode and checksum (see `rdb_chunks`). `batch` entries at most per piece.
    The compression switch is set again after every yield (a DUMP may run in between)."""
    triples = live_dbs(source) if hasattr(source, "dbs") else source
    yield MAGIC + b"%04d" % RDB_VERSION
    set_compression(compress)
    for name, value in (aux if aux is not None else default_aux()).items():
        yield _aux(name, value)
        set_compression(compress)
    # the function libraries (rdbSaveFunctions), between the aux fields and the data
    for code in getattr(source, "functions", ()):
        yield function_record(code)
        set_compression(compress)
    savers = SAVERS
    for db_id, data, expires in triples:
        if not data:
            continue
        yield (bytes((OP_SELECTDB,)) + encode_len(db_id) + bytes((OP_RESIZEDB,))
               + encode_len(len(data)) + encode_len(len(expires)))
        set_compression(compress)
        chunk: list[bytes] = []
        for key, value in data.items():
            when = expires.get(key) if expires else None
            if when is not None:
                if now_ms is not None and when <= now_ms:
                    continue     # already due: the replica would only delete it
                chunk.append(bytes((OP_EXPIRETIME_MS,)) + when.to_bytes(8, "little",
                                                                         signed=True))
            saver = savers.get(value.__class__)
            if saver is None:
                raise RdbError(f"cannot snapshot a value of class {value.__class__.__name__}")
            body = saver(value, list_fill)
            chunk.append(body[:1] + encode_string(key) + body[1:])
            if len(chunk) >= batch:
                yield b"".join(chunk)
                set_compression(compress)
                chunk = []
        if chunk:
            yield b"".join(chunk)
            set_compression(compress)


CHUNK = 64 * 1024


def rdb_chunks(source, aux: dict[bytes, bytes] | None = None, list_fill: int = -2,
               now_ms: int | None = None, chunk_size: int = CHUNK, compress: bool = True):
    """The whole RDB file of `source` (see `iter_rdb`) as chunks of about `chunk_size`
    bytes, the last one ending with EOF and the CRC-64 (computed as it goes). A consumer
    can do other work between chunks; `source` must not change meanwhile (a View)."""
    crc = 0
    pending: list[bytes] = []
    size = 0
    # ~40 bytes per small key: keep the pieces well under a chunk
    for piece in iter_rdb(source, aux, list_fill, now_ms, batch=max(16, chunk_size // 64),
                          compress=compress):
        pending.append(piece)
        size += len(piece)
        if size >= chunk_size:
            out = b"".join(pending)
            crc = crc64(out, crc)
            yield out
            pending, size = [], 0
    pending.append(bytes((OP_EOF,)))
    out = b"".join(pending)
    crc = crc64(out, crc)
    yield out + crc.to_bytes(8, "little")


def write_rdb(keyspace, aux: dict[bytes, bytes] | None = None, list_fill: int = -2,
              now_ms: int | None = None, compress: bool = True) -> bytes:
    """The whole RDB file of `keyspace` (or of a View), EOF and checksum included."""
    body = b"".join(iter_rdb(keyspace, aux, list_fill, now_ms, compress=compress)) + bytes(
        (OP_EOF,))
    return body + crc64(body).to_bytes(8, "little")


def function_record(code: bytes) -> bytes:
    """One library as RDB_OPCODE_FUNCTION2: the opcode, then its whole code as a string."""
    return bytes((OP_FUNCTION2,)) + encode_string(code)


# -- reading ------------------------------------------------------------------------
def read_old_function(r: Reader) -> bytes:
    """RDB_OPCODE_FUNCTION (7.0 rc1/rc2): name, engine, [description], body, turned into
    the library code a FUNCTION2 record holds (as rdbFunctionLoad does)."""
    name, engine = r.string(), r.string()
    if r.plain_length():
        r.string()                                 # the description: dropped
    return b"#!%s name=%s\n%s" % (engine, name, r.string())


class Snapshot:
    """What an RDB file holds: aux fields, function libraries (their codes, in file
    order) and (db, key, value, expire_ms|None) entries."""

    __slots__ = ("version", "aux", "entries", "resize", "functions")

    def __init__(self):
        self.version = 0
        self.aux: dict[bytes, bytes] = {}
        self.entries: list[tuple[int, bytes, object, int | None]] = []
        self.resize: dict[int, tuple[int, int]] = {}
        self.functions: list[bytes] = []


def read_rdb(buf: bytes, check_crc: bool = True) -> Snapshot:
    """Parse a whole RDB file; RdbError on anything we cannot fully account for."""
    if len(buf) < 9 or buf[:5] != MAGIC or not buf[5:9].isdigit():
        raise RdbError("Wrong signature trying to load DB from file")
    snap = Snapshot()
    snap.version = int(buf[5:9])
    if snap.version < 1 or snap.version > RDB_VERSION:
        raise RdbError(f"Can't handle RDB format version {snap.version}")
    r = Reader(buf, 9)
    db = 0
    expire: int | None = None
    try:
        while True:
            op = r.byte()
            if op == OP_EOF:
                break
            if op == OP_EXPIRETIME_MS:
                expire = int.from_bytes(r.read(8), "little", signed=True)
            elif op == OP_EXPIRETIME:
                expire = int.from_bytes(r.read(4), "little", signed=True) * 1000
            elif op == OP_SELECTDB:
                db = r.plain_length()
            elif op == OP_RESIZEDB:
                snap.resize[db] = (r.plain_length(), r.plain_length())
            elif op == OP_AUX:
                name = r.string()
                snap.aux[name] = r.string()
            elif op == OP_IDLE:
                r.plain_length()
            elif op == OP_FREQ:
                r.byte()
            elif op == OP_FUNCTION2:
                snap.functions.append(r.string())
            elif op == OP_FUNCTION:
                snap.functions.append(read_old_function(r))
            elif op == OP_MODULE_AUX:
                raise RdbError(f"RDB opcode {op} (modules) is not supported")
            else:
                loader = LOADERS.get(op)
                if loader is None:
                    word = TYPE_WORDS.get(op)
                    what = f"type {op} ({word})" if word else f"opcode {op}"
                    raise RdbError(f"Unsupported RDB object {what}: this server cannot "
                                   f"load it")
                key = r.string()
                snap.entries.append((db, key, loader(r, op), expire))
                expire = None
    except Corrupt as err:
        raise RdbError(f"Corrupt RDB at byte {r.pos}: {err}") from None
    if snap.version >= 5 and check_crc:
        if r.pos + 8 > len(buf):
            raise RdbError("Unexpected EOF reading RDB file (no checksum)")
        expected = int.from_bytes(buf[r.pos:r.pos + 8], "little")
        if expected and crc64(buf[:r.pos]) != expected:
            raise RdbError("Wrong RDB checksum")
    return snap


def load_into(keyspace, buf: bytes, check_crc: bool = True) -> Snapshot:
    """Replace the keyspace's content with the snapshot in `buf` (parsed fully first, so
    a bad file leaves the data as it was). Returns the parsed snapshot (aux fields)."""
    snap = read_rdb(buf, check_crc)
    n = len(keyspace.dbs)
    for db_id, *_ in snap.entries:
        if db_id >= n:
            raise RdbError(f"FATAL: Data file was created with a Redis server configured "
                           f"to handle more than {n} databases. Exiting")
    for db in keyspace.dbs:
        db.flush()
    per_db: dict[int, list] = {}
    for db_id, key, value, expire in snap.entries:
        entries = per_db.get(db_id)
        if entries is None:
            entries = per_db[db_id] = []
        entries.append((key, value, expire))
    for db_id, entries in per_db.items():
        keyspace.dbs[db_id].load(entries)
    return snap
