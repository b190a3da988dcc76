"""LATENCY: the latency monitor's events (LATEST, HISTORY, RESET, GRAPH, DOCTOR) and the
per-command histograms (HISTOGRAM), with Redis 7.0.15's replies (latency.c).

The data and its arithmetic are cluster.execution.latency's; here are the replies.
"""
from __future__ import annotations

from cluster.base.cstring import c_text
from cluster.commands.help import help_reply
from cluster.execution import latency
from cluster.execution.table import TABLE, container, subcommand
from cluster.resp.reply import ReplyError, Verbatim

container("latency", -2, group="server", since="2.8.13",
          summary="A container for latency diagnostics commands",
          complexity="Depends on subcommand.")

_TIPS = "nondeterministic_output request_policy:all_nodes response_policy:special"
_FLAGS = "admin noscript loading stale"
_HELP = [
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for "
    "the specified command names.",
    "    If no commands are specified then all histograms are replied.",
]


@subcommand("latency", "latest", 2, _FLAGS, since="2.8.13", tips=_TIPS,
            summary="Return the latest latency samples for all events.", complexity="O(1)")
def latency_latest(client, argv):
    return client.node.latency.latest()


@subcommand("latency", "history", 3, _FLAGS, since="2.8.13", tips=_TIPS,
            summary="Return timestamp-latency samples for the event.", complexity="O(1)")
def latency_history(client, argv):
    return client.node.latency.history(argv[2])


@subcommand("latency", "reset", -2, _FLAGS, since="2.8.13",
            tips="request_policy:all_nodes response_policy:all_succeeded",
            summary="Reset latency data for one or more events.", complexity="O(1)")
def latency_reset(client, argv):
    mon = client.node.latency
    if len(argv) == 2:
        return mon.reset()
    return sum(mon.reset(event) for event in argv[2:])


@subcommand("latency", "graph", 3, _FLAGS, since="2.8.13", tips=_TIPS,
            summary="Return a latency graph for the event.", complexity="O(1)")
def latency_graph(client, argv):
    graph = client.node.latency.graph(argv[2])
    if graph is None:
        raise ReplyError("ERR No samples available for event '%s'" % c_text(argv[2]))
    return Verbatim(graph)


@subcommand("latency", "doctor", 2, _FLAGS, since="2.8.13", tips=_TIPS,
            summary="Return a human readable latency analysis report.", complexity="O(1)")
def latency_doctor(client, argv):
    node = client.node
    config = node.config
    return Verbatim(node.latency.doctor(config["slowlog-log-slower-than"], config["hz"],
                                        config["appendfsync"] == "always",
                                        anon_huge_pages() > 0))


@subcommand("latency", "histogram", -2, _FLAGS, since="7.0.0", tips=_TIPS,
            summary="Return the cumulative distribution of latencies of a subset of "
                    "commands or all.",
            complexity="O(N) where N is the number of commands with latency information "
                       "being retrieved.")
def latency_histogram(client, argv):
    commands = client.node.stats.commands
    out = {}

    def add(cmd) -> None:
        cs = commands.get(cmd.name)
        if cs is not None and cs.hist:
            calls, rows = latency.histogram_usec(cs.hist)
            out[cmd.name.encode()] = {b"calls": calls, b"histogram_usec": rows}

    if len(argv) == 2:
        for cmd in TABLE.values():
            add(cmd)
            for sub in cmd.subcommands.values():
                add(sub)
        return out
    for raw in argv[2:]:
        cmd = _lookup_by_name(raw)
        if cmd is None:
            continue
        add(cmd)
        for sub in cmd.subcommands.values():
            add(sub)
    return out


@subcommand("latency", "help", 2, "loading stale", since="2.8.13",
            summary="Show helpful text about the different subcommands.", complexity="O(1)")
def latency_help(client, argv):
    return help_reply("LATENCY", _HELP)


def _lookup_by_name(raw: bytes):
    """lookupCommandBySds: `name` or `container|sub`, any case; None if unknown."""
    parts = raw.decode("utf-8", "surrogateescape").lower().split("|")
    if len(parts) > 2:
        return None
    cmd = TABLE.get(parts[0])
    if cmd is None or len(parts) == 1:
        return cmd
    return cmd.subcommands.get(parts[1])


def anon_huge_pages() -> int:
    """THPGetAnonHugePagesSize: the AnonHugePages of this process (DOCTOR's THP advice)."""
    for path in ("/proc/self/smaps_rollup", "/proc/self/smaps"):
        try:
            total = 0
            with open(path) as f:
                for line in f:
                    if line.startswith("AnonHugePages:"):
                        total += int(line.split()[1]) * 1024
            return total
        except (OSError, ValueError, IndexError):
            continue
    return 0
