"""Selectors and the rules that shape them (Redis 7.0 ACLSetSelector), and their text.

A selector says which commands, keys and channels it allows:

* commands: the set of allowed command names (Redis's per-command bitmap; a container's
  rule flips its subcommands too), `allcommands` (set by `+@all`, cleared as soon as any
  command is blocked: lets the check skip the bitmap), `future` (Redis's reserved bit:
  set by `+@all`, cleared only by `-@all`; describe starts from `+@all` when it is set),
  and `firstargs` (`+select|0`: command name -> allowed first arguments, kept only while
  the command itself is not allowed);
* keys: `allkeys`, or (pattern, R/W flags) in order; `%RW~p`, `%R~p`+`%W~p` are `~p`;
* channels: `allchannels`, or patterns in order.

`apply(selector, op)` applies one rule or raises RuleError with Redis's reason text.
`describe(selector)` is ACLDescribeSelector; `command_rules(selector)` is
ACLDescribeSelectorCommandRules, whose category choices are Redis's greedy best fit.
"""
from __future__ import annotations

from cluster.base.cstring import c_string
from cluster.acl import categories as cats

READ, WRITE = 1, 2
ALL_PERMS = READ | WRITE

# ACLSetUserStringError's texts, by the errno Redis uses.
E_SYNTAX = "Syntax error"
E_UNKNOWN = "Unknown command or category name in ACL"
E_KEYS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not "
                    "valid and does not have any effect. Try 'resetkeys' to start with an "
                    "empty list of patterns")
E_CHANNELS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allchannels' flag) "
                        "is not valid and does not have any effect. Try 'resetchannels' to "
                        "start with an empty list of channels")
E_NO_PASSWORD = "The password you are trying to remove from the user does not exist"
E_BAD_HASH = ("The password hash must be exactly 64 characters and contain only lowercase "
              "hexadecimal characters")
E_DUPLICATE = "Duplicate user found. A user can only be defined once in config files"
E_FIRSTARG_OF_SUB = "Allowing first-arg of a subcommand is not supported"

_SPACES = frozenset(b" \t\n\v\f\r\x00")


