"""`add-node NEW:PORT EXISTING:PORT [--cluster-slave|--cluster-replica]
[--cluster-master-id <id>]` and `del-node HOST:PORT <node-id>`, as redis-cli does them
(facts 5.5).

add-node: load and check the existing cluster; the new node must be reachable, a cluster
node and empty; a new primary gets the cluster's functions (FUNCTION DUMP on the
existing node, FUNCTION LIST must be empty on the new one, FUNCTION RESTORE; skipped with
a note when the cluster does not know FUNCTION); `CLUSTER MEET <first node>` from the new
node; a replica then waits for the join and runs `CLUSTER REPLICATE <master>` (the given
id, or the primary with fewest replicas).

del-node: the node must have no slots ("[ERR] Node host:port is not empty! Reshard data
away and try again."); its replicas are moved to the primary with fewest replicas;
`CLUSTER FORGET <id>` on every other node; `CLUSTER RESET SOFT` on the removed node.
"""
from __future__ import annotations

import time

from cli.admin import output
from cli.admin.args import admin_main, parse_args, wrong_arity
from cli.admin.check import check_cluster
from cli.admin.connection import (AdminError, AdminNode, ClusterView, load_cluster,
                                  parse_address, resolve)
from cli.admin.create import wait_for_join
from cli.admin.move import Link


def run(command: str, argv: list[str]) -> int:
    body = add_node if command == "add-node" else del_node
    return admin_main(lambda: body(parse_args(argv, command)))


def least_replicas(view: ClusterView) -> AdminNode | None:
    """redis-cli's clusterManagerNodeWithLeastReplicas: first primary with the fewest."""
    best = None
    for n in view.nodes:
        if n.is_replica:
            continue
        if best is None or n.replicas_count < best.replicas_count:
            best = n
    return best


# -- add-node ---------------------------------------------------------------------------

def add_node(args) -> int:
    if len(args.positional) != 2:
        return wrong_arity()
    new_host, new_port = parse_address(args.positional[0])
    ref_host, ref_port = parse_address(args.positional[1])
    output.info(f">>> Adding node {new_host}:{new_port} to cluster {ref_host}:{ref_port}\n")
    view = load_cluster([f"{ref_host}:{ref_port}"], args.auth)
    new_node = None
    try:
        if not check_cluster(view):
            return 1
        master = None
        if args.flag("--cluster-slave"):
            master_id = args.value("--cluster-master-id")
            if master_id is not None:
                master = view.by_id(master_id)
                if master is None:
                    output.err(f"[ERR] No such master ID {master_id}\n")
                    return 1
            else:
                master = least_replicas(view)
                output.plain(f"Automatically selected master {master.ip}:{master.port}\n")
        new_node = AdminNode(resolve(new_host, new_port), new_port, args.auth, host=new_host)
        try:
            new_node.connect()
        except AdminError as exc:
            exc.report()
            output.err(f"[ERR] Sorry, can't connect to node {new_host}:{new_port}\n")
            return 1
        new_node.check_cluster()
        new_node.load_info()
        new_node.check_empty()
        first = view.nodes[0]
        if master is None and not copy_functions(first, new_node):
            return 1
        output.info(f">>> Send CLUSTER MEET to node {new_host}:{new_port} to make it "
                    "join the cluster.\n")
        meet = ["CLUSTER", "MEET", resolve(first.host, first.port), first.port]
        if first.bus_port and first.bus_port != first.port + 10000:
            meet.append(first.bus_port)
        new_node.call(*meet)
        if master is not None:
            time.sleep(1)
            wait_for_join(view.nodes + [new_node])
            output.info(f">>> Configure node as replica of {master.ip}:{master.port}.\n")
            new_node.call("CLUSTER", "REPLICATE", master.id)
        output.ok("[OK] New node added correctly.\n")
        return 0
    finally:
        view.close()
        if new_node is not None:
            new_node.close()


def copy_functions(ref: AdminNode, new_node: AdminNode) -> bool:
    """The cluster's functions onto a new primary (binary payload: a Link each)."""
    output.info(">>> Getting functions from cluster\n")
    ref_link = Link(ref)
    new_link = Link(new_node)
    try:
        payload, error = ref_link.try_call("FUNCTION", "DUMP")
        if error is not None:
            output.info(">>> Failed retrieving Functions from the cluster, skip this step "
                        "as Redis version do not support function command "
                        f"(error = '{error}')\n")
            return True
        addr = f"{new_node.host}:{new_node.port}"
        output.info(f">>> Send FUNCTION LIST to {addr} to verify there is no functions in it\n")
        listed, error = new_link.try_call("FUNCTION", "LIST")
        if error is not None:
            output.err(f">>> Failed on CLUSTER LIST (error = '{error}')\r\n")
            return False
        if listed:
            output.err(">>> New node already contains functions and can not be added to "
                       "the cluster. Use FUNCTION FLUSH and try again.\r\n")
            return False
        output.info(f">>> Send FUNCTION RESTORE to {addr}\n")
        _, error = new_link.try_call("FUNCTION", "RESTORE", payload)
        if error is not None:
            output.err(f">>> Failed loading functions to the new node (error = '{error}')\r\n")
            return False
        return True
    finally:
        ref_link.close()
        new_link.close()


# -- del-node ---------------------------------------------------------------------------

def del_node(args) -> int:
    if len(args.positional) != 2:
        return wrong_arity()
    host, port = parse_address(args.positional[0])
    node_id = args.positional[1]
    output.info(f">>> Removing node {node_id} from cluster {host}:{port}\n")
    view = load_cluster([f"{host}:{port}"], args.auth)
    try:
        node = view.by_id(node_id)
        if node is None:
            output.err(f"[ERR] No such node ID {node_id}\n")
            return 1
        if node.slots:
            output.err(f"[ERR] Node {node.ip}:{node.port} is not empty! Reshard data away "
                       "and try again.\n")
            return 1
        output.info(">>> Sending CLUSTER FORGET messages to the cluster...\n")
        for n in view.nodes:
            if n is node:
                continue
            if n.replicate and n.replicate.lower() == node_id.lower():
                master = least_replicas(view)
                output.info(f">>> {n.ip}:{n.port} as replica of {master.ip}:{master.port}\n")
                n.call("CLUSTER", "REPLICATE", master.id)
            n.call("CLUSTER", "FORGET", node_id)
        output.info(">>> Sending CLUSTER RESET SOFT to the deleted node.\n")
        node.call("CLUSTER", "RESET", "SOFT")
        return 0
    finally:
        view.close()
