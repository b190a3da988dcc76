"""Reading AOF files at start-up (base + incr files in manifest order): the RESP commands
of an incr (or `.base.aof`) file, executed through the command handlers with a fake
client (no propagation, no replies, no stats), as Redis's loadSingleAppendOnlyFile does;
an RDB base (`.base.rdb`) is put in place as a dump is (cluster.persistence.rdb_file).

A file ending in the middle of a command is "truncated" (`Truncated`, carrying the offset
of the last complete command, or of the MULTI of an unfinished transaction); any other
malformation is a `BadFormat` at a byte offset.
"""
from __future__ import annotations

import os
import time

from cluster.persistence.aof_manifest import Manifest, ManifestError
from cluster.execution.client import Client
from cluster.persistence.rdb_file import LoadError, apply_steps
from cluster.encoding.rdb import RdbError, read_rdb
from cluster.resp.reply import ReplyError
from cluster.execution.table import lookup


class AofLoadError(LoadError):
    """The AOF cannot be loaded: the server must not start (`lines`: Redis's words, which
    cluster.persistence.loading logs before exiting with status 1)."""


class Truncated(Exception):
    def __init__(self, valid_up_to: int):
        super().__init__(valid_up_to)
        self.valid_up_to = valid_up_to


class BadFormat(Exception):
    def __init__(self, offset: int, why: str = ""):
        super().__init__(offset, why)
        self.offset = offset
        self.why = why


class UnknownCommand(Exception):
    pass


