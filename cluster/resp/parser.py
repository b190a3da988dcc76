"""Request parsing: RESP multibulk via hiredis, inline commands and every edge by hand.

Sans-I/O: feed bytes, get commands (lists of bytes) back, plus the protocol error that ends
the connection, worded exactly as Redis words it.

The fast path hands whole chunks to `hiredis.Reader`. Anything it cannot take whole (an
inline command, a request split across reads, a malformed frame) falls to a resumable
pure-Python parser that applies Redis's limits and messages, and the fast path resumes once
that parser has consumed its buffer.
"""
from __future__ import annotations

import re

import hiredis

from cluster.base.numbers import string2ll

INLINE_MAX_SIZE = 64 * 1024          # PROTO_INLINE_MAX_SIZE
MBULK_BIG_ARG = 32 * 1024
INT_MAX = 2**31 - 1
UNAUTH_MAX_ARGS = 10                 # limits while authentication is required
UNAUTH_MAX_BULK = 16384

_SPACE = b" \t\n\r\v\f"            # isspace(): blanks skipped between arguments
_TOKEN_END = b" \t\n\r"              # what ends an unquoted argument
# Type bytes hiredis accepts that Redis does not take in a request ("+=(~|>": simple
# strings, verbatim strings and big numbers parse as bytes, a set or attribute as a
# list) are looked for in RequestParser.feed.
# hiredis allocates a list of the announced size up front (and frees it slowly): a huge
# count, even a bogus one, must not reach it. Such chunks take the slow path.
_BIG_COUNT = re.compile(rb"\*[1-9]\d{5}")
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = b"0123456789abcdefABCDEF"


class ProtocolError(Exception):
    """The connection must be closed; `reply` (if not None) is the error to send first."""

    def __init__(self, reply: str | None, unauth: bool = False):
        super().__init__(reply or "connection closed")
        self.reply = reply
        # A limit for unauthenticated clients: if a command returned with this error
        # authenticates the client, clear `auth_required` and feed(b"") to go on.
        self.unauth = unauth


