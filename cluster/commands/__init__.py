"""Command modules. Importing this package registers every command in `cluster.table`.

The import order is the registration order, which is the order COMMAND lists commands in.
"""
from cluster.commands import (  # noqa: F401
    connection,
    introspection,
    keys,
    expire,
    objects,
    serialize,
    lists,
    hashes,
    sets,
    zsets,
    zset_ranges,
    zset_algebra,
    server,
    strings,
    transactions,
    cluster,
    asking,
    migrate,
    replication,
    psync,
)
