"""MONITOR (server.c monitorCommand); the feeding is cluster.execution.monitor's."""
from __future__ import annotations

from cluster.execution import monitor as monitoring
from cluster.execution.replymode import Switch
from cluster.execution.table import command
from cluster.resp.reply import NO_REPLY, OK, ReplyError


@command("monitor", 1, "admin noscript loading stale", group="server", since="1.0.0",
         summary="Listen for all requests received by the server in real time")
def monitor(client, argv):
    if client.in_multi:
        # CLIENT_DENY_BLOCKING: EXEC expects one reply per command.
        raise ReplyError("ERR MONITOR isn't allowed for DENY BLOCKING client")
    if client.is_replica or client.reply_mode & monitoring.MONITOR:
        return NO_REPLY             # already a replica or a monitor: ignored, no reply
    monitoring.start(client)
    return Switch(OK)               # the connection answers carefully from now on
