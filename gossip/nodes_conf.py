"""CLUSTER NODES lines and the nodes.conf file (text, parse, atomic save, lock).

Line format (Redis 7.0.15, checked against the real server):

    <id> <ip>:<port>@<cport>[,<hostname>] <flags> <primary|-> <ping_sent> <pong_received>
        <config-epoch> <connected|disconnected> <slot|a-b>... [<s>->-<id>] [<s>-<-<id>]

* flags in Redis's fixed order (gossip.records.format_flags), `noflags` when none;
* a replica's config-epoch is its primary's (when the primary is known);
* link state: `connected` for myself or a node with an outbound link, else `disconnected`;
* open slots (`[s->-id]` migrating, `[s-<-id]` importing) only on the myself line,
  in slot order, migrating before importing for the same slot;
* nodes.conf lines are the same (7.0.15 writes exactly its CLUSTER NODES text), except
  that we keep the shard id as an aux field the way Redis 7.2 does:
  `<ip>:<port>@<cport>,<hostname-or-empty>,shard-id=<40 hex>`;
* nodes.conf ends with `vars currentEpoch <n> lastVoteEpoch <n>` and leaves out
  handshake nodes.

Loading is strict: every field is checked and anything malformed raises NodesConfError
naming the line. ping_sent / pong_received are returned as written; Redis resets a
non-zero value to "now" when it loads the file, which is the loader's business.
"""
from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import re
from typing import Iterable, Mapping

import attrs

from gossip.records import Flag, NodeRecord, SlotBitmap, format_flags, parse_flags
from slots import CLUSTER_SLOTS

_ID_RE = re.compile(r"[0-9a-f]{40}\Z")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9.\-]{0,255}\Z")
_UINT_RE = re.compile(r"[0-9]{1,20}\Z")
_UINT64_MAX = (1 << 64) - 1
_OPEN_SLOT_RE = re.compile(r"\[([0-9]{1,5})-([<>])-([0-9a-f]{40})\]\Z")
_AUX_KEYS = ("shard-id", "nodename", "tcp-port", "tls-port")


# -- formatting -----------------------------------------------------------------------

def _slot_ranges(bitmap: SlotBitmap) -> list[str]:
    """`a-b` / `a` per run of the bitmap (its cached runs: no walk of unchanged slots)."""
    return [f"{start}-{end}" if start != end else str(start) for start, end in bitmap.runs()]


def _address(record: NodeRecord, for_config: bool) -> str:
    addr = f"{record.ip}:{record.port}@{record.cport}"
    if for_config and record.shard_id:
        return f"{addr},{record.hostname},shard-id={record.shard_id}"
    if record.hostname:
        return f"{addr},{record.hostname}"
    return addr


def node_line(record: NodeRecord, now: int = 0, *, migrating: Mapping[int, str] | None = None,
              importing: Mapping[int, str] | None = None, for_config: bool = False,
              myself_id: str | None = None,
              nodes: Mapping[str, NodeRecord] | None = None) -> str:
    """One CLUSTER NODES (or nodes.conf) line, without the final "\\n".

    `nodes` (id -> record) lets a replica's line show its primary's config epoch, as
    Redis does; without it the record's own epoch is printed. `now` is not needed by
    the 7.0.15 format (times are printed as stored) and is accepted for symmetry.
    """
    is_myself = bool(record.flags & Flag.MYSELF) or (myself_id is not None
                                                    and record.id == myself_id)
    epoch = record.config_epoch
    if record.flags & Flag.SLAVE and record.primary_id and nodes:
        primary = nodes.get(record.primary_id)
        if primary is not None:
            epoch = primary.config_epoch
    link = "connected" if is_myself or record.link is not None else "disconnected"
    flags = record.flags | Flag.MYSELF if is_myself else record.flags
    parts = [record.id, _address(record, for_config), format_flags(flags),
             record.primary_id or "-", str(record.ping_sent), str(record.pong_received),
             str(epoch), link]
    parts += _slot_ranges(record.slots)
    if is_myself:
        open_slots = sorted([(s, 0, f"[{s}->-{n}]") for s, n in (migrating or {}).items()]
                            + [(s, 1, f"[{s}-<-{n}]") for s, n in (importing or {}).items()])
        parts += [text for _, _, text in open_slots]
    return " ".join(parts)


