"""Finding a command's keys from its key specs (getKeysUsingKeySpecs of Redis 7.0).

A key spec says where the search for keys begins (an index, or after a keyword) and how
keys follow (a range, or a count given in an argument), with flags saying what the
command does to those keys (RO/RW/OW/RM, access/insert/update/delete, not_key, incomplete,
variable_flags). COMMAND GETKEYS[ANDFLAGS] and the ACL check both read keys this way.
"""
from __future__ import annotations

from cluster.base.numbers import string2ll


def spec_flags(spec: dict) -> tuple[str, ...]:
    """A spec's flags as written in the table (str or bytes, any case)."""
    flags = spec.get("flags", ())
    if isinstance(flags, (str, bytes)):
        flags = flags.split()
    return tuple(f.decode() if isinstance(f, bytes) else f for f in flags)


def lower_flags(spec: dict) -> frozenset[str]:
    return frozenset(f.lower() for f in spec_flags(spec))


class KeyPlan:
    """What a command's key specs say, worked out once per command (every command a
    restricted ACL user runs reads it)."""

    __slots__ = ("specs", "names_keys", "variable_flags", "has_keys", "static")

    def __init__(self, cmd):
        self.specs = tuple((spec, lower_flags(spec)) for spec in cmd.key_specs)
        self.names_keys = any("not_key" not in f for _, f in self.specs)   # a real key spec
        self.variable_flags = any("variable_flags" in f for _, f in self.specs)
        self.has_keys = cmd.getkeys is not None or self.names_keys     # doesCommandHaveKeys
        # Keys found by index and range alone: where they are depends on argc only.
        self.static = cmd.getkeys is None and not self.variable_flags and all(
            spec.get("begin_search", {}).get("type") == "index"
            and spec.get("find_keys", {}).get("type") == "range" for spec, _ in self.specs)


_PLANS: dict = {}      # Command -> KeyPlan (commands live as long as the process)


def plan(cmd) -> KeyPlan:
    found = _PLANS.get(cmd)
    if found is None:
        found = _PLANS[cmd] = KeyPlan(cmd)
    return found


def has_key_specs(cmd) -> bool:
    """doesCommandHaveKeys: a getkeys function, or a spec that names real keys."""
    return plan(cmd).has_keys


def _word(value) -> bytes:
    return (value if isinstance(value, bytes) else str(value).encode()).lower()


def _begin(spec: dict, argv: list[bytes]) -> int | None:
    """Where a spec's keys start; None to skip the spec (its keyword is absent)."""
    bs = spec.get("begin_search", {})
    kind, params = bs.get("type"), bs.get("spec", {})
    argc = len(argv)
    if kind == "index":
        first = params["index"]
        if first >= argc:        # Redis 7.0: out of bounds makes the whole lookup invalid
            raise ValueError("index beyond argc")
        return first
    if kind == "keyword":
        word = _word(params["keyword"])
        start = params["startfrom"]
        # Forward up to (not including) the last argument, or backward down to argv[2].
        for i in (range(start, argc - 1) if start > 0 else range(argc + start, 1, -1)):
            if not 1 <= i < argc:
                break
            if argv[i].lower() == word:
                return i + 1
        return None
    raise ValueError("unknown begin_search")


def _last(spec: dict, argv: list[bytes], first: int) -> tuple[int, int, int]:
    """(first, last, step) of the keys after `first`; ValueError if the spec can't tell."""
    argc = len(argv)
    fk = spec.get("find_keys", {})
    kind, params = fk.get("type"), fk.get("spec", {})
    if kind == "range":
        step, lastkey, limit = params["keystep"], params["lastkey"], params.get("limit", 0)
        if lastkey >= 0:
            last = first + lastkey
        elif not limit:
            last = argc + lastkey
        else:
            last = first + ((argc - first) // limit + lastkey)
    elif kind == "keynum":
        at = first + params["keynumidx"]
        if at >= argc:
            raise ValueError("keynum beyond argc")
        numkeys = string2ll(argv[at])
        if numkeys is None or numkeys < 0:
            raise ValueError("bad keynum")
        first += params["firstkey"]
        last = first + numkeys - 1
        step = params["keystep"]
    else:
        raise ValueError("unknown find_keys")
    if last >= argc or last < first or first >= argc:
        raise ValueError("out of bounds")   # a syntax error the command itself reports
    return first, last, max(step, 1)


def keys_from_specs(cmd, argv: list[bytes], skip_not_keys: bool = False
                    ) -> list[tuple[int, dict, frozenset]] | None:
    """(position, spec, its lower-case flags) of each key argv names, in spec order; None
    when the specs can't
    tell (a position out of bounds, an unknown spec kind, an incomplete spec). With
    `skip_not_keys`, specs flagged not_key are passed over (the ACL check's view)."""
    found: list[tuple[int, dict, frozenset]] = []
    for spec, flags in plan(cmd).specs:
        if skip_not_keys and "not_key" in flags:
            continue
        try:
            first = _begin(spec, argv)
            if first is None:
                continue
            first, last, step = _last(spec, argv, first)
        except (ValueError, KeyError, TypeError):
            return None
        found.extend((i, spec, flags) for i in range(first, last + 1, step))
        if "incomplete" in flags:
            return None
    return found
