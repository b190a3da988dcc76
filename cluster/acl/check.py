"""The permission check of Redis 7.0 (ACLCheckAllUserCommandPerm and its helpers).

A user may run a command when one of its selectors (root first) allows all of it:

1. the command: `allcommands`, the command's bit, or (bit unset) a first argument allowed
   by `+cmd|arg`; commands flagged no_auth (AUTH, HELLO ...) are always allowed;
2. every key the command names (getKeysFromCommandWithSpecs: the key specs when they are
   reliable, else the command's own key finder), each needing R for an `access` key and
   W for an `insert`/`delete`/`update` key (a key with none of those needs nothing more
   than some pattern matching it);
3. every channel of PUBLISH/SPUBLISH/SUBSCRIBE/SSUBSCRIBE/PSUBSCRIBE (not the
   UNSUBSCRIBE family); a PSUBSCRIBE pattern must equal an allowed pattern literally.

When no selector allows it, the denial reported is the "most relevant" one across
selectors: a key or channel denial beats a command denial, a channel one beats a key
one, and among equals the one at the later argument wins.
"""
from __future__ import annotations

import functools

from cluster.acl.rules import READ, WRITE
from cluster.base.glob import compile_glob
from cluster.execution import keyspecs
from cluster.execution.keyspecs import has_key_specs, lower_flags

CMD, KEY, CHANNEL = 1, 2, 3          # Redis's ACL_DENIED_* order (relevance)
_REASON = {CMD: "command", KEY: "key", CHANNEL: "channel"}

# Pub/sub commands and their channel arguments (commands_with_channels of db.c):
# name -> (checked at all (publish/subscribe), is_pattern, first, count or -1).
_CHANNELS = {
    "subscribe": (True, False, 1, -1), "ssubscribe": (True, False, 1, -1),
    "psubscribe": (True, True, 1, -1), "publish": (True, False, 1, 1),
    "spublish": (True, False, 1, 1),
    "unsubscribe": (False, False, 1, -1), "sunsubscribe": (False, False, 1, -1),
    "punsubscribe": (False, True, 1, -1),
}


class Denied:
    __slots__ = ("reason", "object", "argpos")

    def __init__(self, reason: str, object: str, argpos: int):
        self.reason, self.object, self.argpos = reason, object, argpos

    def __repr__(self) -> str:
        return f"Denied({self.reason!r}, {self.object!r}, {self.argpos})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Denied) and (self.reason, self.object, self.argpos) == \
            (other.reason, other.object, other.argpos)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _matches(pattern: bytes, subject: bytes) -> bool:
    return compile_glob(pattern, nocase=False)(subject)


# -- keys of a command with their access needs ---------------------------------------------
@functools.lru_cache(maxsize=None)
def _needs(flags: frozenset) -> int:
    """The R/W permissions a key with these key-spec flags needs."""
    need = 0
    if "access" in flags:
        need |= READ
    if "insert" in flags or "delete" in flags or "update" in flags:
        need |= WRITE
    return need


def _from_specs(cmd, argv: list[bytes]) -> list[tuple[int, int]] | None:
    """getKeysUsingKeySpecs: (position, needed perms); None when the specs can't tell."""
    found = keyspecs.keys_from_specs(cmd, argv, skip_not_keys=True)
    if found is None:
        return None
    return [(pos, _needs(flags)) for pos, _, flags in found]


def _set_flags(argv: list[bytes]) -> int:
    """setGetKeys: SET ... GET reads the key too."""
    return READ | WRITE if any(a.lower() == b"get" for a in argv[3:]) else WRITE


def _bitfield_flags(argv: list[bytes]) -> int:
    """bitfieldGetKeys: read-only when only GET / OVERFLOW subcommands are well formed."""
    i, argc = 2, len(argv)
    while i < argc:
        rem = argc - i - 1
        arg = argv[i].lower()
        if arg == b"get" and rem >= 2:
            i += 3
        elif arg in (b"set", b"incrby") and rem >= 3:
            return READ | WRITE
        elif arg == b"overflow" and rem >= 1:
            i += 2
        else:
            return READ | WRITE
    return READ


_STATIC_REFS: dict[tuple, list] = {}     # (command, argc) -> key_refs, for static layouts


def key_refs(cmd, argv: list[bytes]) -> list[tuple[int, int]]:
    """getKeysFromCommandWithSpecs: (position, needed R/W) of each key argv names."""
    key_plan = keyspecs.plan(cmd)
    if key_plan.static and len(argv) <= 64:
        at = (cmd, len(argv))
        refs = _STATIC_REFS.get(at)
        if refs is None:
            refs = _STATIC_REFS[at] = _key_refs(cmd, argv, key_plan)
        return refs
    return _key_refs(cmd, argv, key_plan)


def _key_refs(cmd, argv: list[bytes], key_plan) -> list[tuple[int, int]]:
    varflags = key_plan.variable_flags
    if key_plan.names_keys and not varflags:
        found = _from_specs(cmd, argv)
        if found is not None:
            return found
    try:
        positions = cmd.key_positions(argv) if (cmd.getkeys or varflags) else []
    except Exception:
        positions = []
    name = cmd.name
    if name == "set":
        need = _set_flags(argv)
        return [(p, need) for p in positions]
    if name == "bitfield":
        need = _bitfield_flags(argv)
        return [(p, need) for p in positions]
    if name == "migrate":
        return [(p, READ | WRITE) for p in positions]
    if name == "sort":
        return [(p, READ if n == 0 else WRITE) for n, p in enumerate(positions)]
    if name == "sort_ro":                      # sortROGetKeys: RO ACCESS
        return [(p, READ) for p in positions]
    return [(p, 0) for p in positions]         # genericGetKeys and friends: no flags


