"""ASKING: the one-shot flag that lets an importing node serve a slot (cluster.execution.routing).

The flag lasts for the next command (dispatch clears it after any command but ASKING
itself, run or rejected), or until EXEC when that command is MULTI (queued commands do not
clear it), as Redis's resetClient does.
"""
from __future__ import annotations

from cluster.resp.reply import OK, ReplyError
from cluster.execution.table import command


@command("asking", 1, "fast", group="cluster", acl="@connection", since="3.0.0",
         summary="Sent by cluster clients after an -ASK redirect", complexity="O(1)")
def asking(client, argv):
    if client.node.cluster is None:
        raise ReplyError("ERR This instance has cluster support disabled")
    client.asking = True
    return OK
