"""The one command table: every command described once.

Routing, COMMAND / COMMAND GETKEYS, ACL categories, the arity check and the propagation
rule all read this table. A command module registers its handlers with `@command(...)`;
container commands (CLIENT, CONFIG, OBJECT, ...) register their parts with
`@subcommand(parent, ...)`.

A handler is `handler(client, argv) -> reply`: synchronous, so a command is atomic.
"""
from __future__ import annotations

from typing import Callable

import attrs

# Flags implying ACL categories, as Redis derives them (setImplicitACLCategories).
_IMPLIED_CATEGORIES = (
    ("write", "write"), ("readonly", "read"), ("admin", "admin"), ("admin", "dangerous"),
    ("pubsub", "pubsub"), ("fast", "fast"), ("blocking", "blocking"),
)


@attrs.define(slots=True, eq=False)
class Command:
    name: str                       # lower case; "client|list" for a subcommand
    arity: int
    flags: tuple[str, ...]
    first_key: int
    last_key: int
    step: int
    handler: Callable | None
    acl_categories: tuple[str, ...]
    group: str
    summary: str
    since: str
    complexity: str
    key_specs: tuple[dict, ...]
    getkeys: Callable | None        # argv -> key positions, for movablekeys commands
    tips: tuple[str, ...] = ()
    subcommands: dict[str, "Command"] = attrs.field(factory=dict)
    doc_flags: tuple[str, ...] = ()
    arguments: tuple[dict, ...] = ()
    # Fast flag tests used on the hot path.
    is_write: bool = False
    is_readonly: bool = False
    no_auth: bool = False
    no_multi: bool = False
    denyoom: bool = False

    @property
    def movablekeys(self) -> bool:
        return self.getkeys is not None

    def key_positions(self, argv: list[bytes]) -> list[int]:
        """Indexes in argv of this command's keys (COMMAND GETKEYS, routing)."""
        if self.getkeys is not None:
            return self.getkeys(argv)
        if self.first_key <= 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        return list(range(self.first_key, min(last, len(argv) - 1) + 1, self.step))

    def keys(self, argv: list[bytes]) -> list[bytes]:
        return [argv[i] for i in self.key_positions(argv)]


TABLE: dict[str, Command] = {}


