"""COMMAND and its subcommands: the command table as Redis 7.0 describes itself.

Everything here is generated from `cluster.execution.table.TABLE`. Reply shapes follow Redis 7.0:
an entry is [name, arity, flags, first, last, step, categories, tips, key specs,
subcommands]; flags, categories, tips and key specs are RESP3 sets, key specs and docs
are maps.
"""
from __future__ import annotations

from cluster.base.glob import compile_glob
from cluster.resp.reply import ReplyError, SetReply, Status
from cluster.execution import keyspecs
from cluster.execution.table import TABLE, Command, command, subcommand

# The order Redis lists these in; flags not named here (sentinel, may_replicate, ...)
# are never shown.
FLAG_ORDER = (
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
    "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
    "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys", "allow_busy",
)
CATEGORY_ORDER = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
    "dangerous", "connection", "transaction", "scripting",
)
KEY_FLAG_ORDER = (
    "RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete",
    "variable_flags",
)
_KEY_FLAG_NAME = {f.lower(): f for f in KEY_FLAG_ORDER}
_FLAG_RANK = {f: i for i, f in enumerate(FLAG_ORDER)}
_CATEGORY_RANK = {c: i for i, c in enumerate(CATEGORY_ORDER)}

_HELP = (
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
)


def _text(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


# -- COMMAND INFO entries -------------------------------------------------------------
def visible_flags(cmd: Command) -> list[str]:
    return sorted((f for f in cmd.flags if f in _FLAG_RANK), key=_FLAG_RANK.__getitem__)


def categories(cmd: Command) -> list[str]:
    """The command's ACL categories, without '@', in Redis's order."""
    return sorted(cmd.acl_categories, key=lambda c: _CATEGORY_RANK.get(c, len(CATEGORY_ORDER)))


def key_spec_flags(flags) -> list[str]:
    """Key-spec flags as Redis spells and orders them ("RW", "access", ...)."""
    if isinstance(flags, (str, bytes)):
        flags = _text(flags).split()
    names = [_KEY_FLAG_NAME.get(_text(f).decode().lower(), _text(f).decode()) for f in flags]
    return sorted(names, key=lambda f: KEY_FLAG_ORDER.index(f) if f in KEY_FLAG_ORDER else 99)


def _flag_set(names) -> SetReply:
    return SetReply(Status(n.encode()) for n in names)


def _spec_value(value):
    if isinstance(value, dict):
        return {_text(k): _spec_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_spec_value(v) for v in value]
    if isinstance(value, (int, bytes)):
        return value
    return _text(value)


def key_spec_reply(spec: dict) -> dict:
    out = {}
    if spec.get("notes"):
        out[b"notes"] = _text(spec["notes"])
    out[b"flags"] = _flag_set(key_spec_flags(spec.get("flags", ())))
    for part in ("begin_search", "find_keys"):
        out[part.encode()] = _spec_value(spec.get(part, {"type": "unknown", "spec": {}}))
    return out


def info_entry(cmd: Command) -> list:
    return [
        cmd.name.encode(), cmd.arity, _flag_set(visible_flags(cmd)),
        cmd.first_key, cmd.last_key, cmd.step,
        _flag_set("@" + c for c in categories(cmd)),
        SetReply(t.encode() for t in cmd.tips),
        SetReply(key_spec_reply(s) for s in cmd.key_specs),
        [info_entry(sub) for sub in cmd.subcommands.values()] if cmd.subcommands
        else SetReply(),
    ]


# -- COMMAND DOCS ---------------------------------------------------------------------
def _argument_reply(arg: dict) -> dict:
    out = {}
    for k, v in arg.items():
        if k == "flags":
            out[b"flags"] = _flag_set(_text(f).decode() for f in v)
        elif k == "arguments":
            out[b"arguments"] = [_argument_reply(a) for a in v]
        else:
            out[_text(k)] = v if isinstance(v, int) else _text(v)
    return out


def docs_entry(cmd: Command) -> dict:
    out = {}
    if cmd.summary:
        out[b"summary"] = cmd.summary.encode()
    if cmd.since:
        out[b"since"] = cmd.since.encode()
    out[b"group"] = cmd.group.encode()
    if cmd.complexity:
        out[b"complexity"] = cmd.complexity.encode()
    if cmd.doc_flags:
        out[b"doc_flags"] = _flag_set(cmd.doc_flags)
    if cmd.arguments:
        out[b"arguments"] = [_argument_reply(a) for a in cmd.arguments]
    if cmd.subcommands:
        out[b"subcommands"] = {s.name.encode(): docs_entry(s)
                               for s in cmd.subcommands.values()}
    return out


# -- lookups --------------------------------------------------------------------------
def by_full_name(name: bytes) -> Command | None:
    """`get`, `client|list` (any case) -> the command; None if unknown."""
    text = name.decode("utf-8", "surrogateescape").lower()
    parent, sep, child = text.partition("|")
    cmd = TABLE.get(parent)
    if cmd is None or not sep:
        return cmd
    return cmd.subcommands.get(child)


def by_argv(argv: list[bytes]) -> Command | None:
    """The command a full argv names, as Redis resolves it (unknown subcommand -> None)."""
    cmd = TABLE.get(argv[0].decode("utf-8", "surrogateescape").lower())
    if cmd is None or len(argv) == 1 or not cmd.subcommands:
        return cmd
    return cmd.subcommands.get(argv[1].decode("utf-8", "surrogateescape").lower())


def all_commands():
    """Every command and subcommand, parents first."""
    for cmd in TABLE.values():
        yield cmd
        yield from cmd.subcommands.values()


# -- key extraction from key specs ----------------------------------------------------
has_keys = keyspecs.has_key_specs


def keys_from_specs(cmd: Command, argv: list[bytes]) -> list[tuple[int, list[str]]] | None:
    """(position, flags) of each key per the key specs; None if the specs can't tell."""
    found = keyspecs.keys_from_specs(cmd, argv)
    if found is None:
        return None
    return [(pos, key_spec_flags(spec.get("flags", ()))) for pos, spec, _ in found]


def _set_keys(argv: list[bytes]) -> list[tuple[int, list[str]]]:
    """setGetKeys: SET ... GET reads the old value."""
    if any(arg.lower() == b"get" for arg in argv[3:]):
        return [(1, ["RW", "access", "update"])]
    return [(1, ["OW", "update"])]


def _bitfield_keys(argv: list[bytes]) -> list[tuple[int, list[str]]]:
    """bitfieldGetKeys: read-only when only GET and OVERFLOW appear (a bad argument
    counts as a write)."""
    i, readonly = 2, True
    while i < len(argv):
        arg, rest = argv[i].lower(), len(argv) - i - 1
        if arg == b"get" and rest >= 2:
            i += 3
        elif arg == b"overflow" and rest >= 1:
            i += 2
        else:
            readonly = False
            break
    return [(1, ["RO", "access"] if readonly else ["RW", "access", "update"])]


def _sort_keys(argv: list[bytes]) -> list[tuple[int, list[str]]]:
    """sortGetKeys: the sorted key, and the last STORE's key (LIMIT/GET/BY skip their
    arguments)."""
    found = [(1, ["RO", "access"])]
    store = None
    i = 2
    while i < len(argv):
        arg = argv[i].lower()
        if arg == b"limit":
            i += 2
        elif arg in (b"get", b"by"):
            i += 1
        elif arg == b"store" and i + 1 < len(argv):
            store = i + 1
        i += 1
    if store is not None:
        found.append((store, ["OW", "update"]))
    return found


# The native getkeys procs that give their keys' flags (the rest give none); Redis uses
# one when the command's key specs cannot tell (incomplete) or their flags vary.
_NATIVE_FLAGS = {
    "set": _set_keys,
    "bitfield": _bitfield_keys,
    "sort": _sort_keys,
    "sort_ro": lambda argv: [(1, ["RO", "access"])],
}
_MIGRATE_FLAGS = ["RW", "access", "delete"]


def keys_and_flags(cmd: Command, argv: list[bytes]) -> list[tuple[int, list[str]]]:
    """Key positions with their flags, as COMMAND GETKEYSANDFLAGS finds them
    (getKeysFromCommandWithSpecs): the key specs when they say it all, else the command's
    own key finder."""
    flags = [key_spec_flags(s.get("flags", ())) for s in cmd.key_specs]
    varflags = any("variable_flags" in f for f in flags)
    if any("not_key" not in f for f in flags) and not varflags:
        found = keys_from_specs(cmd, argv)
        if found is not None:
            return found
    native = _NATIVE_FLAGS.get(cmd.name)
    if native is not None:
        return native(argv)
    if cmd.getkeys is None:
        return []
    given = _MIGRATE_FLAGS if cmd.name == "migrate" else []
    return [(pos, given) for pos in cmd.getkeys(argv)]


# -- handlers -------------------------------------------------------------------------
@command("command", -1, "loading stale", acl="@connection", group="server",
         summary="Get array of Redis command details", since="2.8.13",
         complexity="O(N) where N is the total number of Redis commands",
         tips="nondeterministic_output_order")
def command_(client, argv):
    return [info_entry(cmd) for cmd in TABLE.values()]


@subcommand("command", "count", 2, "loading stale", acl="@connection",
            summary="Get total number of Redis commands", since="2.8.13", complexity="O(1)")
def command_count(client, argv):
    return len(TABLE)


@subcommand("command", "info", -2, "loading stale", acl="@connection",
            summary="Get array of specific Redis command details, or all when no argument "
                    "is given.", since="2.8.13",
            complexity="O(N) where N is the number of commands to look up",
            tips="nondeterministic_output_order")
def command_info(client, argv):
    if len(argv) == 2:
        return command_(client, argv)
    out = []
    for name in argv[2:]:
        cmd = by_full_name(name)
        out.append(None if cmd is None else info_entry(cmd))
    return out


@subcommand("command", "docs", -2, "loading stale", acl="@connection",
            summary="Get array of specific Redis command documentation", since="7.0.0",
            complexity="O(N) where N is the number of commands to look up",
            tips="nondeterministic_output_order")
def command_docs(client, argv):
    if len(argv) == 2:
        return {cmd.name.encode(): docs_entry(cmd) for cmd in TABLE.values()}
    out = {}
    for name in argv[2:]:
        cmd = by_full_name(name)
        if cmd is not None:
            out[cmd.name.encode()] = docs_entry(cmd)
    return out


@subcommand("command", "list", -2, "loading stale", acl="@connection",
            summary="Get an array of Redis command names", since="7.0.0",
            complexity="O(N) where N is the total number of Redis commands",
            tips="nondeterministic_output_order")
def command_list(client, argv):
    if len(argv) == 2:
        return [cmd.name.encode() for cmd in all_commands()]
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        raise ReplyError("ERR syntax error")
    kind, value = argv[3].lower(), argv[4]
    if kind == b"module":
        return []               # no modules
    if kind == b"aclcat":
        cat = value.decode("utf-8", "replace").lower()
        return [c.name.encode() for c in all_commands() if cat in c.acl_categories]
    if kind == b"pattern":
        matches = compile_glob(value, nocase=True)
        return [c.name.encode() for c in all_commands() if matches(c.name.encode())]
    raise ReplyError("ERR syntax error")


def _getkeys(argv: list[bytes]) -> list[tuple[int, list[str]]]:
    target = argv[2:]
    cmd = by_argv(target)
    if cmd is None:
        raise ReplyError("ERR Invalid command specified")
    if not has_keys(cmd):
        raise ReplyError("ERR The command has no key arguments")
    argc = len(target)
    if (cmd.arity > 0 and cmd.arity != argc) or argc < -cmd.arity:
        raise ReplyError("ERR Invalid number of arguments specified for command")
    found = keys_and_flags(cmd, target)
    if not found and "no_mandatory_keys" not in cmd.flags:
        raise ReplyError("ERR Invalid arguments specified for command")
    return [(pos + 2, flags) for pos, flags in found]


@subcommand("command", "getkeys", -4, "loading stale", acl="@connection",
            summary="Extract keys given a full Redis command", since="2.8.13",
            complexity="O(N) where N is the number of arguments to the command")
def command_getkeys(client, argv):
    return [argv[pos] for pos, _ in _getkeys(argv)]


@subcommand("command", "getkeysandflags", -4, "loading stale", acl="@connection",
            summary="Extract keys and access flags given a full Redis command",
            since="7.0.0",
            complexity="O(N) where N is the number of arguments to the command")
def command_getkeysandflags(client, argv):
    return [[argv[pos], _flag_set(flags)] for pos, flags in _getkeys(argv)]


@subcommand("command", "help", 2, "loading stale", acl="@connection",
            summary="Show helpful text about the different subcommands", since="5.0.0",
            complexity="O(1)")
def command_help(client, argv):
    return [Status(line.encode()) for line in _HELP]


# Argument docs (COMMAND DOCS) for the subcommands that take arguments.
_NAMES_ARG = ({"name": "command-name", "type": "string", "flags": ("optional", "multiple")},)
TABLE["command"].subcommands["info"].arguments = _NAMES_ARG
TABLE["command"].subcommands["docs"].arguments = _NAMES_ARG
TABLE["command"].subcommands["list"].arguments = (
    {"name": "filterby", "type": "oneof", "token": "FILTERBY", "flags": ("optional",),
     "arguments": ({"name": "module-name", "type": "string", "token": "MODULE"},
                   {"name": "category", "type": "string", "token": "ACLCAT"},
                   {"name": "pattern", "type": "pattern", "token": "PATTERN"})},
)