def _lines(records: Iterable[NodeRecord], myself_id: str, now: int, migrating, importing,
           for_config: bool) -> list[str]:
    records = list(records)
    by_id = {r.id: r for r in records}
    out = []
    for r in records:
        if for_config and r.flags & Flag.HANDSHAKE:
            continue
        out.append(node_line(r, now, migrating=migrating, importing=importing,
                             for_config=for_config, myself_id=myself_id, nodes=by_id))
    return out


def format_nodes(records: Iterable[NodeRecord], myself_id: str, now: int,
                 migrating: Mapping[int, str] | None = None,
                 importing: Mapping[int, str] | None = None) -> str:
    """The CLUSTER NODES reply body: one line per node, each ending in "\\n"."""
    return "".join(line + "\n" for line in
                   _lines(records, myself_id, now, migrating, importing, False))


def format_config(records: Iterable[NodeRecord], myself_id: str, current_epoch: int,
                  last_vote_epoch: int, migrating: Mapping[int, str] | None = None,
                  importing: Mapping[int, str] | None = None) -> str:
    """The nodes.conf text (handshake nodes left out, `vars` line last)."""
    lines = _lines(records, myself_id, 0, migrating, importing, True)
    lines.append(f"vars currentEpoch {current_epoch} lastVoteEpoch {last_vote_epoch}")
    return "".join(line + "\n" for line in lines)


# -- parsing --------------------------------------------------------------------------

class NodesConfError(Exception):
    """A corrupt nodes.conf. lineno is 1-based (0: not about one line)."""

    def __init__(self, lineno: int, line: str, reason: str, path: str | None = None):
        super().__init__(f"line {lineno}: {reason}" if lineno else reason)
        self.lineno = lineno
        self.line = line
        self.reason = reason
        self.path = path

    def report(self, path: str | None = None) -> str:
        name = path if path is not None else (self.path if self.path is not None
                                              else "nodes.conf")
        where = f" line {self.lineno}" if self.lineno else ""
        text = f'Unrecoverable error: corrupted cluster config file "{name}"{where}: {self.reason}'
        if self.line:
            text += f" (line: {self.line[:200]!r})"
        return text


@attrs.define
class SavedConfig:
    myself_id: str
    records: list[NodeRecord]
    current_epoch: int = 0
    last_vote_epoch: int = 0
    migrating: dict[int, str] = attrs.field(factory=dict)
    importing: dict[int, str] = attrs.field(factory=dict)


class _Bad(ValueError):
    pass


def _uint(text: str, what: str, hi: int = _UINT64_MAX) -> int:
    if not _UINT_RE.match(text) or int(text) > hi:
        raise _Bad(f"bad {what} '{text[:50]}'")
    return int(text)


def _node_id(text: str, what: str) -> str:
    if not _ID_RE.match(text):
        raise _Bad(f"bad {what} '{text[:50]}'")
    return text


def _parse_ip(text: str) -> str:
    if text:
        if len(text) > 46:
            raise _Bad("bad ip address")
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise _Bad(f"bad ip address '{text}'") from None
    return text


