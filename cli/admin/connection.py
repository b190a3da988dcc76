"""Node connections and the cluster view, as redis-cli --cluster loads them.

    node = AdminNode.from_address("n1:7000", auth)   # hostname resolved to an IP
    node.connect()                                   # AdminError on refusal / bad password
    view = ClusterView.load(node)                    # CLUSTER NODES of node and every friend
    view.nodes[0] is node; view.by_id(...); view.masters(); view.covered_slots()

Failures raise AdminError, whose `report()` prints the one Redis-worded line (or the
two-line "Node ip:port replied with error:" block) to the stream redis-cli uses; the
command then returns `exit_code` (1).

Replies come from redis-py (RESP2, str values). Error replies are given back in the
server's own words (`ERR ...`, `WRONGPASS ...`) via `full_error()`.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field

import redis

from cli.admin import output

CLUSTER_SLOTS = 16384
PORT_INCR = 10000
INVALID_HOST_ARG = (
    "[ERR] Invalid arguments: you need to pass either a valid address "
    "(ie. 120.0.0.1:7000) or space separated IP and port (ie. 120.0.0.1 7000)\n")
NOT_EMPTY = ("is not empty. Either the node already knows other nodes (check with "
             "CLUSTER NODES) or contains some key in database 0.")
NOT_CLUSTER = "is not configured as a cluster node."


class AdminError(Exception):
    """A failure already worded as redis-cli words it.

    kind: "err" (stdout, red: `[ERR] ...`), "stderr" (plain, like `Could not connect`),
    "printed" (the message was already shown).
    """

    def __init__(self, message: str, kind: str = "err", exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.exit_code = exit_code

    def report(self) -> None:
        text = self.message if self.message.endswith("\n") else self.message + "\n"
        if self.kind == "stderr":
            output.stderr(text)
        elif self.kind == "err":
            output.err(text)


@dataclass
class Auth:
    password: str | None = None
    user: str | None = None


def full_error(exc: redis.ResponseError) -> str:
    """The error reply as the server sent it (redis-py strips known codes)."""
    code = getattr(exc, "status_code", None)
    text = str(exc)
    return f"{code} {text}" if code else text


def parse_address(addr: str) -> tuple[str, int]:
    """`host:port[@bus]` -> (host, port); AdminError with redis-cli's words if malformed."""
    base = addr.rsplit("@", 1)[0] if "@" in addr else addr
    host, sep, port = base.rpartition(":")
    if not sep or not host or not _port_ok(port):
        raise AdminError(INVALID_HOST_ARG)
    return host, int(port)


def host_from_args(args: list[str]) -> tuple[str, int]:
    """redis-cli's getClusterHostFromCmdArgs: `host:port` or `host port`."""
    if len(args) == 1:
        return parse_address(args[0])
    if len(args) >= 2 and args[0] and _port_ok(args[1]):
        return args[0], int(args[1])
    raise AdminError(INVALID_HOST_ARG)