class RuleError(Exception):
    """A rule was refused; `reason` is Redis's text for it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def has_spaces(data: bytes) -> bool:
    """ACLStringHasSpaces: any whitespace or NUL byte."""
    return any(b in _SPACES for b in data)


cstr = c_string          # strcasecmp / sdsnew see an op up to its first NUL


class Selector:
    __slots__ = ("root", "allkeys", "allchannels", "allcommands", "future", "allowed",
                 "firstargs", "keys", "channels")

    def __init__(self, root: bool, pubsub_all: bool):
        self.root = root
        self.allkeys = False
        self.allchannels = pubsub_all
        self.allcommands = False
        self.future = False
        self.allowed: set[str] = set()
        self.firstargs: dict[str, list[bytes]] = {}
        self.keys: list[list] = []               # [pattern bytes, READ|WRITE]
        self.channels: list[bytes] = []

    def copy(self) -> "Selector":
        new = Selector.__new__(Selector)
        new.root, new.allkeys, new.allchannels = self.root, self.allkeys, self.allchannels
        new.allcommands, new.future = self.allcommands, self.future
        new.allowed = set(self.allowed)
        new.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        new.keys = [list(k) for k in self.keys]
        new.channels = list(self.channels)
        return new

    # -- command bits -------------------------------------------------------------------
    def change(self, cmd, allow: bool) -> None:
        """ACLChangeSelectorPerm: the command and its subcommands; its first-args go."""
        names = cats.change_set(cmd)
        if allow:
            self.allowed.update(names)
        else:
            self.allowed.difference_update(names)
            self.allcommands = False
        self.firstargs.pop(cmd.name, None)

    def change_category(self, cat: str, allow: bool) -> None:
        catalog = cats.catalog()
        affected = catalog.affected[cat]
        if allow:
            self.allowed |= affected
        elif affected:
            self.allowed -= affected
            self.allcommands = False
        for name in catalog.members[cat]:
            self.firstargs.pop(name, None)

    def set_all_commands(self, allow: bool) -> None:
        self.allowed = set(cats.catalog().all_names) if allow else set()
        self.allcommands = self.future = allow
        self.firstargs = {}

    def add_firstarg(self, cmd, arg: bytes) -> None:
        args = self.firstargs.setdefault(cmd.name, [])
        if not any(a.lower() == arg.lower() for a in args):
            args.append(arg)


def apply(sel: Selector, op: bytes) -> None:
    """ACLSetSelector: apply one selector rule, or raise RuleError."""
    word = cstr(op).lower()
    if word in (b"allkeys", b"~*"):
        sel.allkeys, sel.keys = True, []
    elif word == b"resetkeys":
        sel.allkeys, sel.keys = False, []
    elif word in (b"allchannels", b"&*"):
        sel.allchannels, sel.channels = True, []
    elif word == b"resetchannels":
        sel.allchannels, sel.channels = False, []
    elif word in (b"allcommands", b"+@all"):
        sel.set_all_commands(True)
    elif word in (b"nocommands", b"-@all"):
        sel.set_all_commands(False)
    elif op[:1] in (b"~", b"%"):
        _add_key_pattern(sel, op)
    elif op[:1] == b"&":
        if sel.allchannels:
            raise RuleError(E_CHANNELS_AFTER_ALL)
        pattern = op[1:]
        if has_spaces(pattern):
            raise RuleError(E_SYNTAX)
        if pattern not in sel.channels:
            sel.channels.append(pattern)
        sel.allchannels = False
    elif op[:1] == b"+" and op[1:2] != b"@":
        _allow_command(sel, cstr(op)[1:])
    elif op[:1] == b"-" and op[1:2] != b"@":
        cmd = cats.lookup(cstr(op)[1:])
        if cmd is None:
            raise RuleError(E_UNKNOWN)
        sel.change(cmd, False)
    elif op[:1] in (b"+", b"-") and op[1:2] == b"@":
        cat = cats.category(cstr(op)[2:])
        if cat is None:
            raise RuleError(E_UNKNOWN)
        sel.change_category(cat, op[:1] == b"+")
    else:
        raise RuleError(E_SYNTAX)


def _add_key_pattern(sel: Selector, op: bytes) -> None:
    if sel.allkeys:
        raise RuleError(E_KEYS_AFTER_ALL)
    if op[:1] == b"~":
        flags, offset = ALL_PERMS, 1
    else:
        flags, offset = 0, 1
        while offset < len(op):
            c = op[offset:offset + 1]
            if c.upper() == b"R" and not flags & READ:
                flags |= READ
            elif c.upper() == b"W" and not flags & WRITE:
                flags |= WRITE
            elif c == b"~":
                offset += 1
                break
            else:
                raise RuleError(E_SYNTAX)
            offset += 1
        if not flags:
            # Redis 7.0.15 accepts `%~p` and then crashes describing it; refuse it.
            raise RuleError(E_SYNTAX)
    pattern = op[offset:]
    if has_spaces(pattern):
        raise RuleError(E_SYNTAX)
    for entry in sel.keys:
        if entry[0] == pattern:
            entry[1] |= flags
            break
    else:
        sel.keys.append([pattern, flags])
    sel.allkeys = False


def _allow_command(sel: Selector, name: bytes) -> None:
    bar = name.rfind(b"|")
    if bar < 0:
        cmd = cats.lookup(name)
        if cmd is None:
            raise RuleError(E_UNKNOWN)
        sel.change(cmd, True)
        return
    base, sub = name[:bar], name[bar + 1:]
    cmd = cats.lookup(base)
    if cmd is None:
        raise RuleError(E_UNKNOWN)
    if cats.is_subcommand(cmd):
        raise RuleError(E_FIRSTARG_OF_SUB)
    if not sub:
        raise RuleError(E_SYNTAX)
    if cmd.subcommands:
        subcmd = cats.lookup(name)
        if subcmd is None:
            raise RuleError(E_UNKNOWN)
        sel.change(subcmd, True)
    else:
        sel.add_firstarg(cmd, sub)


# -- describing ---------------------------------------------------------------------------
def pattern_text(pattern: bytes, flags: int) -> bytes:
    prefix = {ALL_PERMS: b"~", READ: b"%R~", WRITE: b"%W~"}[flags]
    return prefix + pattern


def command_rules(sel: Selector) -> bytes:
    """ACLDescribeSelectorCommandRules: `+@all`/`-@all`, the best-fitting categories, then
    single commands (and first-args) until the rules rebuild exactly the allowed set."""
    catalog = cats.catalog()
    additive = not sel.future
    rules = [b"-@all" if additive else b"+@all"]
    fake = set() if additive else set(catalog.all_names)
    temp = set(sel.allowed)
    applied: set[str] = set()
    while True:
        best, mindiff, maxsame = None, 1 << 62, 0
        for cat in cats.CATEGORIES:
            if cat in applied:
                continue
            members = catalog.members[cat]
            on = len(members & temp)
            off = len(members) - on
            diff, same = (off, on) if additive else (on, off)
            if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                best, mindiff, maxsame = cat, diff, same
        if best is None:
            break
        affected = catalog.affected[best]
        if additive:
            fake |= affected
            temp -= affected
        else:
            fake -= affected
            temp |= affected
        rules.append((b"+@" if additive else b"-@") + best.encode())
        applied.add(best)
    allowed = sel.allowed
    for cmd in catalog.ordered:
        userbit = cmd.name in allowed
        if userbit != (cmd.name in fake):
            rules.append((b"+" if userbit else b"-") + cmd.name.encode())
            names = cats.change_set(cmd)
            if userbit:
                fake.update(names)
            else:
                fake.difference_update(names)
        if not userbit and cmd.name in sel.firstargs:
            for arg in sel.firstargs[cmd.name]:
                rules.append(b"+" + cmd.name.encode() + b"|" + arg)
    return b" ".join(rules)


def keys_text(sel: Selector) -> bytes:
    """GETUSER's `keys`: `~*`, or the patterns joined by spaces."""
    if sel.allkeys:
        return b"~*"
    return b" ".join(pattern_text(p, f) for p, f in sel.keys)


