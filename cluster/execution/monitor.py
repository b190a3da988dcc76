"""MONITOR: every command the node runs, as one status line per command, to the monitors.

Redis 7.0.15's rules (server.c call(), replication.c replicationFeedMonitors, eval.c,
functions.c, multi.c, networking.c):

1. A command is fed after it ran (call() feeds after the handler, so the line of a
   command that fails is fed too; a command refused before it runs is not), unless its
   table entry has `skip_monitor` or `admin` ("too dangerous to be shown").
2. EVAL, EVALSHA (and their _RO forms), FCALL and FCALL_RO are `skip_monitor` but feed
   themselves first thing in their handler, so the script's commands follow their script.
   Here that is `before_call` in dispatch's call.
3. Commands run by a script are fed with `[<db> lua]`; others with
   `[<db> <ip:port of the client>]`. <db> is the client's database after the command.
4. Inside MULTI nothing is fed while queueing; MULTI, each command EXEC runs and then EXEC
   itself are fed as they run. An EXEC refused before it runs (execCommandAbort) is still
   fed, so a monitor sees the transaction end (`feed_exec_abort`).
5. Secrets are shown as "(redacted)" (redactClientCommandArgument): AUTH's password (and
   its user name), HELLO ... AUTH <user> <pass>, MIGRATE ... AUTH <pass> / AUTH2 <user>
   <pass>. Each command redacts as far as its own parsing got (`redacted`).
6. Nothing is fed while the dataset is loading; nothing at all when nobody monitors (the
   dispatcher tests `MONITORING`, one global list, before calling here).
7. The line: `+<sec>.<usec> [<db> <who>] "arg" "arg"...` with each argument quoted as
   sdscatrepr quotes (`repr_arg`).

A monitor is a client flagged MONITOR (CLIENT_SLAVE|CLIENT_MONITOR in Redis): it keeps
the normal output limits, is never timed out, shows flags=O in CLIENT LIST, and may not
run commands touching the keyspace (`monitor_gate`: "Replica can't interact with the
keyspace"). RESET ends monitoring. Lines for a monitor go to its `pushes` (woken like a
subscriber), or, while that monitor's own command runs, to `client.monitor_lines`, which
the connection sends after that command's reply (cluster.execution.replymode), as Redis
appends them to the same output buffer after the reply.
"""
from __future__ import annotations

from cluster.execution import obuf
from cluster.resp.reply import ReplyError

MONITOR = 8                  # Client.reply_mode bit (the other bits: replymode)
_SILENCED = 1 | 4            # reply_mode OFF | SKIP: nothing is added to its output
REDACTED = b"(redacted)"
# The commands that feed monitors themselves, before running (rule 2).
FEED_FIRST = frozenset(("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"))
# CMD_MAY_REPLICATE in 7.0.15's command table (our flags do not spell it out).
MAY_REPLICATE = frozenset(("eval", "evalsha", "fcall", "pfcount", "publish", "spublish"))
KEYSPACE_REFUSAL = "ERR Replica can't interact with the keyspace"
# Every monitor of every node in this process: the dispatcher's one cheap test (a global,
# read on every call) before it asks the client's node (rule 6).
MONITORING: list = []

# sdscatrepr: one output per byte value.
_REPR = []
for _b in range(256):
    if _b in (0x5C, 0x22):
        _REPR.append(b"\\" + bytes((_b,)))
    elif _b == 0x0A:
        _REPR.append(b"\\n")
    elif _b == 0x0D:
        _REPR.append(b"\\r")
    elif _b == 0x09:
        _REPR.append(b"\\t")
    elif _b == 0x07:
        _REPR.append(b"\\a")
    elif _b == 0x08:
        _REPR.append(b"\\b")
    elif 0x20 <= _b <= 0x7E:
        _REPR.append(bytes((_b,)))
    else:
        _REPR.append(b"\\x%02x" % _b)
_PLAIN = bytes(b for b in range(0x20, 0x7F) if b not in (0x5C, 0x22))


def repr_arg(arg: bytes) -> bytes:
    """sdscatrepr: the argument in double quotes, escaping what is not printable."""
    if not arg.translate(None, _PLAIN):        # nothing to escape
        return b'"' + arg + b'"'
    return b'"' + b"".join(map(_REPR.__getitem__, arg)) + b'"'


# -- redaction (rule 5) -------------------------------------------------------------------
def _redact_auth(argv: list[bytes], reply) -> set[int]:
    if len(argv) > 3:
        return set()                # syntax error before anything is redacted
    return {1} if len(argv) == 2 else {1, 2}


def _redact_hello(argv: list[bytes], reply) -> set[int]:
    out: set[int] = set()
    if len(argv) >= 2:
        try:
            ver = int(argv[1])
        except ValueError:
            return out
        if ver < 2 or ver > 3:
            return out
    failed = isinstance(reply, ReplyError) and reply.message.startswith("WRONGPASS")
    j = 2
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt == b"auth" and more >= 2:
            out.update((j + 1, j + 2))
            if failed:
                return out          # the first failing AUTH pair ends the parsing
            j += 3
        elif opt == b"setname" and more:
            j += 2
        else:
            return out
    return out


