"""One pyredis-cluster node, in layers.

THE IMPORT RULE. Each subpackage is a layer; a module imports only modules of its own
layer or of layers below it, never above, and no import cycle exists anywhere, counting
imports inside functions (tests/unit/test_import_layers.py walks every import and fails
otherwise). Lowest first:

    base         small pure helpers: number parsing, glob, CRC-64, LZF, long double, log
    resp         the request parser, reply values and encodings, handler outcomes
    config       the directive table, redis.conf files, live values
    keyspace     databases, expiry, the value types, snapshots, keyspace notifications
    encoding     DUMP payloads and RDB files (Redis's object encodings)
    execution    the command table, dispatch and its gates (routing, pause, MIGRATE in
                 flight), blocking, pub/sub, clients, stats
    acl          users, their rules and selectors, the permission check, ACL LOG, aclfile
    replication  the propagation point, the primary side, the replica side
    persistence  RDB files, the AOF, the start-up load, shutdown
    scripting    Lua over lupa
    bus          the node's side of the gossip bus, MIGRATE's network side
    commands     the handlers, one module per family; `registry` imports them all
    node         node.py: builds everything and declares the node's state
    server       the trio edge: sockets, connections, cron, signals

Across packages the same rule holds: slots < gossip < cluster < sentinel < cli.
A lower layer never calls up by import: it is handed what it needs (the dispatcher's
`node.execute`, the gates the node assembles, the bus's role effects).
"""
__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"
LAYERS = ("base", "resp", "config", "keyspace", "encoding", "execution", "acl", "replication",
          "persistence", "scripting", "bus", "commands", "node", "server")
