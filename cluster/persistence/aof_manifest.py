"""The 7.0 multi-part AOF manifest: `<appenddirname>/<appendfilename>.manifest`.

One line per file, in load order: `file <name> seq <n> type b|h|i` (b: the base, RDB or
commands; i: an incr file; h: a history file waiting for deletion). Written to a temp
file, fsynced, renamed over the old one and the directory fsynced (an atomic swap).
"""
from __future__ import annotations

import os


class ManifestError(Exception):
    """The manifest cannot be parsed; the message is Redis's."""


class Manifest:
    def __init__(self, filename: str = "appendonly.aof"):
        self.filename = filename
        self.base: tuple[str, int] | None = None       # (name, seq)
        self.incrs: list[tuple[str, int]] = []
        self.history: list[str] = []

    # -- names ----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.filename + ".manifest"

    def next_base(self, rdb: bool) -> tuple[str, int]:
        seq = (self.base[1] if self.base else 0) + 1
        return f"{self.filename}.{seq}.base.{'rdb' if rdb else 'aof'}", seq

    def next_incr(self) -> tuple[str, int]:
        seq = (self.incrs[-1][1] if self.incrs else 0) + 1
        return f"{self.filename}.{seq}.incr.aof", seq

    def files(self) -> list[str]:
        """The files to load, in order."""
        return ([self.base[0]] if self.base else []) + [n for n, _ in self.incrs]

    def copy(self) -> "Manifest":
        other = Manifest(self.filename)
        other.base = self.base
        other.incrs = list(self.incrs)
        other.history = list(self.history)
        return other

    # -- text -------------------------------------------------------------------------
    def render(self) -> str:
        lines = []
        if self.base:
            lines.append(f"file {self.base[0]} seq {self.base[1]} type b\n")
        lines.extend(f"file {name} seq 0 type h\n" for name in self.history)
        lines.extend(f"file {name} seq {seq} type i\n" for name, seq in self.incrs)
        return "".join(lines)

    @classmethod
    def parse(cls, text: str, filename: str = "appendonly.aof") -> "Manifest":
        m = cls(filename)
        for raw in text.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            if len(words) % 2:
                raise ManifestError("Invalid AOF manifest file format")
            fields = dict(zip(words[::2], words[1::2]))
            name, kind = fields.get("file"), fields.get("type")
            if not name or kind not in ("b", "h", "i") or "seq" not in fields:
                raise ManifestError("Invalid AOF manifest file format")
            try:
                seq = int(fields["seq"])
            except ValueError:
                raise ManifestError("Invalid AOF manifest file format") from None
            if kind == "b":
                if m.base is not None:
                    raise ManifestError("Found duplicate base file information")
                m.base = (name, seq)
            elif kind == "h":
                m.history.append(name)
            else:
                if m.incrs and seq <= m.incrs[-1][1]:
                    raise ManifestError("Found a non-monotonic sequence number")
                m.incrs.append((name, seq))
        return m

    # -- disk -------------------------------------------------------------------------
    @classmethod
    def read(cls, dirpath: str, filename: str) -> "Manifest | None":
        path = os.path.join(dirpath, filename + ".manifest")
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except FileNotFoundError:
            return None
        return cls.parse(text, filename)

    def write(self, dirpath: str) -> None:
        tmp = os.path.join(dirpath, "temp-" + self.name)
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(self.render())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(dirpath, self.name))
        fsync_dir(dirpath)


def fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
