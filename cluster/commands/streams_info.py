"""XINFO STREAM [FULL [COUNT n]] / GROUPS / CONSUMERS / HELP (xinfoCommand of Redis 7.0.15).

radix-tree-keys is the number of stream nodes (listpacks), radix-tree-nodes the node count
of the radix tree over their master ids (cluster.keyspace.stream.rax_numnodes); groups
and consumers list in rax (byte) order.
"""
from __future__ import annotations

from itertools import islice

from cluster.commands.help import help_reply
from cluster.commands.streams import (ACL, G, NO_SUCH_KEY, c_text, entry_reply, key2, ll,
                                      range_reply, stream_of, subcommand_syntax)
from cluster.execution.table import container, subcommand
from cluster.keyspace.stream import (INVALID_ENTRIES_READ, MAX_ID, MIN_ID, Stream, format_id,
                                     rax_numnodes)
from cluster.resp.reply import ReplyError


container("xinfo", -2, group=G, since="5.0.0",
          summary="A container for stream introspection commands",
          complexity="Depends on subcommand.")

_XINFO_HELP = [
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
]






@subcommand("xinfo", "help", 2, "loading stale", acl=ACL, since="5.0.0", complexity="O(1)",
            summary="Show helpful text about the different subcommands")
def xinfo_help(client, argv):
    return help_reply("XINFO", _XINFO_HELP)


def lookup_info(client, key: bytes) -> Stream:
    s = stream_of(client.db.lookup_read(key))
    if s is None:
        raise ReplyError(NO_SUCH_KEY)
    return s



@subcommand("xinfo", "stream", -3, "readonly", keys=(2, 2, 1), acl=ACL, since="5.0.0",
            key_specs=key2("RO ACCESS"), complexity="O(1)",
            summary="Get information about a stream")
def xinfo_stream(client, argv):
    s = lookup_info(client, argv[2])
    opts = argv[3:]
    full = False
    count = 10
    if opts:
        if len(opts) not in (1, 3) or opts[0].lower() != b"full":
            raise subcommand_syntax(argv)
        full = True
        if len(opts) == 3:
            if opts[1].lower() != b"count":
                raise subcommand_syntax(argv)
            count = ll(opts[2])
            if count < 0:
                count = 10
    s.check_nodes()
    info = {
        b"length": len(s),
        b"radix-tree-keys": len(s.nodes),
        b"radix-tree-nodes": rax_numnodes(s),
        b"last-generated-id": format_id(s.last_id),
        b"max-deleted-entry-id": format_id(s.max_deleted_id),
        b"entries-added": s.entries_added,
        b"recorded-first-entry-id": format_id(s.first_id()),
    }
    if not full:
        info[b"groups"] = len(s.groups)
        if s.entries:
            first = s.entries.peekitem(0)
            last = s.entries.peekitem(-1)
            info[b"first-entry"] = entry_reply(*first)
            info[b"last-entry"] = entry_reply(*last)
        else:
            info[b"first-entry"] = None
            info[b"last-entry"] = None
        return info
    info[b"entries"] = range_reply(s, MIN_ID, MAX_ID, count)
    groups = []
    for name in sorted(s.groups):
        g = s.groups[name]
        pel = g.pel.items()
        pending = [[format_id(sid), n.consumer.name, n.delivery_time, n.delivery_count]
                   for sid, n in (islice(pel, count) if count else pel)]
        consumers = []
        for cname in sorted(g.consumers):
            c = g.consumers[cname]
            cpel = c.pel.items()
            consumers.append({
                b"name": cname, b"seen-time": c.seen_time, b"pel-count": len(c.pel),
                b"pending": [[format_id(sid), n.delivery_time, n.delivery_count]
                             for sid, n in (islice(cpel, count) if count else cpel)]})
        groups.append({
            b"name": name, b"last-delivered-id": format_id(g.last_id),
            b"entries-read": None if g.entries_read == INVALID_ENTRIES_READ
            else g.entries_read,
            b"lag": s.lag(g), b"pel-count": len(g.pel), b"pending": pending,
            b"consumers": consumers})
    info[b"groups"] = groups
    return info


@subcommand("xinfo", "groups", 3, "readonly", keys=(2, 2, 1), acl=ACL, since="5.0.0",
            key_specs=key2("RO ACCESS"), complexity="O(1)",
            summary="List the consumer groups of a stream")
def xinfo_groups(client, argv):
    s = lookup_info(client, argv[2])
    out = []
    for name in sorted(s.groups):
        g = s.groups[name]
        out.append({b"name": name, b"consumers": len(g.consumers), b"pending": len(g.pel),
                    b"last-delivered-id": format_id(g.last_id),
                    b"entries-read": None if g.entries_read == INVALID_ENTRIES_READ
                    else g.entries_read,
                    b"lag": s.lag(g)})
    return out


@subcommand("xinfo", "consumers", 4, "readonly", keys=(2, 2, 1), acl=ACL, since="5.0.0",
            key_specs=key2("RO ACCESS"), complexity="O(1)", tips="nondeterministic_output",
            summary="List the consumers in a consumer group")
def xinfo_consumers(client, argv):
    s = lookup_info(client, argv[2])
    g = s.groups.get(argv[3])
    if g is None:
        raise ReplyError("NOGROUP No such consumer group '%s' for key name '%s'" % (
            c_text(argv[3]), c_text(argv[2])))
    now = client.node.now_ms
    return [{b"name": name, b"pending": len(g.consumers[name].pel),
             b"idle": max(0, now - g.consumers[name].seen_time)}
            for name in sorted(g.consumers)]
