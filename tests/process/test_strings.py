"""String commands over real sockets: redis-py (RESP2 and RESP3) and the real redis-cli.

One node serves the whole module; every test works on its own keys.
"""
import time

import pytest
import redis

from tests.support import wait_until


@pytest.fixture(scope="module")
def node(module_node):
    """The module's one node (rr / cli from conftest use it)."""
    return module_node


@pytest.fixture
def k(request):
    """A key-name maker unique to this test (and protocol variant)."""
    prefix = request.node.name
    return lambda name="k": f"{prefix}:{name}"


def raises(message: str):
    return pytest.raises(redis.ResponseError, match="^" + message.replace("(", r"\(")
                         .replace(")", r"\)").replace("?", r"\?") + "$")


# -- GET / SET -----------------------------------------------------------------------

def test_set_get_roundtrip(rr, k):
    assert rr.get(k()) is None
    assert rr.set(k(), "hello") is True
    assert rr.get(k()) == b"hello"
    value = bytes(range(256)) * 4
    assert rr.set(k("bin"), value) is True
    assert rr.get(k("bin")) == value
    assert rr.set(k("empty"), "") is True
    assert rr.get(k("empty")) == b""


def test_set_nx_xx_get_keepttl(rr, k):
    assert rr.set(k(), "v", xx=True) is None
    assert rr.set(k(), "v", nx=True) is True
    assert rr.set(k(), "w", nx=True) is None
    assert rr.set(k(), "w", xx=True) is True
    assert rr.set(k(), "x", get=True) == b"w"
    assert rr.set(k("new"), "x", get=True) is None
    assert rr.set(k(), "y", nx=True, get=True) == b"x"
    assert rr.get(k()) == b"x"
    assert rr.set(k(), "z", keepttl=True) is True
    assert rr.get(k()) == b"z"


def test_set_errors(rr, k):
    with raises("syntax error"):
        rr.execute_command("SET", k(), "v", "EX", "10", "PX", "10")
    with raises("syntax error"):
        rr.execute_command("SET", k(), "v", "NX", "XX")
    with raises("syntax error"):
        rr.execute_command("SET", k(), "v", "KEEPTTL", "EX", "1")
    with raises("syntax error"):
        rr.execute_command("SET", k(), "v", "EX")
    with raises("invalid expire time in 'set' command"):
        rr.set(k(), "v", ex=0)
    with raises("invalid expire time in 'set' command"):
        rr.execute_command("SET", k(), "v", "PX", "-5")
    with raises("value is not an integer or out of range"):
        rr.execute_command("SET", k(), "v", "EX", "1.5")
    with raises("wrong number of arguments for 'set' command"):
        rr.execute_command("SET", k())
    assert rr.get(k()) is None


def test_set_with_expiry_expires(rr, k):
    assert rr.set(k("px"), "v", px=60) is True
    assert rr.set(k("pxat"), "v", pxat=int(time.time() * 1000) + 60) is True
    assert rr.set(k("ex"), "v", ex=100) is True
    assert rr.set(k("exat"), "v", exat=int(time.time()) + 100) is True
    assert rr.get(k("px")) == b"v"
    wait_until(lambda: rr.get(k("px")) is None and rr.get(k("pxat")) is None,
               5, message="PX/PXAT keys to expire")
    assert rr.get(k("ex")) == b"v"
    assert rr.get(k("exat")) == b"v"
    assert rr.set(k("past"), "v", pxat=1) is True
    assert rr.get(k("past")) is None


def test_setnx_setex_psetex(rr, k):
    assert rr.setnx(k(), "a") is True
    assert rr.setnx(k(), "b") is False
    assert rr.get(k()) == b"a"
    assert rr.execute_command("SETEX", k(), 100, "b") is True
    assert rr.get(k()) == b"b"
    assert rr.psetex(k("short"), 50, "c") is True
    wait_until(lambda: rr.get(k("short")) is None, 5, message="PSETEX key to expire")
    with raises("invalid expire time in 'setex' command"):
        rr.execute_command("SETEX", k(), 0, "x")
    with raises("invalid expire time in 'psetex' command"):
        rr.psetex(k(), -1, "x")
    with raises("value is not an integer or out of range"):
        rr.execute_command("SETEX", k(), "soon", "x")


