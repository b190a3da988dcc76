"""Reply encoding: every reply type, byte for byte, in RESP2 and RESP3."""
from __future__ import annotations

import pytest

from cluster.resp.reply import (NULL_ARRAY, OK, PONG, QUEUED, Push, ReplyError, RespSet, Status,
                           Verbatim, encode, format_double)


def both(value) -> tuple[bytes, bytes]:
    return encode(value, False), encode(value, True)


@pytest.mark.parametrize("value,resp2,resp3", [
    (b"hello", b"$5\r\nhello\r\n", b"$5\r\nhello\r\n"),
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (b"a\r\nb\0", b"$5\r\na\r\nb\0\r\n", b"$5\r\na\r\nb\0\r\n"),
    ("h\u00e9", b"$3\r\nh\xc3\xa9\r\n", b"$3\r\nh\xc3\xa9\r\n"),
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (PONG, b"+PONG\r\n", b"+PONG\r\n"),
    (QUEUED, b"+QUEUED\r\n", b"+QUEUED\r\n"),
    (Status(b"RESET"), b"+RESET\r\n", b"+RESET\r\n"),
    (0, b":0\r\n", b":0\r\n"),
    (-42, b":-42\r\n", b":-42\r\n"),
    (2**63 - 1, b":9223372036854775807\r\n", b":9223372036854775807\r\n"),
    (-(2**63), b":-9223372036854775808\r\n", b":-9223372036854775808\r\n"),
    (True, b":1\r\n", b":1\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ([], b"*0\r\n", b"*0\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
    ((b"x",), b"*1\r\n$1\r\nx\r\n", b"*1\r\n$1\r\nx\r\n"),
    ([[b"a", [1]], []], b"*2\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n*0\r\n",
     b"*2\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n*0\r\n"),
    ({b"k": b"v", b"n": 1}, b"*4\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:1\r\n",
     b"%2\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:1\r\n"),
    ({}, b"*0\r\n", b"%0\r\n"),
    ({b"m": {b"a": [b"b"]}}, b"*2\r\n$1\r\nm\r\n*2\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n",
     b"%1\r\n$1\r\nm\r\n%1\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n"),
    (RespSet([b"only"]), b"*1\r\n$4\r\nonly\r\n", b"~1\r\n$4\r\nonly\r\n"),
    (RespSet(), b"*0\r\n", b"~0\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (0.1, b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
    (-2.0, b"$2\r\n-2\r\n", b",-2\r\n"),
    (1e300, b"$23\r\n1.0000000000000001e+300\r\n", b",1.0000000000000001e+300\r\n"),
    (float("inf"), b"$3\r\ninf\r\n", b",inf\r\n"),
    (float("-inf"), b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (Verbatim(b"line1\nline2"), b"$11\r\nline1\nline2\r\n", b"=15\r\ntxt:line1\nline2\r\n"),
    (Push([b"message", b"ch", b"hi"]), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
     b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
    (ReplyError("ERR syntax error"), b"-ERR syntax error\r\n", b"-ERR syntax error\r\n"),
    (ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value"),
     b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
     b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
])
def test_encode(value, resp2, resp3):
    assert both(value) == (resp2, resp3)


def test_error_is_one_line():
    # CR and LF inside an error would break the stream: Redis turns them into spaces.
    assert encode(ReplyError("ERR bad\r\nthing\rhere\n"), False) == b"-ERR bad  thing here \r\n"
    assert encode(ReplyError("ERR a\nb"), True) == b"-ERR a b\r\n"


def test_error_keeps_raw_bytes():
    # Client bytes travel in messages as surrogate escapes and come out unchanged.
    message = b"ERR unknown command '\xff\xfe'".decode("utf-8", "surrogateescape")
    assert encode(ReplyError(message), False) == b"-ERR unknown command '\xff\xfe'\r\n"


def test_error_code():
    assert ReplyError("WRONGTYPE Operation").code == "WRONGTYPE"
    assert ReplyError("ERR x").message == "ERR x"


def test_errors_inside_arrays():
    # EXEC replies carry errors among values.
    value = [OK, ReplyError("ERR x"), 3]
    assert encode(value, False) == b"*3\r\n+OK\r\n-ERR x\r\n:3\r\n"
    assert encode(value, True) == b"*3\r\n+OK\r\n-ERR x\r\n:3\r\n"


def test_set_of_several_members():
    members = {b"a", b"b", b"c"}
    raw2, raw3 = both(RespSet(members))
    assert raw3.startswith(b"~3\r\n") and raw2.startswith(b"*3\r\n")
    body = raw2[len(b"*3\r\n"):]
    assert sorted(body.split(b"\r\n")[1::2]) == [b"a", b"b", b"c"]
    assert raw3[len(b"~3\r\n"):] == body


def test_nested_null_and_map_in_array():
    value = [None, NULL_ARRAY, {b"a": None}]
    assert encode(value, False) == b"*3\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n$-1\r\n"
    assert encode(value, True) == b"*3\r\n_\r\n_\r\n%1\r\n$1\r\na\r\n_\r\n"


@pytest.mark.parametrize("value,text", [
    (1.0, b"1"), (3.14, b"3.1400000000000001"), (-0.5, b"-0.5"), (1e17, b"1e+17"),
    (123456789012345678.0, b"1.2345678901234568e+17"), (float("nan"), b"nan"),
    (float("inf"), b"inf"), (float("-inf"), b"-inf"),
])
def test_format_double(value, text):
    assert format_double(value) == text


def test_unknown_type_is_refused():
    with pytest.raises(TypeError):
        encode(object(), False)


def test_long_arrays_of_bulks_encode_as_the_general_way():
    """encode's one-join path for arrays of 8+ bulk strings gives the same bytes as the
    item-by-item path, and falls back for other items or bulks of 4 KB and more."""
    import random
    from cluster.resp.reply import encode

    def reference(v):
        if v.__class__ is bytes:
            return b"$%d\r\n%s\r\n" % (len(v), v)
        if v is None:
            return b"$-1\r\n"
        if isinstance(v, int):
            return b":%d\r\n" % v
        return b"*%d\r\n" % len(v) + b"".join(reference(x) for x in v)
    rng = random.Random(7)
    for _ in range(500):
        value = [rng.choice([b"x" * rng.randrange(4090, 4100), None, 7, [b"a", 1]])
                 if rng.random() < 0.1 else b"y" * rng.randrange(0, 50)
                 for _ in range(rng.randrange(0, 20))]
        assert encode(value, False) == reference(value)