def _parse_address(field: str, record: NodeRecord) -> None:
    main, *extras = field.split(",")
    if "@" in main:
        hostport, cport_text = main.split("@", 1)
        cport: int | None = _uint(cport_text, "bus port", 65535)
    else:
        hostport, cport = main, None         # pre-4.0 files: bus port = port + 10000
    if ":" not in hostport:
        raise _Bad(f"bad address '{field[:80]}'")
    ip, port_text = hostport.rsplit(":", 1)
    record.ip = _parse_ip(ip)
    record.port = _uint(port_text, "port", 65535)
    if cport is None:
        cport = record.port + 10000
        if cport > 65535:
            raise _Bad(f"bad address '{field[:80]}'")
    record.cport = cport
    if extras:
        hostname = extras[0]
        if not _HOSTNAME_RE.match(hostname):
            raise _Bad(f"bad hostname '{hostname[:80]}'")
        record.hostname = hostname
    seen = set()
    for aux in extras[1:]:
        key, sep, value = aux.partition("=")
        if not sep or key not in _AUX_KEYS:
            raise _Bad(f"unknown aux field '{aux[:80]}'")
        if key in seen:
            raise _Bad(f"duplicate aux field '{key}'")
        seen.add(key)
        if key == "shard-id":
            record.shard_id = _node_id(value, "shard id")
        elif key in ("tcp-port", "tls-port"):
            _uint(value, key, 65535)
        elif not _HOSTNAME_RE.match(value):
            raise _Bad(f"bad nodename '{value[:80]}'")


def _parse_node_line(argv: list[str], owners: dict[int, str],
                     migrating: dict[int, str], importing: dict[int, str],
                     open_refs: list[str]) -> NodeRecord:
    if len(argv) < 8:
        raise _Bad(f"expected at least 8 fields, got {len(argv)}")
    record = NodeRecord(id=_node_id(argv[0], "node id"))
    _parse_address(argv[1], record)
    try:
        record.flags = parse_flags(argv[2])
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    if argv[3] != "-":
        record.primary_id = _node_id(argv[3], "primary id")
        if record.primary_id == record.id:
            raise _Bad("a node cannot replicate itself")
    record.ping_sent = _uint(argv[4], "ping-sent")
    record.pong_received = _uint(argv[5], "pong-received")
    record.config_epoch = _uint(argv[6], "config epoch")
    if argv[7] not in ("connected", "disconnected"):
        raise _Bad(f"bad link state '{argv[7][:50]}'")
    for item in argv[8:]:
        if item.startswith("["):
            m = _OPEN_SLOT_RE.match(item)
            if not m:
                raise _Bad(f"bad open slot '{item[:80]}'")
            slot = _uint(m.group(1), "slot", CLUSTER_SLOTS - 1)
            table = migrating if m.group(2) == ">" else importing
            if slot in table:
                raise _Bad(f"slot {slot} opened twice")
            table[slot] = m.group(3)
            open_refs.append(m.group(3))
            continue
        start_text, sep, end_text = item.partition("-")
        start = _uint(start_text, "slot", CLUSTER_SLOTS - 1)
        end = _uint(end_text, "slot", CLUSTER_SLOTS - 1) if sep else start
        if start > end:
            raise _Bad(f"bad slot range '{item}'")
        for slot in range(start, end + 1):
            if slot in owners:
                raise _Bad(f"slot {slot} already assigned to {owners[slot]}")
            owners[slot] = record.id
            record.slots.add(slot)
    return record


def _parse_vars(argv: list[str]) -> dict[str, int]:
    pairs = argv[1:]
    if not pairs or len(pairs) % 2:
        raise _Bad("vars line needs name/value pairs")
    out: dict[str, int] = {}
    for name, value in zip(pairs[::2], pairs[1::2]):
        if name not in ("currentEpoch", "lastVoteEpoch"):
            raise _Bad(f"unknown variable '{name[:50]}'")
        if name in out:
            raise _Bad(f"duplicate variable '{name}'")
        out[name] = _uint(value, name)
    return out