def channels_text(sel: Selector) -> bytes:
    if sel.allchannels:
        return b"&*"
    return b" ".join(b"&" + c for c in sel.channels)


def describe(sel: Selector) -> bytes:
    """ACLDescribeSelector: keys, channels, then command rules."""
    parts = []
    if sel.allkeys:
        parts.append(b"~*")
    else:
        parts.extend(pattern_text(p, f) for p, f in sel.keys)
    if sel.allchannels:
        parts.append(b"&*")
    else:
        parts.append(b"resetchannels")
        parts.extend(b"&" + c for c in sel.channels)
    parts.append(command_rules(sel))
    return b" ".join(parts)


# -- argument shapes ----------------------------------------------------------------------
def merge_selector_args(args: list[bytes]) -> list[bytes]:
    """ACLMergeSelectorArguments: `(+get` `~key)` -> `(+get ~key)`. An unclosed `(` raises
    ValueError(the argument that opened it); a new opener restarts the merge, as in Redis."""
    merged: list[bytes] = []
    current: bytes | None = None
    opener = b""
    for op in args:
        if op[:1] == b"(" and op[-1:] != b")":
            current, opener = op, op
            continue
        if current is not None:
            current += b" " + op
            if op[-1:] == b")":
                merged.append(current)
                current = None
            continue
        merged.append(op)
    if current is not None:
        raise ValueError(opener)
    return merged


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = frozenset(b"0123456789abcdefABCDEF")
_BLANK = frozenset(b" \t\n\v\f\r")


def split_args(line: bytes) -> list[bytes] | None:
    """sdssplitargs: words, "double" quotes with escapes, 'single' quotes; None if the
    quotes are unbalanced (or a closing quote is followed by something)."""
    nul = line.find(b"\x00")
    if nul >= 0:
        line = line[:nul]
    n = len(line)

    def at(i: int) -> int:
        return line[i] if i < n else 0

    out: list[bytes] = []
    i = 0
    while True:
        while i < n and line[i] in _BLANK:
            i += 1
        if i >= n:
            return out
        cur = bytearray()
        inq = insq = done = False
        while not done:
            c = at(i)
            if inq:
                if c == 92 and at(i + 1) == 120 and at(i + 2) in _HEX and at(i + 3) in _HEX:
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 92 and at(i + 1):
                    i += 1
                    cur.append(_ESCAPES.get(at(i), at(i)))
                elif c == 34:
                    if at(i + 1) and at(i + 1) not in _BLANK:
                        return None
                    done = True
                elif not c:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == 92 and at(i + 1) == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:
                    if at(i + 1) and at(i + 1) not in _BLANK:
                        return None
                    done = True
                elif not c:
                    return None
                else:
                    cur.append(c)
            elif c in (32, 10, 13, 9, 0):
                done = True
            elif c == 34:
                inq = True
            elif c == 39:
                insq = True
            else:
                cur.append(c)
            if at(i):
                i += 1
        out.append(bytes(cur))