def _redact_migrate(argv: list[bytes], reply) -> set[int]:
    out: set[int] = set()
    j = 6
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt in (b"copy", b"replace"):
            j += 1
        elif opt == b"auth":
            if not more:
                return out
            out.add(j + 1)
            j += 2
        elif opt == b"auth2":
            if more < 2:
                return out
            out.update((j + 1, j + 2))
            j += 3
        else:
            return out              # KEYS ends the options; anything else is an error
    return out


def _redact_acl_setuser(argv: list[bytes], reply) -> set[int]:
    """ACL SETUSER: the user name and every rule (aclCommand redacts them all)."""
    return set(range(2, len(argv)))


_SENSITIVE_CONFIGS = frozenset((b"masterauth", b"masteruser", b"requirepass"))


def _redact_config_set(argv: list[bytes], reply) -> set[int]:
    """CONFIG SET: the value of a sensitive directive (SENSITIVE_CONFIG)."""
    return {j + 1 for j in range(2, len(argv) - 1, 2) if argv[j].lower() in _SENSITIVE_CONFIGS}


_REDACTORS = {"auth": _redact_auth, "hello": _redact_hello, "migrate": _redact_migrate,
              "acl|setuser": _redact_acl_setuser, "config|set": _redact_config_set}


def redacted(cmd, argv: list[bytes], reply=None) -> list[bytes]:
    """argv as MONITOR (and the slow log) show it: secrets replaced by "(redacted)"."""
    redactor = _REDACTORS.get(cmd.name)
    if redactor is None:
        return argv
    positions = redactor(argv, reply)
    if not positions:
        return argv
    return [REDACTED if i in positions else a for i, a in enumerate(argv)]


# -- feeding ------------------------------------------------------------------------------
def line(client, argv: list[bytes]) -> bytes:
    """The status line a monitor receives for `argv` run by `client` (rule 7)."""
    node = client.node
    usec = int(node.clock() * 1_000_000)
    who = "lua" if client.id == 0 else client.addr      # id 0: the scripts' client
    head = b"+%d.%06d [%d %s] " % (usec // 1_000_000, usec % 1_000_000, client.db.id,
                                   who.encode("utf-8", "surrogateescape"))
    return head + b" ".join(map(repr_arg, argv)) + b"\r\n"


def feed(client, argv: list[bytes]) -> None:
    """replicationFeedMonitors: one line to every monitor."""
    node = client.node
    if node.persist.loading is not None:
        return
    data = line(client, argv)
    for mon in list(node.monitors):
        if mon.reply_mode & _SILENCED:
            continue                # CLIENT REPLY OFF / SKIP: its output is dropped
        own = mon.monitor_lines
        if own is not None:
            own.append(data)        # its own command is running: after that reply
        else:
            queue(mon, data)


def before_call(client, cmd, argv: list[bytes]) -> None:
    """Rule 2: scripts' commands feed themselves before they run."""
    if cmd.name in FEED_FIRST and client.node.monitors:
        feed(client, argv)


def after_call(client, cmd, argv: list[bytes], reply) -> None:
    """Rule 1, with the arguments redacted as the command redacted them."""
    flags = cmd.flags
    if "skip_monitor" in flags or "admin" in flags or not client.node.monitors:
        return
    feed(client, redacted(cmd, argv, reply))


def feed_exec_abort(client, argv: list[bytes]) -> None:
    """execCommandAbort: an EXEC refused before running still ends the transaction."""
    if client.node.monitors:
        feed(client, argv)


def queue(mon, data: bytes) -> None:
    """Queue a line for a monitor (the `normal` output limits: getClientType of a monitor
    is normal), waking its connection."""
    if mon.close_after_reply:
        return
    if not obuf.queue_push(mon, data, mon.node.monitor_limits):
        stop(mon)                       # over the limits: closed


# -- the monitor's side -------------------------------------------------------------------
def start(client) -> None:
    """MONITOR: the client becomes a monitor (listAddNodeTail(server.monitors))."""
    node = client.node
    if not node.monitors:
        node.gates.turn("monitor", True)
    node.monitors.append(client)
    MONITORING.append(client)
    client.reply_mode |= MONITOR


def stop(client) -> None:
    """RESET or a closed connection: no longer a monitor."""
    if not client.reply_mode & MONITOR:
        return
    client.reply_mode &= ~MONITOR
    node = client.node
    for where in (node.monitors, MONITORING):
        try:
            where.remove(client)
        except ValueError:
            pass
    if not node.monitors:
        node.gates.turn("monitor", False)


def monitor_gate(client, cmd, argv):
    """processCommand: a replica, and so a monitor, may not run a command that reads,
    writes or may replicate ("Replica can't interact with the keyspace"). On while
    anybody monitors."""
    if not client.reply_mode & MONITOR:
        return None
    if cmd.is_write or cmd.is_readonly or cmd.name in MAY_REPLICATE:
        return KEYSPACE_REFUSAL
    if cmd.name == "exec" and client.in_multi and any(
            c.is_write or c.is_readonly or c.name in MAY_REPLICATE
            for c, _ in client.multi_queue):
        return KEYSPACE_REFUSAL
    return None
