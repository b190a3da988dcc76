"""CLUSTER and READONLY / READWRITE.

The handlers validate arguments with Redis 7.0.15's words, call the bus state machine
(`client.node.cluster.state`, a gossip.state.ClusterState) and hand the effects it returns
to the bus transport (`cluster.submit`), which performs them after the reply. Routing
(MOVED / ASK) is not here.
"""
from __future__ import annotations

import ipaddress

from cluster.commands import cluster_views as views
from cluster.commands.args import SYNTAX, parse_int, string2ll
from cluster.commands.help import help_reply
from cluster.resp.reply import OK, ReplyError, Status, Verbatim
from cluster.execution.table import command, container, subcommand
from gossip import setslot
from gossip.errors import ClusterError
from slots import CLUSTER_SLOTS, keyslot

DISABLED = "ERR This instance has cluster support disabled"
_ND = "nondeterministic_output"
_ADMIN = "admin stale no_async_loading"

container("cluster", -2, group="cluster", since="3.0.0",
          summary="A container for cluster commands", complexity="Depends on subcommand.")


def _cluster(client):
    cl = client.node.cluster
    if cl is None:
        raise ReplyError(DISABLED)
    return cl


def _run(client, call, *args):
    """Call a state method with `now`; submit its effects; ClusterError -> ReplyError."""
    cl = _cluster(client)
    try:
        result = call(*args, client.node.now_ms)
    except ClusterError as err:
        raise ReplyError(err.message) from None
    effects = result[1] if isinstance(result, tuple) else result
    cl.submit(effects)
    return result


def _syntax_sub(argv) -> ReplyError:
    """addReplySubcommandSyntaxError."""
    return ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. "
                      "Try CLUSTER HELP." % argv[1].decode("utf-8", "replace")[:128])


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _slot(raw: bytes) -> int:
    """getSlotOrReply."""
    slot = string2ll(raw)
    if slot is None or not 0 <= slot < CLUSTER_SLOTS:
        raise ReplyError("ERR Invalid or out of range slot")
    return slot


def _node(cl, raw: bytes):
    node = cl.state.nodes.get(_text(raw))
    if node is None:
        raise ReplyError(f"ERR Unknown node {_text(raw)}")
    return node


def _check_assign(owner, seen: set, slot: int, delete: bool) -> None:
    """checkSlotAssignmentsOrReply for one slot."""
    if delete and owner[slot] is None:
        raise ReplyError(f"ERR Slot {slot} is already unassigned")
    if not delete and owner[slot] is not None:
        raise ReplyError(f"ERR Slot {slot} is already busy")
    if slot in seen:
        raise ReplyError(f"ERR Slot {slot} specified multiple times")
    seen.add(slot)


def _slots_args(client, argv, delete: bool) -> list[int]:
    cl = _cluster(client)
    parsed = [_slot(raw) for raw in argv[2:]]
    seen: set[int] = set()
    for slot in parsed:
        _check_assign(cl.state.slot_owner, seen, slot, delete)
    return parsed


def _ranges_args(client, argv, delete: bool) -> list[int]:
    cl = _cluster(client)
    if len(argv) % 2 == 1:
        raise ReplyError(f"ERR wrong number of arguments for 'cluster|{_text(argv[1]).lower()}'"
                         f" command")
    seen: set[int] = set()
    out = []
    for i in range(2, len(argv), 2):
        start, end = _slot(argv[i]), _slot(argv[i + 1])
        if start > end:
            raise ReplyError(f"ERR start slot number {start} is greater than end slot "
                             f"number {end}")
        for slot in range(start, end + 1):
            _check_assign(cl.state.slot_owner, seen, slot, delete)
        out.extend(range(start, end + 1))
    return out


# -- slots --------------------------------------------------------------------------------
@subcommand("cluster", "addslots", -3, _ADMIN, since="3.0.0",
            summary="Assign new hash slots to receiving node",
            complexity="O(N) where N is the total number of hash slot arguments")
def cluster_addslots(client, argv):
    _run(client, _cluster(client).state.add_slots, _slots_args(client, argv, False))
    return OK


@subcommand("cluster", "addslotsrange", -4, _ADMIN, since="7.0.0",
            summary="Assign new hash slots to receiving node",
            complexity="O(N) where N is the total number of the slots between the start slot "
                       "and end slot arguments.")
def cluster_addslotsrange(client, argv):
    _run(client, _cluster(client).state.add_slots, _ranges_args(client, argv, False))
    return OK