def _categories(flags: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    explicit = [c.lstrip("@") for c in extra]
    cats = [c for flag, c in _IMPLIED_CATEGORIES if flag in flags
            and not (c == "read" and "scripting" in explicit)]
    for c in explicit:
        if c not in cats:
            cats.append(c)
    if "fast" not in cats:
        cats.append("slow")
    return tuple(cats)


def _default_key_specs(first: int, last: int, step: int, spec_flags: tuple[str, ...]) -> tuple:
    if first <= 0:
        return ()
    return ({
        "flags": list(spec_flags),
        "begin_search": {"type": "index", "spec": {"index": first}},
        "find_keys": {"type": "range",
                      "spec": {"lastkey": (last - first) if last >= 0 else last,
                               "keystep": step, "limit": 0}},
    },)


def _make(name: str, arity: int, flags: str, keys: tuple[int, int, int], handler,
          acl: str, group: str, summary: str, since: str, complexity: str,
          key_specs, key_flags: str, getkeys, tips: str, doc_flags: str) -> Command:
    flag_t = tuple(flags.split())
    if getkeys is not None and "movablekeys" not in flag_t:
        flag_t = flag_t + ("movablekeys",)
    first, last, step = keys
    if key_specs is None:
        key_specs = _default_key_specs(first, last, step, tuple(key_flags.split()))
    return Command(
        name=name, arity=arity, flags=flag_t, first_key=first, last_key=last, step=step,
        handler=handler, acl_categories=_categories(flag_t, tuple(acl.split())),
        group=group, summary=summary, since=since, complexity=complexity,
        key_specs=tuple(key_specs), getkeys=getkeys, tips=tuple(tips.split()),
        doc_flags=tuple(doc_flags.split()),
        is_write="write" in flag_t, is_readonly="readonly" in flag_t,
        no_auth="no_auth" in flag_t, no_multi="no_multi" in flag_t,
        denyoom="denyoom" in flag_t,
    )


def command(name: str, arity: int, flags: str = "", keys: tuple[int, int, int] = (0, 0, 0),
            acl: str = "", group: str = "generic", summary: str = "", since: str = "1.0.0",
            complexity: str = "", key_specs=None, key_flags: str = "", getkeys=None,
            tips: str = "", doc_flags: str = ""):
    """Register a top-level command. Flags use Redis 7 names (write readonly denyoom fast...)."""
    def register(handler):
        TABLE[name] = _make(name, arity, flags, keys, handler, acl, group, summary, since,
                            complexity, key_specs, key_flags, getkeys, tips, doc_flags)
        return handler
    return register


def container(name: str, arity: int = -2, acl: str = "", group: str = "generic",
              summary: str = "", since: str = "1.0.0", complexity: str = "") -> Command:
    """Register a command made only of subcommands (CLIENT, CONFIG, OBJECT ...).

    As in Redis 7.0, a container has no flags and no ACL category but @slow; `acl` is
    accepted for symmetry and ignored (its subcommands carry their own categories)."""
    cmd = _make(name, arity, "", (0, 0, 0), None, "", group, summary, since, complexity,
                None, "", None, "", "")
    TABLE[name] = cmd
    return cmd


def subcommand(parent: str, name: str, arity: int, flags: str = "",
               keys: tuple[int, int, int] = (0, 0, 0), acl: str = "", summary: str = "",
               since: str = "1.0.0", complexity: str = "", key_specs=None,
               key_flags: str = "", getkeys=None, tips: str = "", doc_flags: str = ""):
    """Register `parent name` (e.g. CLIENT LIST); arity counts the parent word too."""
    def register(handler):
        par = TABLE[parent]
        full = f"{parent}|{name}"
        par.subcommands[name] = _make(full, arity, flags, keys, handler, acl, par.group,
                                      summary, since, complexity, key_specs, key_flags,
                                      getkeys, tips, doc_flags)
        return handler
    return register


# Why `resolve` found no command to run.
UNKNOWN, UNKNOWN_SUBCOMMAND, WRONG_ARITY = 0, 1, 2
# The commands whose flags the script or function they run may declare instead
# (getCommandFlags: evalGetCommandFlags, fcallGetCommandFlags; node.script_flags).
SCRIPT_COMMANDS = frozenset(("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"))

# Raw command name (any case seen so far) -> Command: skips decode+lower on the hot path.
_BY_RAW: dict[bytes, Command] = {}


def _top(raw: bytes) -> Command | None:
    cmd = _BY_RAW.get(raw)
    if cmd is None:
        try:
            cmd = TABLE.get(raw.decode("utf-8", "surrogateescape").lower())
        except Exception:
            return None
        if cmd is not None and len(_BY_RAW) < 4096:
            _BY_RAW[raw] = cmd
    return cmd


def lookup(argv: list[bytes]) -> Command | None:
    """The command (or subcommand) argv names; None if unknown. No arity check; a
    container with an unknown subcommand is the container itself."""
    cmd = _top(argv[0])
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        sub = cmd.subcommands.get(argv[1].decode("utf-8", "surrogateescape").lower())
        if sub is not None:
            return sub
    return cmd


def resolve(argv: list[bytes]) -> Command | int:
    """lookupCommand and the arity check, as processCommand (and a script's redis.call)
    do them: the command or subcommand to run, or why there is none (UNKNOWN,
    UNKNOWN_SUBCOMMAND, WRONG_ARITY; `lookup` then names the command for the message)."""
    cmd = _BY_RAW.get(argv[0])
    if cmd is None:
        cmd = _top(argv[0])
        if cmd is None:
            return UNKNOWN
    argc = len(argv)
    if cmd.subcommands and argc >= 2:
        cmd = cmd.subcommands.get(argv[1].decode("utf-8", "surrogateescape").lower())
        if cmd is None:
            return UNKNOWN_SUBCOMMAND
    arity = cmd.arity
    if (arity > 0 and argc != arity) or argc < -arity:
        return WRONG_ARITY
    return cmd
