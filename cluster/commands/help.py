"""The reply of a container command's HELP subcommand (addReplyHelp)."""
from __future__ import annotations

from cluster.resp.reply import Status


def help_reply(name: str, lines: list[str]) -> list[Status]:
    """addReplyHelp: a header, the command's own lines, then HELP, as simple strings."""
    out = [f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", *lines,
           "HELP", "    Prints this help."]
    return [Status(line.encode()) for line in out]
