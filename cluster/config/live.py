"""Live configuration of one node: the values of every directive of the table
(`cluster.config.directives`), set one at a time (startup) or all-or-nothing (CONFIG SET),
read by name or glob (CONFIG GET), with listeners told of every change. Loading redis.conf
text and CONFIG REWRITE come from `cluster.config.file`.

Values are stored parsed (ints, bools, strings); `Directive.format` renders them as CONFIG
GET does.
"""
from __future__ import annotations

import os
from typing import Callable

from cluster.base.glob import stringmatch
from cluster.config import special
from cluster.config.directives import Directive, directive_table
from cluster.config.file import ConfigFile, ConfigFileError, ConfigOpenError
from cluster.config.values import ConfigError

__all__ = ["Config", "ConfigError", "ConfigFileError", "ConfigOpenError", "ConfigSetError"]

HZ_MIN, HZ_MAX = 1, 500
LOADING = "LOADING Redis is loading the dataset in memory"


class Config(ConfigFile):
    """Live configuration of one node."""

    def __init__(self, directives: list[Directive] | None = None):
        directives = directives if directives is not None else directive_table()
        self._by_name: dict[str, Directive] = {}
        for d in directives:
            if d.name == "client-output-buffer-limit" and d.parser is None:
                d.parser = special.ObufParser()
            self._by_name[d.name] = d
            for alias in d.aliases:
                self._by_name[alias] = d
        self._canonical = list(directives)
        self.values: dict[str, object] = {d.name: d.default for d in directives}
        self.file: str | None = None
        self.listeners: list[Callable[[str, object], None]] = []
        self._save_loaded = False
        # `user` lines of the file: their words after `user`, applied by the ACL at start.
        self.users: list[list[str]] = []
        # Checks a `user` line as it is read (ACLAppendUserForLoading): raises ConfigError.
        # The process start-up installs it (cli.server); None: lines are taken as they are.
        self.check_user: Callable[[list[str]], None] | None = None
        # CONFIG REWRITE's `user` lines (the node's ACL hands them; None: an aclfile
        # holds the users and the file keeps none).
        self.rewrite_users: Callable[[], list[str] | None] = lambda: []
        # `rename-command <name> <new-name>` lines: renames the command in the command table
        # as the line is read ("" removes it; raises ConfigError). The process start-up
        # installs it (cluster.execution.rename); None: the lines are accepted and kept.
        self.rename_command: Callable[[str, str], None] | None = None
        # CONFIG SET's apply step: directive name -> a function given the new value, that
        # makes it so (e.g. listening on a new port) or raises ConfigError with the reason
        # (see `_apply`); installed by whoever owns the resource.
        self.appliers: dict[str, Callable[[object], None]] = {}

    def directive(self, name: str) -> Directive | None:
        return self._by_name.get(name.lower())

    def __getitem__(self, name: str):
        return self.values[self._by_name[name].name]

    def format(self, name: str) -> str:
        d = self._by_name[name.lower()]
        return d.format(self.values[d.name])

    # -- setting ------------------------------------------------------------------
    def _store(self, d: Directive, value) -> None:
        if d.name == "hz":
            value = max(HZ_MIN, min(HZ_MAX, value))
        if isinstance(d.parser, special.ObufParser):
            d.parser.current = value
        self.values[d.name] = value
        for listener in self.listeners:
            listener(d.name, value)

    def set(self, name: str, text: str, startup: bool = False) -> None:
        """Parse and apply one value; raises KeyError (unknown) or ConfigError (bad value)."""
        d = self._by_name.get(name.lower())
        if d is None:
            raise KeyError(name)
        if not startup and not d.mutable:
            raise ConfigError("can't set immutable config")
        self._store(d, d.parse(text))

    def set_many(self, pairs: list[tuple[str, str]], protected_ok: bool = False,
                 loading: bool = False) -> None:
        """CONFIG SET: all or nothing. Raises ConfigSetError with Redis's reply text.
        `loading`: the dataset is loading; a directive that may not change then (dir,
        appendonly, repl-diskless-load) gets -LOADING, which goes before any other error
        found in the arguments after it."""
        found: list[Directive] = []
        unknown = err_name = err = None
        deny_loading = False
        for name, _ in pairs:
            d = self._by_name.get(name.lower())
            if d is None:
                if unknown is None and err is None:
                    unknown = name
                continue
            if unknown is not None or err is not None:
                continue
            if not d.mutable or (d.protected and not protected_ok):
                err_name, err = name, ("can't set immutable config" if not d.mutable
                                       else "can't set protected config")
            elif loading and d.deny_loading:
                deny_loading, err = True, LOADING   # arguments after it: not looked at
            elif d in found:
                err_name, err = name, "duplicate parameter"
            found.append(d)
        if deny_loading:
            raise ConfigSetError(LOADING)
        if unknown is not None:
            raise ConfigSetError("ERR Unknown option or number of arguments for CONFIG SET - "
                                 f"'{unknown}'")
        if err is not None:
            raise ConfigSetError(f"ERR CONFIG SET failed (possibly related to argument "
                                 f"'{err_name}') - {err}")
        parsed = []
        for d, (_, text) in zip(found, pairs):
            try:
                parsed.append((d, d.parse(text)))
            except ConfigError as exc:
                raise ConfigSetError(f"ERR CONFIG SET failed (possibly related to argument "
                                     f"'{d.name}') - {exc}") from None
        old = [(d, self.values[d.name]) for d, _ in parsed]
        try:
            for d, value in parsed:
                if d.name == "dir":
                    os.chdir(value)
                self._store(d, value)
        except OSError as exc:
            for d, value in old:
                self.values[d.name] = value
            raise ConfigSetError(f"ERR CONFIG SET failed (possibly related to argument "
                                 f"'dir') - {exc.strerror}") from None
        self._apply(parsed, old)

    def _apply(self, parsed: list, old: list) -> None:
        """Redis's apply step, once every value is set: each directive whose value changed
        has its applier (a listening port to open...) run; when one fails, every value
        goes back to what it was, the appliers that ran run again with the old values,
        and the error names the directive."""
        applied = []
        previous_of = {od.name: previous for od, previous in old}
        for d, value in parsed:
            apply = self.appliers.get(d.name)
            if apply is None or value == previous_of[d.name]:
                continue
            try:
                apply(value)
            except ConfigError as exc:
                for od, previous in old:
                    self._store(od, previous)
                for done, again in applied:
                    try:
                        again(previous_of[done.name])
                    except ConfigError:
                        pass
                raise ConfigSetError(f"ERR CONFIG SET failed (possibly related to argument "
                                     f"'{d.name}') - {exc}") from None
            applied.append((d, apply))

    # -- getting ------------------------------------------------------------------
    def get_many(self, patterns: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for pattern in patterns:
            pat = pattern.lower()
            if not any(c in pat for c in "*?["):
                d = self._by_name.get(pat)
                if d is not None and pattern not in out:
                    out[pattern] = d.format(self.values[d.name])   # the name as typed
                continue
            raw = pattern.encode("utf-8", "surrogateescape")
            for name, d in self._by_name.items():
                if name not in out and not d.hidden and stringmatch(raw, name.encode(),
                                                                    nocase=True):
                    out[name] = d.format(self.values[d.name])
        return out


class ConfigSetError(Exception):
    """CONFIG SET failure: `message` is the whole error reply."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