def test_getset_getdel_getex(rr, k):
    assert rr.getset(k(), "1") is None
    assert rr.getset(k(), "2") == b"1"
    assert rr.getex(k()) == b"2"
    assert rr.getex(k(), px=60) == b"2"
    wait_until(lambda: rr.get(k()) is None, 5, message="GETEX PX key to expire")
    rr.set(k(), "3", px=200)
    assert rr.getex(k(), persist=True) == b"3"
    assert rr.getex(k(), ex=100) == b"3"
    assert rr.getex(k(), exat=1) == b"3"               # a past deadline deletes the key
    assert rr.get(k()) is None
    assert rr.getex(k("missing"), ex=5) is None
    rr.set(k(), "4")
    assert rr.getdel(k()) == b"4"
    assert rr.getdel(k()) is None
    assert rr.get(k()) is None
    with raises("syntax error"):
        rr.execute_command("GETEX", k(), "PERSIST", "EX", "10")
    rr.set(k(), "5")
    with raises("invalid expire time in 'getex' command"):
        rr.execute_command("GETEX", k(), "EX", "0")


def test_persisted_key_survives(rr, k):
    rr.set(k(), "v", px=80)
    assert rr.getex(k(), persist=True) == b"v"
    deadline = time.monotonic() + 0.3
    wait_until(lambda: time.monotonic() > deadline, 2, message="past the old deadline")
    assert rr.get(k()) == b"v"


def test_mget_mset_msetnx(rr, k):
    assert rr.mset({k("a"): "1", k("b"): "2"}) is True
    assert rr.mget(k("a"), k("b"), k("c")) == [b"1", b"2", None]
    assert rr.msetnx({k("b"): "x", k("c"): "3"}) is False
    assert rr.get(k("c")) is None
    assert rr.msetnx({k("c"): "3", k("d"): "4"}) is True
    assert rr.mget([k("c"), k("d")]) == [b"3", b"4"]
    with raises("wrong number of arguments for 'mset' command"):
        rr.execute_command("MSET", k("a"), "1", k("b"))
    with raises("wrong number of arguments for 'msetnx' command"):
        rr.execute_command("MSETNX", k("a"))


# -- ranges ---------------------------------------------------------------------------

def test_append_strlen_getrange_substr(rr, k):
    assert rr.append(k(), "Hello") == 5
    assert rr.append(k(), " World") == 11
    assert rr.strlen(k()) == 11
    assert rr.strlen(k("none")) == 0
    assert rr.getrange(k(), 0, 4) == b"Hello"
    assert rr.getrange(k(), -5, -1) == b"World"
    assert rr.getrange(k(), -1, -5) == b""
    assert rr.getrange(k(), 0, -1) == b"Hello World"
    assert rr.getrange(k(), 20, 30) == b""
    assert rr.getrange(k("none"), 0, -1) == b""
    assert rr.substr(k(), 6, 100) == b"World"
    with raises("value is not an integer or out of range"):
        rr.execute_command("GETRANGE", k(), "a", "1")


def test_setrange(rr, k):
    assert rr.setrange(k(), 0, "hello") == 5
    assert rr.setrange(k(), 7, "world") == 12
    assert rr.get(k()) == b"hello\x00\x00world"
    assert rr.setrange(k(), 1, "EL") == 12
    assert rr.get(k()) == b"hELlo\x00\x00world"
    assert rr.setrange(k("none"), 100, "") == 0
    assert rr.get(k("none")) is None
    with raises("offset is out of range"):
        rr.setrange(k(), -1, "x")
    with raises("value is not an integer or out of range"):
        rr.execute_command("SETRANGE", k(), "x", "y")
    with raises("string exceeds maximum allowed size (proto-max-bulk-len)"):
        rr.setrange(k(), 536870911, "xy")


# -- counters ------------------------------------------------------------------------

def test_incr_decr_family(rr, k):
    assert rr.incr(k()) == 1
    assert rr.incr(k(), 10) == 11                      # INCRBY
    assert rr.decr(k()) == 10
    assert rr.decr(k(), 20) == -10                     # DECRBY
    assert rr.get(k()) == b"-10"
    rr.set(k("max"), 2**63 - 1)
    with raises("increment or decrement would overflow"):
        rr.incr(k("max"))
    rr.set(k("s"), "abc")
    with raises("value is not an integer or out of range"):
        rr.incr(k("s"))
    with raises("value is not an integer or out of range"):
        rr.incrby(k(), "1.5")
    with raises("decrement would overflow"):
        rr.decrby(k(), -2**63)
    assert rr.get(k()) == b"-10"


