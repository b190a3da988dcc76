"""The replication stream split into commands (sans-I/O): what a replica reads from its
primary after the snapshot. `StreamParser.next` gives each whole command with its exact
size in bytes, so the replica's offset moves by what the primary counted."""
from __future__ import annotations

MAX_BULK = 512 * 1024 * 1024


class LinkError(Exception):
    """The link must be dropped (and retried)."""


class StreamParser:
    """Splits the replication stream into (argv, nbytes) commands; sans-I/O."""

    def __init__(self):
        self.buf = bytearray()
        self.pos = 0

    def feed(self, data: bytes) -> None:
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += data

    def _line(self, start: int) -> tuple[bytes, int] | None:
        end = self.buf.find(b"\r\n", start)
        if end == -1:
            if len(self.buf) - start > 64 * 1024:
                raise LinkError("Protocol error: too big line in the replication stream")
            return None
        return bytes(self.buf[start:end]), end + 2

    def next(self) -> tuple[list[bytes], int] | None:
        """The next whole command and its size in bytes, or None if more bytes are needed."""
        buf = self.buf
        start = self.pos
        if start >= len(buf):
            return None
        if buf[start] != 0x2A:          # '*'
            # An inline command (a bare newline keepalive counts as an empty one).
            got = self._line(start) if b"\r\n" in buf[start:start + 64 * 1024 + 2] else None
            if got is None:
                nl = buf.find(b"\n", start)
                if nl == -1:
                    return None
                line, after = bytes(buf[start:nl]), nl + 1
            else:
                line, after = got
            self.pos = after
            return line.split(), after - start
        got = self._line(start + 1)
        if got is None:
            return None
        count_raw, pos = got
        try:
            count = int(count_raw)
        except ValueError:
            raise LinkError("Protocol error: invalid multibulk length") from None
        if count > 1024 * 1024:
            raise LinkError("Protocol error: invalid multibulk length")
        argv = []
        for _ in range(max(count, 0)):
            if pos >= len(buf):
                return None
            if buf[pos] != 0x24:        # '$'
                raise LinkError("Protocol error: expected '$'")
            got = self._line(pos + 1)
            if got is None:
                return None
            len_raw, pos = got
            try:
                n = int(len_raw)
            except ValueError:
                raise LinkError("Protocol error: invalid bulk length") from None
            if n < 0 or n > MAX_BULK:
                raise LinkError("Protocol error: invalid bulk length")
            if pos + n + 2 > len(buf):
                return None
            argv.append(bytes(buf[pos:pos + n]))
            pos += n + 2
        self.pos = pos
        return argv, pos - start