def split_inline(line: bytes) -> list[bytes] | None:
    """Redis's sdssplitargs: split an inline request; None on unbalanced quotes."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 3 < n and line[i + 1] == 120 \
                        and line[i + 2] in _HEX and line[i + 3] in _HEX:  # \xHH
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif c == 34:  # closing "
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 1 < n and line[i + 1] == 39:  # \'
                    i += 1
                    cur.append(39)
                elif c == 39:  # closing '
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in _TOKEN_END:
                    break
                if c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))


def _header_len(n: int) -> int:
    """len(b"$%d\r\n" % n) for n >= 0, without formatting."""
    if n < 10:
        return 4
    if n < 100:
        return 5
    if n < 1000:
        return 6
    return 3 + len(str(n))


def _plain_prefix(data: bytes, requests: list) -> int:
    """How many of `requests` (parsed by hiredis from the start of `data`) were sent as
    `*<n>` of `$<len>` bulks, the only multibulk form Redis takes.

    hiredis accepts only canonical lengths, so walking the canonical layout and checking
    the type byte at each element's position is exact; like Redis and hiredis it does not
    look at the two bytes after a bulk's contents.
    """
    pos = 0
    for i, request in enumerate(requests):
        if data[pos] != 42:          # '*'
            return i
        pos += _header_len(len(request))
        for arg in request:
            if data[pos] != 36:      # '$'
                return i
            n = len(arg)
            pos += _header_len(n) + n + 2
    return len(requests)


def wire_length(request: list) -> int:
    """Bytes a canonical multibulk encoding of `request` takes (what hiredis consumed)."""
    total = len(b"*%d\r\n" % len(request))
    for arg in request:
        total += len(b"$%d\r\n" % len(arg)) + len(arg) + 2
    return total


class RequestParser:
    """Incremental request parser for one client connection."""

    __slots__ = ("_hi", "_buf", "_pos", "_args", "_missing", "_bulklen",
                 "max_bulk_len", "max_query_buffer", "auth_required")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024,
                 max_query_buffer: int = 1024 * 1024 * 1024):
        self._hi = hiredis.Reader()
        self._buf: bytearray | None = None    # slow-path buffer, None on the fast path
        self._pos = 0
        self._args: list[bytes] | None = None  # multibulk in progress
        self._missing = 0                      # its elements still to read
        self._bulklen = -1                     # length of the bulk being read, -1 if none
        self.max_bulk_len = max_bulk_len
        self.max_query_buffer = max_query_buffer
        # While the client must still authenticate, requests are held to 10 arguments
        # of 16 KiB (Redis's limits); the owner keeps this in step with the client.
        self.auth_required = False

    def pending_bytes(self) -> int:
        """Bytes received but not yet parsed into a command (CLIENT LIST qbuf)."""
        return 0 if self._buf is None else len(self._buf) - self._pos

    def read_size(self) -> int:
        """How much the next read should ask for: 64 KiB, or what a big argument being
        received still lacks (read in one go, as Redis does for PROTO_MBULK_BIG_ARG)."""
        if self._bulklen < MBULK_BIG_ARG or self._buf is None:
            return 65536
        return max(65536, min(self._pos + self._bulklen + 2 - len(self._buf), 1 << 24))

    def held_bytes(self) -> int:
        """Everything held for the request in progress: the unparsed bytes and the
        arguments already read (Redis's qbuf and argv-mem, for used_memory)."""
        held = 0 if self._buf is None else len(self._buf) - self._pos
        if self._args:
            held += sum(len(arg) for arg in self._args)
        return held

    def feed(self, data: bytes) -> tuple[list[list[bytes]], ProtocolError | None]:
        """Parse `data`; return the complete commands and, if the stream is bad, the error.

        Commands before the error are returned and must be run; then the error is sent and
        the connection closed.
        """
        if self._buf is not None:
            self._buf += data
            return self._slow([])
        if not data:
            return [], None
        if data[0] != 42 or self.auth_required or _BIG_COUNT.search(data) is not None:
            # Inline, limits to apply, or a count too big for hiredis: all by hand.
            self._buf = bytearray(data)
            self._pos = 0
            return self._slow([])
        hi = self._hi
        hi.feed(data)
        out: list[list[bytes]] = []
        whole = True
        try:
            while True:
                req = hi.gets()
                if req is False:
                    break
                if req.__class__ is not list:
                    whole = False
                    break
                for arg in req:
                    if arg.__class__ is not bytes:
                        break
                else:
                    out.append(req)
                    continue
                whole = False
                break
            if whole:
                # hiredis cannot say whether it holds half a request, so probe it: an
                # empty multibulk parses back as [] only at a request boundary. Anything
                # else means the chunk ended mid-request (or went bad).
                hi.feed(b"*0\r\n")
                whole = hi.gets() == []
        except Exception:   # ProtocolError; also TypeError for a RESP3 map keyed by a list
            whole = False
        # hiredis is laxer than Redis: keep only the requests Redis would take as they
        # are, and reparse the rest by hand. An argument over proto-max-bulk-len can
        # only come in a chunk longer than that.
        # Any byte of "+=(~|>": one memchr per byte value (an int `in` bytes), ten times
        # cheaper than a one-byte bytes `in` and than a character-class regex.
        if (43 in data or 61 in data or 40 in data or 126 in data or 124 in data
                or 62 in data):
            plain = _plain_prefix(data, out)
            if plain < len(out):
                del out[plain:]
                whole = False
        if len(data) > self.max_bulk_len:
            for i, req in enumerate(out):
                if any(len(arg) > self.max_bulk_len for arg in req):
                    del out[i:]
                    whole = False
                    break
        if not whole:
            return self._fallback(data, out)
        for req in out:
            if not req:  # `*0`: Redis ignores an empty multibulk
                return [r for r in out if r], None
        return out, None

    def _fallback(self, data: bytes, done: list) -> tuple[list, ProtocolError | None]:
        consumed = sum(wire_length(r) for r in done)
        self._hi = hiredis.Reader()
        self._buf = bytearray(memoryview(data)[consumed:])
        self._pos = 0
        return self._slow([r for r in done if r])

    # -- the exact, resumable parser ------------------------------------------------
    def _slow(self, out: list) -> tuple[list, ProtocolError | None]:
        buf = self._buf
        try:
            while True:
                if self._args is not None:
                    if not self._read_multibulk(buf, out):
                        break
                    continue
                if self._pos >= len(buf):
                    break
                if buf[self._pos] == 42:  # '*'
                    if not self._start_multibulk(buf):
                        break
                else:
                    if not self._read_inline(buf, out):
                        break
        except ProtocolError as err:
            if not err.unauth:      # the connection ends; an unauth stop may resume
                self._buf = None
                self._args = None
            return out, err
        # Compact, and return to the fast path when nothing is pending.
        if self._pos:
            del buf[:self._pos]
            self._pos = 0
        if not buf and self._args is None:
            self._buf = None
        elif len(buf) > self.max_query_buffer:
            self._buf = None
            return out, ProtocolError(None)
        return out, None

    def _read_inline(self, buf: bytearray, out: list) -> bool:
        nl = buf.find(b"\n", self._pos)
        if nl != -1 and buf.find(b"\0", self._pos, nl) != -1:
            nl = -1     # Redis looks for the newline with strchr(): a NUL hides it
        if nl == -1:
            if len(buf) - self._pos > INLINE_MAX_SIZE:
                raise ProtocolError("ERR Protocol error: too big inline request")
            return False
        end = nl - 1 if nl > self._pos and buf[nl - 1] == 13 else nl
        line = bytes(buf[self._pos:end])
        self._pos = nl + 1
        args = split_inline(line)
        if args is None:
            raise ProtocolError("ERR Protocol error: unbalanced quotes in request")
        if args:
            out.append(args)
        return True

    def _header(self, buf: bytearray, too_big: str) -> int:
        """Index of the '\r' ending the header line at _pos, or -1 until it is complete.

        Like Redis: strchr() for '\r' (so a NUL before it hides it), then one more byte,
        whatever it is, for the '\n'.
        """
        pos = self._pos
        cr = buf.find(b"\r", pos)
        if cr != -1 and buf.find(b"\0", pos, cr) != -1:
            cr = -1
        if cr == -1:
            if len(buf) - pos > INLINE_MAX_SIZE:
                raise ProtocolError(f"ERR Protocol error: {too_big}")
            return -1
        if cr + 1 >= len(buf):   # need the '\n' too
            return -1
        return cr

    def _start_multibulk(self, buf: bytearray) -> bool:
        cr = self._header(buf, "too big mbulk count string")
        if cr == -1:
            return False
        count = string2ll(bytes(buf[self._pos + 1:cr]))
        if count is None or count > INT_MAX:
            raise ProtocolError("ERR Protocol error: invalid multibulk length")
        if count > UNAUTH_MAX_ARGS and self.auth_required:
            raise ProtocolError("ERR Protocol error: unauthenticated multibulk length",
                                unauth=True)
        self._pos = cr + 2
        if count <= 0:
            return True
        self._args = []
        self._missing = count
        self._bulklen = -1
        return True

    def _read_multibulk(self, buf: bytearray, out: list) -> bool:
        args = self._args
        while self._missing:
            if self._bulklen == -1:
                cr = self._header(buf, "too big bulk count string")
                if cr == -1:
                    return False
                if buf[self._pos] != 36:  # '$'
                    got = bytes(buf[self._pos:self._pos + 1]).decode(
                        "utf-8", "surrogateescape")   # the raw byte, as Redis's %c
                    raise ProtocolError(f"ERR Protocol error: expected '$', got '{got}'")
                length = string2ll(bytes(buf[self._pos + 1:cr]))
                if length is None or length < 0 or length > self.max_bulk_len:
                    raise ProtocolError("ERR Protocol error: invalid bulk length")
                if length > UNAUTH_MAX_BULK and self.auth_required:
                    raise ProtocolError("ERR Protocol error: unauthenticated bulk length",
                                        unauth=True)
                self._pos = cr + 2
                self._bulklen = length
                if length >= MBULK_BIG_ARG and self._pos:
                    # A big argument: drop what is parsed so the buffer holds just it.
                    del buf[:self._pos]
                    self._pos = 0
            end = self._pos + self._bulklen
            if len(buf) < end + 2:
                return False
            args.append(bytes(buf[self._pos:end]))
            self._pos = end + 2
            self._bulklen = -1
            self._missing -= 1
        out.append(args)
        self._args = None
        return True
