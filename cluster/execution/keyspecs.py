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


def has_key_specs(cmd) -> bool:
    """doesCommandHaveKeys: a getkeys function, or a spec that names real keys."""
    return cmd.getkeys is not None or any("not_key" not in lower_flags(s)
                                          for s in cmd.key_specs)


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
                    ) -> list[tuple[int, dict]] | None:
    """(position, spec) of each key argv names, in spec order; None when the specs can't
    tell (a position out of bounds, an unknown spec kind, an incomplete spec). With
    `skip_not_keys`, specs flagged not_key are passed over (the ACL check's view)."""
    found: list[tuple[int, dict]] = []
    for spec in cmd.key_specs:
        flags = lower_flags(spec)
        if skip_not_keys and "not_key" in flags:
            continue
        try:
            first = _begin(spec, argv)
            if first is None:
                continue
            first, last, step = _last(spec, argv, first)
        except (ValueError, KeyError, TypeError):
            return None
        found.extend((i, spec) for i in range(first, last + 1, step))
        if "incomplete" in flags:
            return None
    return found