def test_incrbyfloat(rr, k):
    assert rr.incrbyfloat(k(), 0.1) == pytest.approx(0.1)
    assert rr.incrbyfloat(k(), 0.2) == pytest.approx(0.3)
    assert rr.get(k()) == b"0.3"
    assert rr.incrbyfloat(k("e"), "5.0e3") == 5000.0
    assert rr.get(k("e")) == b"5000"
    assert rr.incr(k("e")) == 5001
    rr.set(k("big"), "1e20")
    rr.incrbyfloat(k("big"), 0)
    assert rr.get(k("big")) == b"100000000000000000000"
    with raises("value is not a valid float"):
        rr.incrbyfloat(k(), "abc")
    with raises("increment would produce NaN or Infinity"):
        rr.incrbyfloat(k(), "inf")
    rr.set(k("s"), "one")
    with raises("value is not a valid float"):
        rr.incrbyfloat(k("s"), 1)


def test_incrbyfloat_reply_is_a_bulk_string_in_both_protocols(node, k):
    key = k().encode()
    cmd = b"*3\r\n$11\r\nINCRBYFLOAT\r\n$%d\r\n%s\r\n$3\r\n1.5\r\n" % (len(key), key)
    assert node.raw(cmd, expect=9) == b"$3\r\n1.5\r\n"
    hello = b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
    out = node.raw(hello + cmd)
    assert out.endswith(b"$1\r\n3\r\n")


def test_lcs(rr, k):
    rr.mset({k("a"): "ohmytext", k("b"): "mynewtext"})
    assert rr.lcs(k("a"), k("b")) == b"mytext"
    assert rr.lcs(k("a"), k("b"), len=True) == 6
    idx = rr.lcs(k("a"), k("b"), idx=True, minmatchlen=4, withmatchlen=True)
    if isinstance(idx, dict):
        idx = [x for pair in idx.items() for x in pair]
    assert idx == [b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
    with raises("If you want both the length and indexes, please just use IDX."):
        rr.execute_command("LCS", k("a"), k("b"), "IDX", "LEN")


def test_pipeline_of_counters(rr, k):
    pipe = rr.pipeline(transaction=False)
    for _ in range(100):
        pipe.incr(k())
    pipe.mset({k("x"): "1", k("y"): "2"})
    pipe.get(k())
    replies = pipe.execute()
    assert replies[:100] == list(range(1, 101))
    assert replies[100] is True
    assert replies[101] == b"100"


# -- the real redis-cli ----------------------------------------------------------------

def test_cli_strings(cli, k):
    key = k()
    assert cli("SET", key, "hello world").strip() == "OK"
    assert cli("GET", key).strip() == "hello world"
    assert cli("APPEND", key, "!").strip() == "12"
    assert cli("GETRANGE", key, "0", "4").strip() == "hello"
    assert cli("INCRBYFLOAT", k("f"), "10.5").strip() == "10.5"
    assert cli("INCRBYFLOAT", k("f"), "0.1").strip() == "10.6"
    assert cli("SET", key, "v", "EX", "0").strip() == (
        "ERR invalid expire time in 'set' command")
    assert cli("MSET", k("a"), "1", k("b"), "2").strip() == "OK"
    assert cli("MGET", k("a"), k("b"), k("c")).splitlines() == ["1", "2", ""]
    assert cli("SETRANGE", key, "-1", "x").strip() == "ERR offset is out of range"


def test_cli_tty_style_output(cli, k):
    out = cli("--no-raw", "MGET", k("a"), k("none"))
    assert out.splitlines() == ['1) (nil)', '2) (nil)']
    cli("SET", k("n"), "41")
    assert cli("--no-raw", "INCR", k("n")).strip() == "(integer) 42"
    assert cli("--no-raw", "GET", k("n")).strip() == '"42"'
    assert cli("--no-raw", "INCRBYFLOAT", k("n"), "abc").strip() == (
        "(error) ERR value is not a valid float")
