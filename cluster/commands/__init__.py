"""Command modules, one per command family; each registers its handlers in
`cluster.execution.table` when imported. `cluster.commands.registry` imports them all, in
the order COMMAND lists the commands (the node imports it).
"""