@subcommand("cluster", "delslots", -3, _ADMIN, since="3.0.0",
            summary="Set hash slots as unbound in receiving node",
            complexity="O(N) where N is the total number of hash slot arguments")
def cluster_delslots(client, argv):
    _run(client, _cluster(client).state.del_slots, _slots_args(client, argv, True))
    return OK


@subcommand("cluster", "delslotsrange", -4, _ADMIN, since="7.0.0",
            summary="Set hash slots as unbound in receiving node",
            complexity="O(N) where N is the total number of the slots between the start slot "
                       "and end slot arguments.")
def cluster_delslotsrange(client, argv):
    _run(client, _cluster(client).state.del_slots, _ranges_args(client, argv, True))
    return OK


@subcommand("cluster", "flushslots", 2, _ADMIN, since="3.0.0",
            summary="Delete a node's own slots information", complexity="O(1)")
def cluster_flushslots(client, argv):
    cl = _cluster(client)
    if len(client.db):
        raise ReplyError("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    _run(client, cl.state.flush_slots)
    return OK


@subcommand("cluster", "keyslot", 3, "stale", since="3.0.0",
            summary="Returns the hash slot of the specified key",
            complexity="O(N) where N is the number of bytes in the key")
def cluster_keyslot(client, argv):
    _cluster(client)
    return keyslot(argv[2])


@subcommand("cluster", "countkeysinslot", 3, "stale", since="3.0.0",
            summary="Return the number of local keys in the specified hash slot",
            complexity="O(1)")
def cluster_countkeysinslot(client, argv):
    _cluster(client)
    slot = parse_int(argv[2])
    if not 0 <= slot < CLUSTER_SLOTS:
        raise ReplyError("ERR Invalid slot")
    return len(client.node.db(0).keys_in_slot(slot))


@subcommand("cluster", "getkeysinslot", 4, "stale", tips=_ND, since="3.0.0",
            summary="Return local key names in the specified hash slot",
            complexity="O(log(N)) where N is the number of requested keys")
def cluster_getkeysinslot(client, argv):
    _cluster(client)
    slot, count = parse_int(argv[2]), parse_int(argv[3])
    if not 0 <= slot < CLUSTER_SLOTS or count < 0:
        raise ReplyError("ERR Invalid slot or number of keys")
    out = []
    for key in client.node.db(0).keys_in_slot(slot):
        if len(out) >= count:
            break
        out.append(key)
    return out


@subcommand("cluster", "setslot", -4, _ADMIN, since="3.0.0",
            summary="Bind a hash slot to a specific node", complexity="O(1)")
def cluster_setslot(client, argv):
    """SETSLOT <slot> IMPORTING <id> | MIGRATING <id> | STABLE | NODE <id>
    (rules and errors: gossip/setslot.py)."""
    cl = _cluster(client)
    if cl.state.myself.is_replica:
        raise ReplyError(setslot.NOT_PRIMARY)
    slot = _slot(argv[2])
    action = argv[3].decode("utf-8", "replace").lower()
    wanted = 4 if action == "stable" else 5
    if action not in setslot.ACTIONS or len(argv) != wanted:
        raise ReplyError(setslot.BAD_ACTION)
    node_id = _text(argv[4]) if wanted == 5 else None
    keys = len(client.node.keyspace[0].keys_in_slot(slot)) if action == "node" else 0
    _run(client, cl.state.set_slot, slot, action, node_id, keys)
    return OK


# -- membership ---------------------------------------------------------------------------
def _address(raw: bytes) -> str | None:
    try:
        return ipaddress.ip_address(raw.decode("ascii")).compressed
    except (UnicodeDecodeError, ValueError):
        return None


@subcommand("cluster", "meet", -4, _ADMIN, since="3.0.0",
            summary="Force a node cluster to handshake with another node", complexity="O(1)")
def cluster_meet(client, argv):
    cl = _cluster(client)
    if len(argv) > 5:
        raise _syntax_sub(argv)
    port = string2ll(argv[3])
    if port is None:
        raise ReplyError(f"ERR Invalid TCP base port specified: {_text(argv[3])}")
    if len(argv) == 5:
        cport = string2ll(argv[4])
        if cport is None:
            raise ReplyError(f"ERR Invalid TCP bus port specified: {_text(argv[4])}")
    else:
        cport = port + 10000
    ip = _address(argv[2])
    if ip is None or not 0 < port <= 65535 or not 0 < cport <= 65535:
        raise ReplyError(f"ERR Invalid node address specified: {_text(argv[2])}:"
                         f"{_text(argv[3])}")
    _run(client, cl.state.meet, ip, port, cport)
    return OK


@subcommand("cluster", "forget", 3, _ADMIN, since="3.0.0",
            summary="Remove a node from the nodes table", complexity="O(1)")
def cluster_forget(client, argv):
    cl = _cluster(client)
    node = _node(cl, argv[2])
    me = cl.state.myself
    if node is me:
        raise ReplyError("ERR I tried hard but I can't forget myself...")
    if me.is_replica and me.primary_id == node.id:
        raise ReplyError("ERR Can't forget my master!")
    _run(client, cl.state.forget, node.id)
    return OK


@subcommand("cluster", "reset", -2, "admin noscript stale", since="3.0.0",
            summary="Reset a Redis Cluster node",
            complexity="O(N) where N is the number of known nodes. The command may execute "
                       "a FLUSHALL as a side effect.")
def cluster_reset(client, argv):
    cl = _cluster(client)
    if len(argv) > 3:
        raise _syntax_sub(argv)
    hard = False
    if len(argv) == 3:
        word = argv[2].lower()
        if word not in (b"hard", b"soft"):
            raise ReplyError("ERR syntax error")
        hard = word == b"hard"
    node = client.node
    if cl.state.myself.is_primary and len(client.db):
        raise ReplyError("ERR CLUSTER RESET can't be called with master nodes containing keys")
    if cl.state.myself.is_replica:
        for db in node.keyspace.iter_nonempty():
            db.flush()
    _run(client, cl.state.reset, hard)
    return OK


@subcommand("cluster", "replicate", 3, _ADMIN, since="3.0.0",
            summary="Reconfigure a node as a replica of the specified master node",
            complexity="O(1)")
def cluster_replicate(client, argv):
    """The node becomes a replica of a primary in the cluster topology (gossip/admin.py
    has the rules and errors); copying the primary's data is the replication issue's."""
    cl = _cluster(client)
    _run(client, cl.state.replicate, _text(argv[2]), len(client.node.keyspace[0]))
    return OK


@subcommand("cluster", "failover", -2, _ADMIN, since="3.0.0",
            summary="Forces a replica to perform a manual failover of its master.",
            complexity="O(1)")
def cluster_failover(client, argv):
    """CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica (gossip/manual.py has the rules)."""
    cl = _cluster(client)
    if len(argv) > 3:
        raise _syntax_sub(argv)
    mode = "default"
    if len(argv) == 3:
        mode = argv[2].decode("utf-8", "replace").lower()
        if mode not in ("force", "takeover"):
            raise ReplyError(SYNTAX)
    _run(client, cl.state.failover, mode)
    return OK


# -- epochs, config -----------------------------------------------------------------------
@subcommand("cluster", "saveconfig", 2, _ADMIN, since="3.0.0",
            summary="Forces the node to save cluster state on disk", complexity="O(1)")
def cluster_saveconfig(client, argv):
    error = _cluster(client).save_config_now()
    if error:
        raise ReplyError(f"ERR error saving the cluster node config: {error}")
    return OK


@subcommand("cluster", "set-config-epoch", 3, _ADMIN, since="3.0.0",
            summary="Set the configuration epoch in a new node", complexity="O(1)")
def cluster_set_config_epoch(client, argv):
    cl = _cluster(client)
    epoch = parse_int(argv[2])
    if epoch < 0:
        raise ReplyError(f"ERR Invalid config epoch specified: {epoch}")
    if len(cl.state.nodes) > 1:
        raise ReplyError("ERR The user can assign a config epoch only when the node does not "
                         "know any other node.")
    if cl.state.myself.config_epoch != 0:
        raise ReplyError("ERR Node config epoch is already non-zero")
    _run(client, cl.state.set_config_epoch, epoch)
    return OK


@subcommand("cluster", "bumpepoch", 2, _ADMIN, tips=_ND, since="3.0.0",
            summary="Advance the cluster config epoch", complexity="O(1)")
def cluster_bumpepoch(client, argv):
    cl = _cluster(client)
    bumped, _ = _run(client, cl.state.bump_epoch)
    word = "BUMPED" if bumped else "STILL"
    return Status(f"{word} {cl.state.myself.config_epoch}".encode())


@subcommand("cluster", "count-failure-reports", 3, "admin stale", tips=_ND, since="3.0.0",
            summary="Return the number of failure reports active for a given node",
            complexity="O(N) where N is the number of failure reports")
def cluster_count_failure_reports(client, argv):
    cl = _cluster(client)
    node = _node(cl, argv[2])
    try:
        return cl.state.count_failure_reports(node.id, client.node.now_ms)
    except ClusterError as err:
        raise ReplyError(err.message) from None


# -- views --------------------------------------------------------------------------------
def _endpoint_type(client) -> str:
    return client.node.config["cluster-preferred-endpoint-type"]


@subcommand("cluster", "info", 2, "stale", tips=_ND, since="3.0.0",
            summary="Provides info about Redis Cluster node state", complexity="O(1)")
def cluster_info(client, argv):
    cl = _cluster(client)
    return Verbatim(views.info_text(cl.state, cl.buffer_limit_exceeded))


@subcommand("cluster", "nodes", 2, "stale", tips=_ND, since="3.0.0",
            summary="Get Cluster config for the node",
            complexity="O(N) where N is the total number of Cluster nodes")
def cluster_nodes(client, argv):
    return Verbatim(_cluster(client).nodes_text().encode())


@subcommand("cluster", "myid", 2, "stale", since="3.0.0", summary="Return the node id",
            complexity="O(1)")
def cluster_myid(client, argv):
    return _cluster(client).state.myself.id.encode()


@subcommand("cluster", "myshardid", 2, "stale", tips=_ND, since="7.2.0",
            summary="Return the node's shard id", complexity="O(1)")
def cluster_myshardid(client, argv):
    return _cluster(client).state.myself.shard_id.encode()


@subcommand("cluster", "slots", 2, "stale", tips=_ND, since="3.0.0",
            summary="Get array of Cluster slot to node mappings",
            complexity="O(N) where N is the total number of Cluster nodes",
            doc_flags="deprecated")
def cluster_slots(client, argv):
    cl = _cluster(client)
    return views.slots_reply(cl.state, _endpoint_type(client), cl.repl_offset())


@subcommand("cluster", "shards", 2, "stale", tips=_ND, since="7.0.0",
            summary="Get array of cluster slots to node mappings",
            complexity="O(N) where N is the total number of cluster nodes")
def cluster_shards(client, argv):
    cl = _cluster(client)
    return views.shards_reply(cl.state, _endpoint_type(client), cl.repl_offset())


@subcommand("cluster", "links", 2, "stale", tips=_ND, since="7.0.0",
            summary="Returns a list of all TCP links to and from peer nodes in cluster",
            complexity="O(N) where N is the total number of Cluster nodes")
def cluster_links(client, argv):
    cl = _cluster(client)
    return views.links_reply(cl.state, cl.links)


def _replicas(client, argv):
    cl = _cluster(client)
    node = _node(cl, argv[2])
    if node.is_replica:
        raise ReplyError("ERR The specified node is not a master")
    return [cl.node_line(replica).encode() for replica in cl.state.replicas_of(node.id)]


@subcommand("cluster", "replicas", 3, "admin stale", tips=_ND, since="5.0.0",
            summary="List replica nodes of the specified master node", complexity="O(1)")
def cluster_replicas(client, argv):
    return _replicas(client, argv)


@subcommand("cluster", "slaves", 3, "admin stale", tips=_ND, since="3.0.0",
            summary="List replica nodes of the specified master node", complexity="O(1)",
            doc_flags="deprecated")
def cluster_slaves(client, argv):
    return _replicas(client, argv)


_HELP = [
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from "
    "current node.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes "
    "of a link",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "MYSHARDID",
    "    Return the node's shard id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
]


@subcommand("cluster", "help", 2, "loading stale", since="5.0.0",
            summary="Show helpful text about the different subcommands", complexity="O(1)")
def cluster_help(client, argv):
    _cluster(client)
    return help_reply("CLUSTER", _HELP)


# -- connection flags (routing itself comes with the next issue) ---------------------------
@command("readonly", 1, "loading stale fast", group="cluster", acl="@connection",
         since="3.0.0", summary="Enables read queries for a connection to a cluster replica node",
         complexity="O(1)")
def readonly(client, argv):
    _cluster(client)
    client.readonly = True
    return OK


@command("readwrite", 1, "loading stale fast", group="cluster", acl="@connection",
         since="3.0.0",
         summary="Disables read queries for a connection to a cluster replica node",
         complexity="O(1)")
def readwrite(client, argv):
    _cluster(client)
    client.readonly = False
    return OK