def _line(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = buf.find(b"\r\n", pos)
    if end == -1:
        raise EOFError
    return buf[pos:end], end + 2


def parse(buf: bytes, pos: int = 0):
    """Yield (argv, start offset, end offset) for every command of `buf` from `pos`.
    Raises Truncated / BadFormat (after yielding the good ones before)."""
    n = len(buf)
    while pos < n:
        start = pos
        try:
            if buf[pos] == 0x23:                     # '#' annotation (aof-timestamp)
                _, pos = _line(buf, pos)
                continue
            if buf[pos] != 0x2A:                     # '*'
                raise BadFormat(pos, "expected '*'")
            head, pos = _line(buf, pos)
            try:
                argc = int(head[1:])
            except ValueError:
                raise BadFormat(start, "bad multibulk length") from None
            if argc < 1:
                raise BadFormat(start, "bad multibulk length")
            argv = []
            for _ in range(argc):
                if pos >= n:
                    raise EOFError
                if buf[pos] != 0x24:                 # '$'
                    raise BadFormat(pos, "expected '$'")
                head, pos = _line(buf, pos)
                try:
                    size = int(head[1:])
                except ValueError:
                    raise BadFormat(pos, "bad bulk length") from None
                if size < 0:
                    raise BadFormat(pos, "bad bulk length")
                if pos + size + 2 > n:
                    raise EOFError
                if buf[pos + size:pos + size + 2] != b"\r\n":
                    raise BadFormat(pos + size, "bulk not followed by CRLF")
                argv.append(buf[pos:pos + size])
                pos += size + 2
        except EOFError:
            raise Truncated(start) from None
        yield argv, start, pos


def fake_client(node) -> Client:
    client = Client(node, 0)       # not registered: CLIENT LIST never shows it
    client.authenticated = True
    client.user = None             # the AOF replays as no user: nothing is refused
    return client


STEP = 1024        # commands between two yields of command_steps (the loop serves -LOADING)


def drive(steps):
    """Run a loading generator to its end at once; its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def command_steps(node, buf: bytes, pos: int = 0, client: Client | None = None):
    """Execute the commands of `buf`, yielding every STEP commands so the start-up load
    lets the loop answer -LOADING in between; its return value is the number executed.
    A transaction runs only once its EXEC is read (an unfinished one at the end counts
    as truncation)."""
    client = client or fake_client(node)
    count = 0
    multi_start = -1
    queued: list = []
    try:
        for argv, start, _ in parse(buf, pos):
            name = argv[0].lower()
            if name == b"multi":
                multi_start, queued = start, []
                continue
            if name == b"exec" and multi_start >= 0:
                for cmd, args in queued:
                    _run(client, cmd, args)
                    count += 1
                multi_start, queued = -1, []
                continue
            cmd = lookup(argv)
            if cmd is None:
                raise UnknownCommand(argv[0].decode("utf-8", "replace"))
            if multi_start >= 0:
                queued.append((cmd, argv))
            else:
                _run(client, cmd, argv)
                count += 1
                if not count % STEP:
                    yield
    except Truncated as err:
        if multi_start >= 0:
            raise Truncated(multi_start) from None
        raise
    if multi_start >= 0:
        raise Truncated(multi_start)
    return count


def _run(client, cmd, argv) -> None:
    try:
        cmd.handler(client, argv)
    except ReplyError:
        pass


# -- loading the files named by the manifest -------------------------------------------
def load_steps(node):
    """Load base + incr files in manifest order (the propagation sinks are off), as a
    generator: cluster.persistence.loading drives it, serving -LOADING between steps; its
    return value says whether an AOF was loaded."""
    log = node.log
    dirpath = node.config["appenddirname"]     # relative to `dir` (the cwd)
    filename = node.config["appendfilename"]
    try:
        manifest = Manifest.read(dirpath, filename)
    except ManifestError as err:
        raise AofLoadError(str(err)) from None
    if manifest is None or not manifest.files():
        return False
    ks = node.keyspace
    sinks, node.propagator.sinks = node.propagator.sinks, []
    was_loading, ks.loading = ks.loading, True
    dirty = ks.dirty
    started = time.monotonic()
    try:
        client = fake_client(node)
        names = manifest.files()
        for index, name in enumerate(names):
            last = index == len(names) - 1
            t0 = time.monotonic()
            if not (yield from _load_file(node, client, dirpath, name, manifest, last)):
                continue
            kind = "base" if manifest.base and name == manifest.base[0] else "incr"
            log.notice(f"DB loaded from {kind} file {name}: "
                       f"{time.monotonic() - t0:.3f} seconds")
    finally:
        node.propagator.sinks = sinks
        ks.loading = was_loading
        ks.dirty = dirty
    log.notice(f"DB loaded from append only file: {time.monotonic() - started:.3f} seconds")
    return True


def _load_file(node, client, dirpath, name, manifest, last) -> bool:
    log = node.log
    path = os.path.join(dirpath, name)
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except FileNotFoundError:
        raise AofLoadError(f"The AOF file {name} doesn't exist") from None
    if not buf:
        return False                        # an empty file: nothing to load
    if buf[:5] == b"REDIS":
        log.notice("Reading RDB base file on AOF loading...")
        try:
            snap = read_rdb(buf, node.config["rdbchecksum"])
        except RdbError as err:
            raise AofLoadError(str(err), f"Error reading the RDB base file {name}, AOF "
                               f"loading aborted") from None
        ver = snap.aux.get(b"redis-ver")
        if ver:
            log.notice(f"Loading RDB produced by version {ver.decode('utf-8', 'replace')}")
        loaded, expired = yield from apply_steps(node, snap, repl=False)
        log.notice(f"Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.")
        return True
    try:
        yield from command_steps(node, buf, 0, client)
    except UnknownCommand as err:
        raise AofLoadError(f"Unknown command '{err.args[0]}' reading the append only "
                           f"file {name}") from None
    except BadFormat as err:
        msg = (f"Bad file format reading the append only file {name}: make a backup of "
               f"your AOF file, then use ./redis-check-aof --fix <filename.manifest>")
        raise AofLoadError(msg, f"AOF {name}: bad format at offset {err.offset} "
                                f"({err.why})") from None
    except Truncated as err:
        if not last or not node.config["aof-load-truncated"]:
            msg = (f"Unexpected end of file reading the append only file {name}. You can: "
                   f"1) Make a backup of your AOF file, then use ./redis-check-aof --fix "
                   f"<filename.manifest>. 2) Alternatively you can set the "
                   f"'aof-load-truncated' configuration option to yes and restart the "
                   f"server.")
            raise AofLoadError(msg) from None
        log.warning(f"!!! Warning: short read while loading the AOF file {name}!!!")
        log.warning(f"!!! Truncating the AOF {name} at offset {err.valid_up_to} !!!")
        os.truncate(path, err.valid_up_to)
        log.warning(f"AOF {name} loaded anyway because aof-load-truncated is enabled")
    return True
