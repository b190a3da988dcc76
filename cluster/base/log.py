"""Redis-style log lines: `pid:role dd Mon yyyy hh:mm:ss.mmm <level> message`."""
from __future__ import annotations

import os
import sys
import time

LEVELS = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3}
_MARKS = ".-*#"


class Logger:
    def __init__(self, role: str = "M", level: str = "notice", path: str = ""):
        self.role = role
        self.level = LEVELS.get(level, 2)
        self.path = path
        self._file = None

    def configure(self, level: str, path: str) -> None:
        self.level = LEVELS.get(level, 2)
        if path != self.path:
            self.path = path
            self._file = None

    def _write(self, level: int, message: str, raw: bool = False) -> None:
        if level < self.level:
            return
        if raw:
            line = message
        else:
            now = time.time()
            stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
            line = f"{os.getpid()}:{self.role} {stamp}.{int(now * 1000) % 1000:03d} " \
                   f"{_MARKS[level]} {message}\n"
        # Client bytes reach messages as lone surrogates: write them, never fail on them.
        line = line.encode("utf-8", "backslashreplace").decode("utf-8")
        if self.path:
            if self._file is None:
                self._file = open(self.path, "a", buffering=1)
            self._file.write(line)
        else:
            sys.stdout.write(line)
            sys.stdout.flush()

    def at(self, level: str, message: str) -> None:
        """Log at a level named by text ("debug" ... "warning"; anything else: notice)."""
        self._write(LEVELS.get(level, 2), message)

    def debug(self, message: str) -> None:
        self._write(0, message)

    def verbose(self, message: str) -> None:
        self._write(1, message)

    def notice(self, message: str) -> None:
        self._write(2, message)

    def warning(self, message: str) -> None:
        self._write(3, message)

    def raw(self, text: str) -> None:
        """Text as it is, at notice level (serverLogRaw with LL_RAW: the start-up banner)."""
        self._write(2, text, raw=True)
