"""`#!lua flags=...` at the top of an EVAL script (Redis 7.0's evalExtractShebangFlags).

A script without a shebang runs in "eval compatibility mode" (flags None): it may write,
and the checks below do not apply. With one, the flags are a frozenset of FLAGS names;
the shebang line is compiled as a comment so line numbers stay those of the body.
"""
from __future__ import annotations

from cluster.resp.reply import ReplyError

FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")
_SPACE = b" \t\n\r\v\f"


def parse(body: bytes) -> tuple[frozenset | None, bytes]:
    """(flags, source to compile). ReplyError on a bad shebang."""
    if not body.startswith(b"#!"):
        return None, body
    end = body.find(b"\n")
    if end < 0:
        raise ReplyError("ERR Invalid script shebang")
    parts = _split(body[:end])
    if not parts:
        raise ReplyError("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        raise ReplyError("ERR Unexpected engine in script shebang: %s" % _text(parts[0]))
    flags = set()
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise ReplyError("ERR Unknown lua shebang option: %s" % _text(part))
        value = part[6:]
        for flag in (value.split(b",") if value else ()):
            name = _text(flag)
            if name not in FLAGS:
                raise ReplyError("ERR Unexpected flag in script shebang: %s" % name)
            flags.add(name)
    return frozenset(flags), b"--" + body[2:]


def check(flags: frozenset | None, node, client, readonly: bool) -> None:
    """scriptPrepareForRun's flag checks for one run (compatibility mode: only that a
    stale replica runs no script)."""
    link = node.repl.link
    if link is not None and not client.is_master_link and not link.link_up \
            and not node.config["replica-serve-stale-data"] and (
                flags is None or "allow-stale" not in flags):
        raise ReplyError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
                         "is set to 'no'.")
    if flags is None:
        return
    if "no-cluster" in flags and node.cluster is not None:
        raise ReplyError("ERR Can not run script on cluster, 'no-cluster' flag is set.")
    if "no-writes" in flags:
        return
    if node.repl.link is not None and not client.is_master_link \
            and node.config["replica-read-only"]:
        raise ReplyError("READONLY Can not run script with write flag on readonly replica")
    if readonly:
        raise ReplyError("ERR Can not execute a script with write flag using *_ro command.")
    check_oom(flags, node)


def check_oom(flags: frozenset, node) -> None:
    """scriptPrepareForRun: memory was short when the command came in (no-writes, which
    implies allow-oom, returned earlier)."""
    if node.pre_command_oom and node.config["maxmemory"] and "allow-oom" not in flags:
        raise ReplyError("OOM allow-oom flag is not set on the script, can not run it when "
                         "used memory > 'maxmemory'")


def _split(line: bytes) -> list[bytes]:
    """The words of the shebang line (sdssplitargs without quotes: enough for flags)."""
    for ch in _SPACE[1:]:
        line = line.replace(bytes([ch]), b" ")
    return [w for w in line.split(b" ") if w]


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")
