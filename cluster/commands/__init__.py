"""Command modules. Importing this package registers every command in `cluster.table`."""
from cluster.commands import (  # noqa: F401
    connection,
    introspection,
    keys,
    lists,
    server,
    strings,
    transactions,
)