has_keys = has_key_specs        # doesCommandHaveKeys


def channel_refs(cmd, argv: list[bytes]) -> list[tuple[int, bool]]:
    """(position, is_pattern) of the channels ACL checks (publish / subscribe)."""
    spec = _CHANNELS.get(cmd.name)
    if spec is None or not spec[0]:
        return []
    _, is_pattern, start, count = spec
    stop = len(argv) if count == -1 else min(start + count, len(argv))
    return [(i, is_pattern) for i in range(start, stop)]


# -- one selector ----------------------------------------------------------------------------
def key_allowed(sel, key: bytes, need: int) -> bool:
    """ACLSelectorCheckKey."""
    if sel.allkeys:
        return True
    for pattern, flags in sel.keys:
        if flags & need == need and _matches(pattern, key):
            return True
    return False


def channel_allowed(sel, channel: bytes, is_pattern: bool) -> bool:
    if sel.allchannels:
        return True
    if is_pattern:
        return channel in sel.channels
    return any(_matches(p, channel) for p in sel.channels)


def command_allowed(sel, cmd, argv: list[bytes]) -> bool:
    if sel.allcommands or cmd.no_auth or cmd.name in sel.allowed:
        return True
    args = sel.firstargs.get(cmd.name)
    if len(argv) < 2 or not args:
        return False
    idx = 2 if "|" in cmd.name else 1
    if idx >= len(argv):
        return False
    arg = argv[idx].lower()
    return any(a.lower() == arg for a in args)


def _check_selector(sel, cmd, argv, keys) -> tuple[int, int]:
    """ACLSelectorCheckCmd: (0, 0) if allowed, else (CMD/KEY/CHANNEL, argument index)."""
    if not command_allowed(sel, cmd, argv):
        return CMD, 0
    if not sel.allkeys and keys:
        for pos, need in keys:
            if not key_allowed(sel, argv[pos], need):
                return KEY, pos
    if not sel.allchannels:
        for pos, is_pattern in channel_refs(cmd, argv):
            if not channel_allowed(sel, argv[pos], is_pattern):
                return CHANNEL, pos
    return 0, 0


# -- the public checks --------------------------------------------------------------------
def check_command(user, cmd, argv: list[bytes]) -> Denied | None:
    """ACLCheckAllUserCommandPerm: None if some selector allows the command as called."""
    if user.unrestricted:
        return None
    selectors = user.selectors
    if len(selectors) == 1:                  # the root selector alone: the common case
        sel = selectors[0]
        keys = key_refs(cmd, argv) if not sel.allkeys and has_keys(cmd) else ()
        relevant, last = _check_selector(sel, cmd, argv, keys)
        if not relevant:
            return None
        return _denied(relevant, last, cmd, argv)
    keys = (key_refs(cmd, argv) if has_keys(cmd) and not all(s.allkeys for s in selectors)
            else [])
    relevant, last = CMD, 0
    for sel in selectors:
        result, pos = _check_selector(sel, cmd, argv, keys)
        if not result:
            return None
        if result > relevant or (result == relevant and pos > last):
            relevant, last = result, pos
    return _denied(relevant, last, cmd, argv)


def _denied(relevant: int, last: int, cmd, argv: list[bytes]) -> Denied:
    if relevant == CMD:
        return Denied("command", cmd.name, last)
    return Denied(_REASON[relevant], _text(argv[last]), last)


def check_channels(user, channels: list[bytes], is_pattern: bool) -> Denied | None:
    """ACLUserCheckChannelPerm for each channel: the first one no selector allows."""
    for i, channel in enumerate(channels):
        if not any(channel_allowed(s, channel, is_pattern) for s in user.selectors):
            return Denied("channel", _text(channel), i)
    return None


def check_key(user, key: bytes, read: bool, write: bool) -> bool:
    """ACLUserCheckKeyPerm: may some selector touch `key` with this access?"""
    need = (READ if read else 0) | (WRITE if write else 0)
    return any(key_allowed(s, key, need) for s in user.selectors)


def unrestricted_key_access(user, cmd, argv: list[bytes], read: bool, write: bool) -> bool:
    """ACLUserCheckCmdWithUnrestrictedKeyAccess (SORT BY/GET): some selector allows the
    command and grants this access to every key (`~*`, `%R~*`, allkeys ...)."""
    need = (READ if read else 0) | (WRITE if write else 0)
    keys = key_refs(cmd, argv) if has_keys(cmd) else []
    for sel in user.selectors:
        if _check_selector(sel, cmd, argv, keys)[0]:
            continue
        if sel.allkeys or any(p == b"*" and f & need == need for p, f in sel.keys):
            return True
    return False


def noperm_text(denied: Denied, cmd) -> str:
    """The -NOPERM reply processCommand gives for a denial."""
    if denied.reason == "command":
        return "NOPERM this user has no permissions to run the '%s' command" % cmd.name
    if denied.reason == "key":
        return "NOPERM this user has no permissions to access one of the keys used as " \
               "arguments"
    return "NOPERM this user has no permissions to access one of the channels used as " \
           "arguments"


def dryrun_text(denied: Denied, cmd) -> str:
    """ACL DRYRUN's reply for a denial."""
    if denied.reason == "command":
        return "This user has no permissions to run the '%s' command" % cmd.name
    return "This user has no permissions to access the '%s' %s" % (denied.object,
                                                                   denied.reason)
