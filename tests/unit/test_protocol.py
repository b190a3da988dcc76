"""The request parser: properties over random input and chunkings, and every Redis error.

The expected strings were checked against a real redis-server 7.0.15 over raw sockets
(tests/process/test_bad_input.py repeats the comparison live).
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cluster.resp.parser import INLINE_MAX_SIZE, ProtocolError, RequestParser, split_inline

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def mb(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def inline(args: list[bytes]) -> bytes:
    """An inline request any argument survives: every byte as a \\xHH escape in quotes."""
    return b" ".join(b'"' + b"".join(b"\\x%02x" % c for c in arg) + b'"' for arg in args) \
        + b"\r\n"


def run(chunks, parser: RequestParser | None = None):
    """Feed chunks until the stream ends or goes bad: (commands, error reply or None)."""
    parser = parser or RequestParser()
    commands: list[list[bytes]] = []
    for chunk in chunks:
        got, error = parser.feed(chunk)
        assert isinstance(got, list)
        for cmd in got:
            assert isinstance(cmd, list) and cmd
            assert all(isinstance(arg, bytes) for arg in cmd)
        commands.extend(got)
        if error is not None:
            assert isinstance(error, ProtocolError)
            return commands, error.reply
    return commands, None


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points + [len(data)]:
        pieces.append(data[last:p])
        last = p
    return pieces


def error_of(data: bytes, **kw) -> str | None:
    return run([data], RequestParser(**kw))[1]


# -- properties -----------------------------------------------------------------------
args_st = st.lists(st.binary(max_size=40), min_size=1, max_size=6)
commands_st = st.lists(args_st, min_size=1, max_size=8)
cuts_st = st.lists(st.integers(min_value=0, max_value=10**6), max_size=12)


@SETTINGS
@given(st.binary(max_size=400), cuts_st)
def test_random_bytes_never_raise(data, cuts):
    run(split_at(data, cuts))


@SETTINGS
@given(commands_st, cuts_st)
def test_multibulk_round_trip(commands, cuts):
    stream = b"".join(mb(*c) for c in commands)
    assert run(split_at(stream, cuts)) == (commands, None)


@SETTINGS
@given(commands_st, cuts_st)
def test_inline_round_trip(commands, cuts):
    stream = b"".join(inline(c) for c in commands)
    assert run(split_at(stream, cuts)) == (commands, None)


plain_word = st.binary(min_size=1, max_size=12).filter(
    lambda w: not any(c in w for c in b" \t\r\n\v\f\"'\0") and not w.startswith(b"*"))


@SETTINGS
@given(st.lists(st.lists(plain_word, min_size=1, max_size=5), min_size=1, max_size=6),
       cuts_st)
def test_plain_inline_round_trip(commands, cuts):
    stream = b"".join(b" ".join(c) + b"\n" for c in commands)
    assert run(split_at(stream, cuts)) == (commands, None)


@SETTINGS
@given(commands_st, st.lists(st.booleans(), min_size=8, max_size=8), cuts_st)
def test_mixed_inline_and_multibulk(commands, forms, cuts):
    stream = b"".join(inline(c) if forms[i % 8] else mb(*c) for i, c in enumerate(commands))
    assert run(split_at(stream, cuts)) == (commands, None)


# Streams that are partly valid: good requests, garbage, RESP3 types hiredis knows.
fragment_st = st.one_of(
    args_st.map(lambda a: mb(*a)),
    args_st.map(inline),
    st.binary(max_size=30),
    st.sampled_from([b"*0\r\n", b"*-1\r\n", b"*1\r\n+PING\r\n", b"~1\r\n$4\r\nPING\r\n",
                     b"*1\r\n=8\r\ntxt:PING\r\n", b"*1\r\n(12\r\n", b"*2\r\n$1\r\naXY+b\r\n",
                     b"*1\r\n$-1\r\n", b"*1\r\n$01\r\n", b"PING \"a\r\n", b"\0\r\n",
                     b"*1\r\n$3\r\nabcXY", b"*1\rX$4\rXPING\r\n", b":1\r\n", b"%1\r\n",
                     b"*1\r\n*1\r\n$1\r\na\r\n", b"*2\r\n$1\r\na\r\n", b"\r\n", b"$4\r\n"]),
)


@SETTINGS
@given(st.lists(fragment_st, max_size=8), cuts_st)
def test_chunking_invariance(fragments, cuts):
    stream = b"".join(fragments)
    whole = run([stream])
    assert run(split_at(stream, cuts)) == whole
    assert run([stream[i:i + 1] for i in range(len(stream))]) == whole


@SETTINGS
@given(st.lists(fragment_st, max_size=6))
def test_requests_before_an_error_are_kept(fragments):
    # Whatever follows, the requests before it parse the same.
    good = [b"SET", b"k", b"v"]
    commands, _ = run([mb(*good) + b"".join(fragments)])
    assert commands[0] == good


# -- exact errors ---------------------------------------------------------------------
@pytest.mark.parametrize("data,reply", [
    (b"*x\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*01\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*+1\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*-0\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"* 1\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*1 \r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*2147483648\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$01\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$99999999999999999999\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\nx\r\n", "ERR Protocol error: expected '$', got 'x'"),
    (b"*1\r\n+PING\r\n", "ERR Protocol error: expected '$', got '+'"),
    (b"*1\r\n=8\r\ntxt:PING\r\n", "ERR Protocol error: expected '$', got '='"),
    (b"*1\r\n(12\r\n", "ERR Protocol error: expected '$', got '('"),
    (b"*1\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"),
    (b"*1\r\n*1\r\n$1\r\na\r\n", "ERR Protocol error: expected '$', got '*'"),
    (b"*1\r\n\r\n", "ERR Protocol error: expected '$', got '\r'"),
    (b"*2\r\n$1\r\naXY+b\r\n", "ERR Protocol error: expected '$', got '+'"),
    (b"x" * (INLINE_MAX_SIZE + 1), "ERR Protocol error: too big inline request"),
    (b"*" + b"1" * INLINE_MAX_SIZE, "ERR Protocol error: too big mbulk count string"),
    (b"*1\r\n$" + b"1" * INLINE_MAX_SIZE, "ERR Protocol error: too big bulk count string"),
    (b'SET "a b\r\n', "ERR Protocol error: unbalanced quotes in request"),
    (b"SET 'a\r\n", "ERR Protocol error: unbalanced quotes in request"),
    (b'SET "a"b\r\n', "ERR Protocol error: unbalanced quotes in request"),
    (b"SET 'a'b\r\n", "ERR Protocol error: unbalanced quotes in request"),
])
def test_protocol_errors(data, reply):
    assert error_of(data) == reply
    # The same, byte by byte (the resumable path).
    assert run([data[i:i + 1] for i in range(len(data))])[1] == reply


def test_expected_dollar_reports_the_raw_byte():
    err = error_of(b"*1\r\n\xff\r\n")
    assert err.encode("utf-8", "surrogateescape") == b"ERR Protocol error: expected '$', got '\xff'"


def test_incomplete_requests_wait():
    for data in (b"*1\r\nx", b"*1\r\n$3\r\nab", b"*2\r\n$3\r\nabc\r\n", b"*1\r", b"PING",
                 b"*1\r\n$536870912\r\n", b"x" * INLINE_MAX_SIZE):
        assert run([data]) == ([], None), data


def test_nul_hides_the_line_end_like_strchr():
    # Redis finds line ends with strchr(): a NUL before them makes it wait for more.
    assert run([b"PING\0\r\n"]) == ([], None)
    assert run([b"*1\0\r\n"]) == ([], None)
    assert run([b"*1\r\n$4\0\r\nPING\r\n"]) == ([], None)
    assert error_of(b"PING\0" + b"x" * INLINE_MAX_SIZE + b"\r\n") == \
        "ERR Protocol error: too big inline request"
    # A NUL inside a bulk is just data.
    assert run([mb(b"SET", b"k", b"a\0b")]) == ([[b"SET", b"k", b"a\0b"]], None)


def test_commands_before_an_error_are_returned():
    commands, err = run([mb(b"PING") + b"PING\r\n" + b"*1\r\n$x\r\n" + mb(b"GET", b"k")])
    assert commands == [[b"PING"], [b"PING"]]
    assert err == "ERR Protocol error: invalid bulk length"


def test_lax_line_ends_like_redis():
    # Redis skips the byte after '\r' and the two after a bulk, whatever they are.
    assert run([b"*1\rX$4\rXPING\r\n"]) == ([[b"PING"]], None)
    assert run([b"*1\r\n$3\r\nabcXY*1\r\n$1\r\nb\r\n"]) == ([[b"abc"], [b"b"]], None)


def test_empty_and_null_multibulk_are_ignored():
    assert run([b"*0\r\n*-1\r\n*-5\r\n" + mb(b"PING") + b"*0\r\n"]) == ([[b"PING"]], None)
    assert run([b"*0\r\n"]) == ([], None)
    assert run([b"\r\n\n  \r\n" + b"PING\n"]) == ([[b"PING"]], None)


def test_resp3_types_are_not_requests():
    # hiredis would parse these; Redis takes `~1` etc. as inline words.
    assert run([b"~1\r\n$4\r\nPING\r\n"]) == ([[b"~1"], [b"$4"], [b"PING"]], None)
    assert run([mb(b"PING") + b"%1\r\n"]) == ([[b"PING"], [b"%1"]], None)


# -- inline quoting -------------------------------------------------------------------
@pytest.mark.parametrize("line,args", [
    (b"SET a b", [b"SET", b"a", b"b"]),
    (b"  SET\t a   b  ", [b"SET", b"a", b"b"]),
    (b'SET "a b" c', [b"SET", b"a b", b"c"]),
    (b'SET "\\x41\\x4a" x', [b"SET", b"AJ", b"x"]),
    (b'SET "\\x4" x', [b"SET", b"x4", b"x"]),
    (b'SET "\\xZZ" x', [b"SET", b"xZZ", b"x"]),
    (b'SET "a\\nb\\r\\t\\b\\a" x', [b"SET", b"a\nb\r\t\b\a", b"x"]),
    (b'SET "q\\"q" x', [b"SET", b'q"q', b"x"]),
    (b'SET "\\\\" x', [b"SET", b"\\", b"x"]),
    (b"SET 'it\\'s' x", [b"SET", b"it's", b"x"]),
    (b"SET 'a\\nb' x", [b"SET", b"a\\nb", b"x"]),
    (b"SET 'a \"b\"' x", [b"SET", b'a "b"', b"x"]),
    (b'SET "" x', [b"SET", b"", b"x"]),
    (b"SET '' x", [b"SET", b"", b"x"]),
    (b'ECHO a"b c"', [b"ECHO", b"ab c"]),
    (b"ECHO a\x0bb", [b"ECHO", b"a\x0bb"]),   # \v and \f do not end a word ...
    (b"ECHO a\x0cb", [b"ECHO", b"a\x0cb"]),
    (b"\x0bECHO\x0c a", [b"ECHO\x0c", b"a"]),  # ... but are blanks between words
    (b"", []),
])
def test_split_inline(line, args):
    assert split_inline(line) == args
    assert run([line + b"\r\n"]) == (([args] if args else []), None)


@pytest.mark.parametrize("line", [b'"a', b"'a", b'"a"b', b"'a'b", b'a "b\\"', b"'a\\'"])
def test_split_inline_unbalanced(line):
    assert split_inline(line) is None


def test_inline_line_ends():
    assert run([b"PING\nPING\r\nECHO a\r\r\n"]) == \
        ([[b"PING"], [b"PING"], [b"ECHO", b"a"]], None)


# -- limits ---------------------------------------------------------------------------
def test_proto_max_bulk_len():
    limit = 1024 * 1024
    ok = mb(b"SET", b"k", b"v" * limit)
    assert run([ok], RequestParser(max_bulk_len=limit)) == ([[b"SET", b"k", b"v" * limit]],
                                                            None)
    too_big = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (limit + 1)
    assert error_of(too_big, max_bulk_len=limit) == "ERR Protocol error: invalid bulk length"
    # Also when the whole request arrives in one piece (the hiredis path).
    small = RequestParser(max_bulk_len=10)
    assert run([mb(b"PING") + mb(b"ECHO", b"x" * 11)], small) == \
        ([[b"PING"]], "ERR Protocol error: invalid bulk length")


def test_query_buffer_limit_closes_without_reply():
    parser = RequestParser(max_query_buffer=1024 * 1024)
    head = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (2 * 1024 * 1024)
    commands, err = parser.feed(head)
    assert (commands, err) == ([], None)
    chunk = b"v" * 65536
    for _ in range(20):
        commands, err = parser.feed(chunk)
        if err is not None:
            break
    assert commands == [] and err is not None and err.reply is None


def test_pending_bytes():
    parser = RequestParser()
    parser.feed(b"*2\r\n$4\r\nECHO\r\n$5\r\nab")
    assert parser.pending_bytes() > 0
    assert parser.feed(b"cde\r\n") == ([[b"ECHO", b"abcde"]], None)
    assert parser.pending_bytes() == 0


def test_unauthenticated_limits():
    def fresh():
        p = RequestParser()
        p.auth_required = True
        return p
    _, err = fresh().feed(b"*11\r\n")
    assert err.reply == "ERR Protocol error: unauthenticated multibulk length" and err.unauth
    _, err = fresh().feed(b"*2\r\n$4\r\nECHO\r\n$16385\r\n")
    assert err.reply == "ERR Protocol error: unauthenticated bulk length" and err.unauth
    assert fresh().feed(mb(*[b"x"] * 10)) == ([[b"x"] * 10], None)
    assert fresh().feed(mb(b"ECHO", b"y" * 16384)) == ([[b"ECHO", b"y" * 16384]], None)
    # The check is lifted once the client authenticates: parsing resumes where it stopped.
    p = fresh()
    cmds, err = p.feed(mb(b"AUTH", b"pw") + mb(*[b"k"] * 12) + mb(b"ECHO", b"z" * 20000))
    assert cmds == [[b"AUTH", b"pw"]] and err.unauth
    p.auth_required = False
    assert p.feed(b"") == ([[b"k"] * 12, [b"ECHO", b"z" * 20000]], None)
    # Invalid lengths are reported as such before the unauth limits.
    _, err = fresh().feed(b"*1\r\n$-1\r\n")
    assert err.reply == "ERR Protocol error: invalid bulk length" and not err.unauth


def test_huge_counts_stay_cheap():
    # hiredis would allocate (and later free, for seconds) a list of the announced size.
    import time
    start = time.monotonic()
    for data in (b"*2147483647\r\n", b"*1\r\n*2000000000\r\n$1\r\na\r\n",
                 b"*2\r\n$1\r\naXY*1999999999\r\n", mb(b"PING") + b"*2147483647\r\n"):
        parser = RequestParser()
        parser.feed(data)
        parser.feed(b"")
        del parser
    assert time.monotonic() - start < 1.0
    assert run([b"*1\r\n*2000000000\r\n"])[1] == "ERR Protocol error: expected '$', got '*'"
    # Big counts are still parsed, by hand.
    many = [b"x"] * 200000
    assert run([mb(*many)]) == ([many], None)