def parse_config(text: str | bytes) -> SavedConfig:
    """Parse a nodes.conf text; raises NodesConfError for anything malformed."""
    if isinstance(text, bytes):
        raw_lines = text.split(b"\n")
    else:
        raw_lines = text.split("\n")
    records: list[NodeRecord] = []
    by_id: dict[str, int] = {}
    owners: dict[int, str] = {}
    migrating: dict[int, str] = {}
    importing: dict[int, str] = {}
    myself_id = None
    variables: dict[str, int] | None = None
    for lineno, raw in enumerate(raw_lines, 1):
        if isinstance(raw, bytes):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise NodesConfError(lineno, raw.decode("utf-8", "replace"),
                                     "not valid UTF-8") from None
        else:
            line = raw
        line = line.rstrip("\r")
        if not line.strip():
            continue
        argv = line.split()
        try:
            if argv[0] == "vars":
                if variables is not None:
                    raise _Bad("more than one vars line")
                variables = _parse_vars(argv)
                continue
            refs: list[str] = []
            mig_before, imp_before = dict(migrating), dict(importing)
            record = _parse_node_line(argv, owners, migrating, importing, refs)
            if record.id in by_id:
                raise _Bad(f"duplicate node id {record.id} (first on line {by_id[record.id]})")
            if record.flags & Flag.MYSELF:
                if myself_id is not None:
                    raise _Bad("more than one myself line")
                myself_id = record.id
            elif (migrating, importing) != (mig_before, imp_before):
                raise _Bad("open slots on a line that is not myself")
        except _Bad as exc:
            raise NodesConfError(lineno, line, str(exc)) from None
        by_id[record.id] = lineno
        records.append(record)
    if myself_id is None:
        raise NodesConfError(0, "", "no myself line")
    variables = variables or {}
    return SavedConfig(myself_id=myself_id, records=records,
                       current_epoch=variables.get("currentEpoch", 0),
                       last_vote_epoch=variables.get("lastVoteEpoch", 0),
                       migrating=migrating, importing=importing)


# -- the file -------------------------------------------------------------------------

class NodesConfLockError(Exception):
    """Another node holds the config file (or it cannot be locked)."""


class NodesConfFile:
    """nodes.conf on disk: an exclusive flock while the node runs, strict load, atomic
    save (temp file in the same directory + rename, optional fsync of file and dir).

    The lock is on the file itself (as Redis does). Because save() replaces the file,
    the new file is locked before it is renamed into place, so the name is never
    unlocked while we run; lock() re-checks that it locked the file that is still named
    `path` (it may have been replaced between open and flock).
    """

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None

    # -- lock ---------------------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self._fd is not None

    def lock(self) -> None:
        if self._fd is not None:
            return
        for _ in range(100):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise NodesConfLockError(
                    f"Can't open {self.path} in order to acquire a lock: {exc.strerror}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise NodesConfLockError(
                        f"Sorry, the cluster configuration file {self.path} is already used "
                        "by a different Redis Cluster node. Please make sure that different "
                        "nodes use different cluster configuration files.") from None
                raise NodesConfLockError(
                    f"Impossible to lock {self.path}: {exc.strerror}") from exc
            try:
                st_fd, st_path = os.fstat(fd), os.stat(self.path)
                same = (st_fd.st_dev, st_fd.st_ino) == (st_path.st_dev, st_path.st_ino)
            except OSError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)                    # replaced under us: lock the new one
        raise NodesConfLockError(f"Impossible to lock {self.path}: file keeps changing")

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> "NodesConfFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- load / save --------------------------------------------------------------
    def load(self) -> SavedConfig | None:
        """The saved config, or None when the file is missing or empty."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        if not data:
            return None
        try:
            return parse_config(data)
        except NodesConfError as exc:
            exc.path = self.path
            raise

    def save(self, text: str, fsync: bool) -> None:
        """Replace the file with `text` atomically. Raises OSError (the old file stays
        whole and, if we held the lock, still locked)."""
        directory = os.path.dirname(os.path.abspath(self.path))
        tmp = os.path.join(directory, f".{os.path.basename(self.path)}.tmp-{os.getpid()}")
        data = text.encode("utf-8")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        renamed = False
        try:
            if self._fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if fsync:
                os.fsync(fd)
            os.replace(tmp, self.path)
            renamed = True
            if fsync:
                _fsync_dir(directory)
        finally:
            if not renamed:
                os.close(fd)
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        if self._fd is not None:
            old, self._fd = self._fd, fd
            os.close(old)
        else:
            os.close(fd)


def _fsync_dir(directory: str) -> None:
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
