"""`pyredis-cluster create HOST:PORT... [--cluster-replicas N] [--cluster-yes]`.

The sequence of `redis-cli --cluster create` (facts 5.2): every node connected and checked
(cluster_enabled, CLUSTER NODES, empty), at least 3 masters, the plan (allocate.py)
printed and confirmed, ADDSLOTS / REPLICATE, a distinct SET-CONFIG-EPOCH per node, MEET
to the first node, waiting for the join (a dot per second; after 20+0.15*N s the
unreachable bus ports are named), REPLICATE again for replicas, then the full check.
"""
from __future__ import annotations

import random
import sys
import time

from cli.admin import output
from cli.admin.allocate import masters_count, plan_cluster
from cli.admin.args import admin_main, parse_args, wrong_arity
from cli.admin.check import check_cluster
from cli.admin.connection import (AdminError, AdminNode, ClusterView, parse_nodes_line,
                                  resolve)

JOIN_CHECK_AFTER = 20
POLL = 0.1


def run(command: str, argv: list[str]) -> int:
    return admin_main(lambda: create(parse_args(argv, command)))


def confirm(question: str) -> bool:
    """redis-cli's confirmWithYes: the answer's first three characters must be `yes`."""
    output.plain(f"{question} (type 'yes' to accept): ")
    answer = sys.stdin.readline()
    return answer[:3] == "yes"


def connect_and_check(addr: str, auth) -> AdminNode:
    host, sep, port = addr.rsplit("@", 1)[0].rpartition(":")
    if not sep or not port.isdigit():
        raise AdminError(f"Invalid address format: {addr}", kind="stderr")
    node = AdminNode(resolve(host, int(port)), int(port), auth, host=host)
    node.connect()
    node.check_cluster()
    node.load_info()
    node.check_empty()
    return node


def create(args) -> int:
    if len(args.positional) < 2:
        return wrong_arity()
    replicas = args.int_value("--cluster-replicas", 0)
    nodes = [connect_and_check(a, args.auth) for a in args.positional]
    try:
        return _create(nodes, replicas, args.yes)
    finally:
        for n in nodes:
            n.close()


def _create(nodes: list[AdminNode], replicas: int, yes: bool) -> int:
    count = masters_count(len(nodes), replicas)
    if count < 3:
        output.err("*** ERROR: Invalid configuration for cluster creation.\n"
                   "*** Redis Cluster requires at least 3 master nodes.\n"
                   f"*** This is not possible with {len(nodes)} nodes and {replicas} "
                   "replicas per node.")
        output.err(f"\n*** At least {3 * (replicas + 1)} nodes are required.\n")
        return 1
    plan = plan_cluster(nodes, replicas, random.Random())
    for master, (first, last) in plan.slots.items():
        master.slots = set(range(first, last + 1))
        master.dirty = True
    for replica, master in plan.replica_of.items():
        replica.replicate = master.id
        replica.dirty = True
    _print_messages(plan.messages)
    output.show_nodes(nodes)
    if not yes and not confirm("Can I set the above configuration?"):
        return 0
    for node in nodes:
        error = flush_config(node)
        if error is not None and not node.replicate:
            output.reply_error(node, error)
            return 1
    output.info(">>> Nodes configuration updated\n")
    output.info(">>> Assign a different config epoch to each node\n")
    for epoch, node in enumerate(nodes, 1):
        node.try_call("CLUSTER", "SET-CONFIG-EPOCH", epoch)
    output.info(">>> Sending CLUSTER MEET messages to join the cluster\n")
    first = nodes[0]
    for node in nodes[1:]:
        meet = ["CLUSTER", "MEET", first.ip, first.port]
        if first.bus_port and first.bus_port != first.port + 10000:
            meet.append(first.bus_port)
        _, error = node.try_call(*meet)
        if error is not None:
            output.reply_error(node, error)
            return 1
    time.sleep(1)
    wait_for_join(nodes)
    for node in nodes:
        if node.dirty:
            error = flush_config(node)
            if error is not None and node.replicate:
                output.warn(f"[WARNING] Node {node.ip}:{node.port} could not be made a "
                            f"replica of {node.replicate}: {error}\n")
            elif error is not None:
                output.reply_error(node, error)
                return 1
    entry = AdminNode(first.ip, first.port, first.auth, host=first.host)
    entry.connect()
    view = ClusterView.load(entry)
    try:
        check_cluster(view)
    finally:
        view.close()
    return 0


def _print_messages(messages) -> None:
    for level, text in messages:
        {"plain": output.plain, "info": output.info, "ok": output.ok,
         "warn": output.warn}[level](text)


def flush_config(node: AdminNode) -> str | None:
    """redis-cli's clusterManagerFlushNodeConfig: REPLICATE for a replica, one ADDSLOTS
    with every slot for a master. None on success (or nothing to do), else the error.
    A failed REPLICATE leaves the node dirty, to be flushed again after the join."""
    if not node.dirty:
        return None
    if node.replicate:
        _, error = node.try_call("CLUSTER", "REPLICATE", node.replicate)
        if error is not None:
            return error
    elif node.slots:
        _, error = node.try_call("CLUSTER", "ADDSLOTS", *sorted(node.slots))
        if error is not None:
            node.dirty = False
            return error
    node.dirty = False
    return None


def wait_for_join(nodes: list[AdminNode]) -> None:
    """Until every node reports the same slot map: a dot per second (redis-cli's
    progress); every 20+0.15*N s without agreement, the links that are down or still
    in handshake, naming the bus ports that may be unreachable."""
    output.plain("Waiting for the cluster to join\n")
    view = ClusterView(nodes)
    check_after = JOIN_CHECK_AFTER + int(len(nodes) * 0.15)
    counter = 0
    while not view.is_consistent():
        output.plain(".")
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            time.sleep(POLL)
            if view.is_consistent():
                output.plain("\n")
                return
        counter += 1
        if counter > check_after:
            report_unreachable(nodes)
            counter = 0
    output.plain("\n")


def link_status(nodes: list[AdminNode]) -> dict[str, list[str]]:
    """unreachable `ip:port@cport` -> addresses of the nodes that cannot reach it."""
    status: dict[str, list[str]] = {}
    for node in nodes:
        reply, error = node.try_call("CLUSTER", "NODES")
        if error is not None or not isinstance(reply, str):
            continue
        for line in reply.split("\n"):
            entry = parse_nodes_line(line) if line.strip() else None
            if entry is None or "myself" in entry.flags:
                continue
            addr = line.split(" ")[1]
            if ("disconnected" in entry.flags or entry.link_state == "disconnected"
                    or "handshake" in entry.flags):
                status.setdefault(addr, []).append(f"{node.ip}:{node.port}")
    return status


def report_unreachable(nodes: list[AdminNode]) -> None:
    status = link_status(nodes)
    if not status:
        return
    output.plain("\n")
    output.err(f"Warning: {len(status)} node(s) may be unreachable\n")
    for addr, sources in status.items():
        base = addr.split(",", 1)[0]
        hostport, _, bus = base.partition("@")
        ip = hostport.rpartition(":")[0]
        if bus and bus != "0":
            output.err(f" - The port {bus} of node {ip} may be unreachable from:\n")
        else:
            output.err(f" - Node {base} may be unreachable from:\n")
        for src in sources:
            output.err(f"   {src}\n")
        output.err("Cluster bus ports must be reachable by every node.\n"
                   "Remember that cluster bus ports are different from standard "
                   "instance ports.\n")