def _port_ok(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


def resolve(host: str, port: int) -> str:
    """Hostname -> IP (IPv4 preferred). AdminError in hiredis's words if unknown."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AdminError(f"Could not connect to Redis at {host}:{port}: {exc.strerror}",
                         kind="stderr") from None
    infos.sort(key=lambda i: i[0] != socket.AF_INET)
    return infos[0][4][0]


def info_field(text: str, name: str) -> str | None:
    """A `name:value` field of INFO / CLUSTER INFO text."""
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line[len(name) + 1:].strip()
    return None


class AdminNode:
    """One node as redis-cli's clusterManagerNode: address, connection and loaded state."""

    def __init__(self, ip: str, port: int, auth: Auth | None = None, host: str | None = None,
                 bus_port: int | None = None):
        self.host = host or ip          # as the user wrote it
        self.ip = ip
        self.port = port
        self.bus_port = bus_port if bus_port is not None else port + PORT_INCR
        self.auth = auth or Auth()
        self.conn: redis.Redis | None = None
        self.reset_state()

    def reset_state(self) -> None:
        self.id = ""
        self.flags: list[str] = []                 # as the node's own line prints them
        self.state: set[str] = set()               # slave/noaddr/disconnected/fail, OR'ed
        self.replicate: str | None = None          # master id when a replica
        self.slots: set[int] = set()
        self.migrating: dict[int, str] = {}        # slot -> destination id
        self.importing: dict[int, str] = {}        # slot -> source id
        self.config_epoch = 0
        self.ping_sent = 0
        self.pong_recv = 0
        self.link_state = "connected"
        self.replicas_count = 0
        self.dirty = False
        self.friends: list[AdminNode] = []
        # free for planners (create/rebalance): replicas assigned, weight, balance
        self.planned_replicas: list[AdminNode] = []
        self.weight = 1.0
        self.balance = 0

    @classmethod
    def from_address(cls, addr: str, auth: Auth | None = None) -> "AdminNode":
        host, port = parse_address(addr)
        return cls(resolve(host, port), port, auth, host=host)

    @classmethod
    def from_host_port(cls, host: str, port: int, auth: Auth | None = None) -> "AdminNode":
        return cls(resolve(host, port), port, auth, host=host)

    def __repr__(self) -> str:
        return f"<AdminNode {self.ip}:{self.port} {self.id[:8]}>"

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def is_replica(self) -> bool:
        return "slave" in self.state

    @property
    def is_master(self) -> bool:
        return not self.is_replica

    # -- connection -------------------------------------------------------------
    def connect(self, timeout: float | None = None) -> "AdminNode":
        """Open the connection (and AUTH). AdminError in redis-cli's words otherwise."""
        if self.conn is not None:
            self.conn.close()
        try:
            sock = socket.create_connection((self.ip, self.port), timeout=10)
            sock.close()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if isinstance(exc, socket.timeout):
                reason = "Connection timed out"
            raise AdminError(f"Could not connect to Redis at {self.host}:{self.port}: "
                             f"{reason}", kind="stderr") from None
        self.conn = redis.Redis(host=self.ip, port=self.port, decode_responses=True,
                                encoding_errors="surrogateescape",
                                protocol=2, socket_timeout=timeout,
                                socket_keepalive=True, single_connection_client=True,
                                lib_name=None, lib_version=None)
        self.conn.response_callbacks.clear()       # raw replies: INFO text, CLUSTER NODES text
        if self.auth.password is not None:
            args = ["AUTH"] + ([self.auth.user] if self.auth.user else []) + [self.auth.password]
            try:
                self.raw_call(*args)
            except redis.ResponseError as exc:
                raise self.reply_failure(full_error(exc)) from None
        return self

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def reply_failure(self, error: str) -> AdminError:
        """`Node ip:port replied with error:\\n<err>` (redis-cli's reply-error block)."""
        return AdminError(f"Node {self.ip}:{self.port} replied with error:\n{error}")

    def call(self, *args):
        """Run a command; AdminError (reply-error block) on an error reply or lost link."""
        try:
            return self.raw_call(*args)
        except redis.ResponseError as exc:
            raise self.reply_failure(full_error(exc)) from None

    def raw_call(self, *args):
        """Run a command; redis.ResponseError passes through (callers tolerate errors)."""
        if self.conn is None:
            self.connect()
        try:
            return self.conn.execute_command(*args)
        except redis.AuthenticationError as exc:      # NOAUTH / WRONGPASS: an error reply
            raise redis.ResponseError(full_error(exc)) from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise AdminError(f"[ERR] Connection to {self.ip}:{self.port} lost: {exc}") from None

    def try_call(self, *args):
        """(reply, None) or (None, error text in the server's words)."""
        try:
            return self.raw_call(*args), None
        except redis.ResponseError as exc:
            return None, full_error(exc)

    # -- checks -----------------------------------------------------------------
    def info(self) -> str:
        return self.call("INFO")

    def is_cluster(self) -> bool:
        return info_field(self.info(), "cluster_enabled") == "1"

    def check_cluster(self) -> None:
        """INFO must say cluster_enabled:1; redis-cli's words otherwise (an error reply
        such as NOAUTH is printed in place of the sentence)."""
        reply, error = self.try_call("INFO")
        if error is not None:
            raise AdminError(f"[ERR] Node {self.ip}:{self.port} {error}")
        if info_field(reply, "cluster_enabled") != "1":
            raise AdminError(f"[ERR] Node {self.ip}:{self.port} {NOT_CLUSTER}")

    def check_empty(self) -> None:
        """No db0 in INFO and cluster_known_nodes:1, else redis-cli's not-empty error."""
        reply, error = self.try_call("INFO")
        if error is None and "db0:" not in reply:
            reply, error = self.try_call("CLUSTER", "INFO")
            if error is None and info_field(reply, "cluster_known_nodes") == "1":
                return
        raise AdminError(f"[ERR] Node {self.ip}:{self.port} {error or NOT_EMPTY}")

    def is_empty(self) -> bool:
        if "db0:" in self.info():
            return False
        known = info_field(self.call("CLUSTER", "INFO"), "cluster_known_nodes")
        return known == "1"

    def count_keys_in_slot(self, slot: int) -> int:
        return int(self.call("CLUSTER", "COUNTKEYSINSLOT", slot))

    def dbsize(self) -> int:
        return int(self.call("DBSIZE"))

    # -- CLUSTER NODES ----------------------------------------------------------
    def load_info(self, get_friends: bool = False) -> None:
        """redis-cli's clusterManagerNodeLoadInfo: my own line (slots, open slots), and
        with get_friends a new AdminNode per other line (flags as this node sees them)."""
        text = self.call("CLUSTER", "NODES")
        if get_friends:
            self.friends = []
        for line in text.split("\n"):
            if not line.strip():
                continue
            entry = parse_nodes_line(line)
            if entry is None:
                raise AdminError("Error: invalid CLUSTER NODES reply", kind="stderr")
            if "myself" in entry.flags:
                self.bus_port = entry.bus_port
                self.slots = set(entry.slots)
                self.migrating = dict(entry.migrating)
                self.importing = dict(entry.importing)
                self.dirty = False
                current = self
            elif not get_friends:
                continue
            else:
                current = AdminNode(entry.ip, entry.port, self.auth, bus_port=entry.bus_port)
                self.friends.append(current)
            current.id = entry.id
            current.flags = list(entry.flags)
            current.state |= {f for f in entry.flags
                              if f in ("slave", "noaddr", "disconnected", "fail")}
            if "slave" in entry.flags and entry.master_id != "-":
                current.replicate = entry.master_id
            current.config_epoch = entry.config_epoch
            current.ping_sent = entry.ping_sent
            current.pong_recv = entry.pong_recv
            current.link_state = entry.link_state
            if not get_friends and current is self:
                break

    @property
    def unusable(self) -> bool:
        return bool(self.state & {"noaddr", "disconnected", "fail"})


@dataclass
class NodesEntry:
    id: str
    ip: str
    port: int
    bus_port: int
    flags: list[str]
    master_id: str
    ping_sent: int
    pong_recv: int
    config_epoch: int
    link_state: str
    slots: list[int] = field(default_factory=list)
    slot_fields: list[str] = field(default_factory=list)   # as printed, '[..]' excluded
    migrating: dict[int, str] = field(default_factory=dict)
    importing: dict[int, str] = field(default_factory=dict)


def parse_nodes_line(line: str) -> NodesEntry | None:
    """One CLUSTER NODES line; None if malformed."""
    parts = line.split(" ")
    if len(parts) < 8:
        return None
    addr = parts[1].split(",", 1)[0]
    hostport, _, bus = addr.partition("@")
    ip, sep, port = hostport.rpartition(":")
    if not sep:
        return None
    try:
        entry = NodesEntry(parts[0], ip, int(port or 0), int(bus or 0),
                           parts[2].split(","), parts[3], int(parts[4]), int(parts[5]),
                           int(parts[6]), parts[7])
    except ValueError:
        return None
    for spec in parts[8:]:
        if not spec:
            continue
        if spec.startswith("["):
            body = spec[1:].rstrip("]")
            if "->-" in body:
                slot, _, dst = body.partition("->-")
                entry.migrating[int(slot)] = dst
            elif "-<-" in body:
                slot, _, src = body.partition("-<-")
                entry.importing[int(slot)] = src
            continue
        entry.slot_fields.append(spec)
        start, _, end = spec.partition("-")
        entry.slots.extend(range(int(start), int(end or start) + 1))
    return entry


def config_signature(node: AdminNode) -> str | None:
    """redis-cli's clusterManagerGetConfigSignature: sorted `id:slots` of nodes with slots
    as this node sees them; None if no node has slots or the node errs."""
    reply, error = node.try_call("CLUSTER", "NODES")
    if error is not None or not isinstance(reply, str):
        return None
    configs = []
    for line in reply.split("\n"):
        parts = line.split(" ")
        if len(parts) < 9:
            continue
        slots = sorted(s for s in parts[8:] if s and not s.startswith("["))
        if slots:
            configs.append(parts[0] + ":" + ",".join(slots))
    return "|".join(sorted(configs)) if configs else None


class ClusterView:
    """The nodes redis-cli would manage, entry node first (clusterManagerLoadInfoFromNode)."""

    def __init__(self, nodes: list[AdminNode], unreachable_masters: int = 0):
        self.nodes = nodes
        self.unreachable_masters = unreachable_masters

    @classmethod
    def load(cls, entry: AdminNode) -> "ClusterView":
        if entry.conn is None:
            entry.connect()
        entry.check_cluster()
        entry.load_info(get_friends=True)
        nodes, unreachable = [entry], 0
        for friend in entry.friends:
            usable = bool(friend.ip and friend.port) and not friend.unusable
            if usable:
                try:
                    friend.connect()
                    friend.load_info()
                    usable = not friend.unusable
                except AdminError as exc:
                    if exc.message.startswith("Could not connect"):
                        exc.report()
                    else:
                        output.err(f"[ERR] Unable to load info for node "
                                   f"{friend.ip}:{friend.port}\n")
                    usable = False
            if usable:
                nodes.append(friend)
            else:
                if not friend.is_replica:
                    unreachable += 1
                friend.close()
        entry.friends = []
        view = cls(nodes, unreachable)
        view.count_replicas()
        return view

    def count_replicas(self) -> None:
        for n in self.nodes:
            n.replicas_count = 0
        for n in self.nodes:
            if n.replicate:
                master = self.by_id(n.replicate)
                if master is None:
                    output.warn(f"*** WARNING: {n.ip}:{n.port} claims to be slave of "
                                f"unknown node ID {n.replicate}.\n")
                else:
                    master.replicas_count += 1

    def close(self) -> None:
        for n in self.nodes:
            n.close()

    # -- lookups ----------------------------------------------------------------
    def by_id(self, node_id: str) -> AdminNode | None:
        node_id = node_id.lower()
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None

    def by_prefix(self, prefix: str) -> AdminNode | None:
        prefix = prefix.lower()
        for n in self.nodes:
            if n.id and n.id.startswith(prefix):
                return n
        return None

    def masters(self) -> list[AdminNode]:
        return [n for n in self.nodes if n.is_master]

    def replicas_of(self, master_id: str) -> list[AdminNode]:
        return [n for n in self.nodes if n.replicate == master_id]

    def owner_of(self, slot: int) -> AdminNode | None:
        for n in self.nodes:
            if slot in n.slots:
                return n
        return None

    def covered_slots(self) -> set[int]:
        covered: set[int] = set()
        for n in self.nodes:
            covered |= n.slots
        return covered

    def open_slots(self) -> dict[int, str]:
        """slot -> peer id of every migrating/importing slot (redis-cli's open_slots)."""
        found: dict[int, str] = {}
        for n in self.nodes:
            found.update(n.migrating)
            found.update(n.importing)
        return found

    def is_consistent(self) -> bool:
        if len(self.nodes) <= 1:
            return True
        first = None
        for n in self.nodes:
            sig = config_signature(n)
            if sig is None:
                return False
            if first is None:
                first = sig
            elif sig != first:
                return False
        return True

    def reload(self) -> "ClusterView":
        """Load again from the same entry node (connections are reopened)."""
        entry = self.nodes[0]
        for n in self.nodes[1:]:
            n.close()
        fresh = AdminNode(entry.ip, entry.port, entry.auth, host=entry.host)
        fresh.conn, entry.conn = entry.conn, None
        return ClusterView.load(fresh)


def load_cluster(addr_args: list[str], auth: Auth | None = None) -> ClusterView:
    """Parse `host:port` (or `host port`), connect, and load the view."""
    host, port = host_from_args(addr_args)
    node = AdminNode.from_host_port(host, port, auth)
    node.connect()
    return ClusterView.load(node)
