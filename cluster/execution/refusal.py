"""A command refused before it ran: what processCommand's rejectCommand does."""
from __future__ import annotations

from cluster.resp.reply import ReplyError


def reject(client, cmd, message: str) -> ReplyError:
    """Refuse `cmd` (None: not even known) with `message`: it counts as rejected and in
    errorstats, flags an open MULTI (EXECABORT at EXEC), discards a refused EXEC's
    transaction with EXECABORT (execCommandAbort), and ends a pending ASKING."""
    node = client.node
    if client.in_multi:
        client.multi_error = True
    if cmd is not None and cmd.name == "exec":
        client.reset_multi()
        client.unwatch_all()
        message = "EXECABORT Transaction discarded because of: " + (
            message[4:] if message.startswith("ERR ") else message)
    node.stats.count_error(message)
    if cmd is not None:
        node.stats.command(cmd.name).rejected += 1
    if client.asking and not client.in_multi and (cmd is None or cmd.name != "asking"):
        client.asking = False       # resetClient: ASKING lasts one command, rejected too
    return ReplyError(message)
