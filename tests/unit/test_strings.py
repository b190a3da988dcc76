"""String commands in-process: options, errors, expiry, propagation, INCRBYFLOAT digits.

Expected strings and numbers were taken from a real redis-server 7.0.15.
"""
import re
from collections import deque

import hiredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.commands import registry  # noqa: F401
from cluster.base import longdouble
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import OK, ReplyError

NOW = 1_700_000_000_000
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class Env:
    def __init__(self):
        self.node = Node(clock=lambda: NOW / 1000)
        self.node.set_time(NOW)
        self.client = self.node.new_client("127.0.0.1:5000", "127.0.0.1:6379")
        self.db = self.client.db
        self.sent: list[list[bytes]] = []
        self._reader = hiredis.Reader()
        self.node.propagator.sinks.append(self._sink)

    def _sink(self, data: bytes) -> None:
        self._reader.feed(data)
        while (item := self._reader.gets()) is not False:
            if item[0].upper() != b"SELECT":
                self.sent.append(item)

    def __call__(self, *args):
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return execute(self.client, argv)

    def err(self, *args) -> str:
        reply = self(*args)
        assert isinstance(reply, ReplyError), reply
        return reply.message

    def propagated(self, *args):
        """Run a command and return what it propagated (as lists of bytes)."""
        self.sent.clear()
        reply = self(*args)
        return reply, self.sent[:]


@pytest.fixture
def env():
    return Env()


def b(*words):
    return [w if isinstance(w, bytes) else str(w).encode() for w in words]


# -- SET options ---------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("EX", "10", "PX", "10"), ("NX", "XX"), ("XX", "NX"), ("KEEPTTL", "EX", "10"),
    ("EX", "10", "KEEPTTL"), ("EX",), ("PX",), ("EXAT",), ("PXAT",), ("foo",),
    ("EX", "10", "PERSIST"), ("PERSIST",), ("EXAT", "1", "PX", "1"), ("PXAT", "1", "EX", "1"),
    ("NX", "EX"),
])
def test_set_option_conflicts_are_syntax_errors(env, args):
    assert env.err("SET", "k", "v", *args) == "ERR syntax error"
    assert env.db.peek(b"k") is None


@pytest.mark.parametrize("args", [
    ("EX", "0"), ("EX", "-1"), ("PX", "0"), ("EXAT", "0"), ("PXAT", "-5"),
    ("EX", "9223372036854775807"), ("EX", "9223372036854775"),
    ("PX", "9223372036854775807"), ("EXAT", "9223372036854776"),
])
def test_set_invalid_expire_time(env, args):
    assert env.err("SET", "k", "v", *args) == "ERR invalid expire time in 'set' command"


@pytest.mark.parametrize("raw", ["abc", "1.5", " 1", "01", "", "99999999999999999999"])
def test_set_expire_not_an_integer(env, raw):
    assert env.err("SET", "k", "v", "EX", raw) == "ERR value is not an integer or out of range"


def test_set_repeatable_options_are_accepted(env):
    assert env("SET", "k", "v", "EX", "1", "EX", "2") is OK
    assert env.db.get_expire(b"k") == NOW + 2000
    assert env("SET", "k", "v", "nx", "NX") is None
    assert env("SET", "k", "x", "keepttl", "KeepTTL") is OK
    assert env.db.get_expire(b"k") == NOW + 2000
    assert env("SET", "k", "w", "get", "GET") == b"x"
    assert env.db.get_expire(b"k") is None


def test_set_expiry_variants_store_absolute_ms(env):
    env("SET", "a", "v", "EX", "10")
    env("SET", "b", "v", "PX", "1500")
    env("SET", "c", "v", "EXAT", str(NOW // 1000 + 100))
    env("SET", "d", "v", "PXAT", str(NOW + 77))
    env("SET", "e", "v", "PXAT", "9223372036854775807")
    assert env.db.get_expire(b"a") == NOW + 10_000
    assert env.db.get_expire(b"b") == NOW + 1500
    assert env.db.get_expire(b"c") == NOW + 100_000
    assert env.db.get_expire(b"d") == NOW + 77
    assert env.db.get_expire(b"e") == 2**63 - 1


def test_set_drops_ttl_keepttl_keeps_it(env):
    env("SET", "k", "v", "EX", "10")
    env("SET", "k", "v2", "KEEPTTL")
    assert env.db.get_expire(b"k") == NOW + 10_000
    env("SET", "k", "v3")
    assert env.db.get_expire(b"k") is None
    assert env("GET", "k") == b"v3"


def test_set_nx_xx_get(env):
    assert env("SET", "k", "v", "XX") is None
    assert env("SET", "k", "v", "NX") is OK
    assert env("SET", "k", "w", "NX") is None
    assert env("SET", "k", "w", "XX") is OK
    assert env("SET", "k", "x", "NX", "GET") == b"w"      # aborted, old value returned
    assert env("GET", "k") == b"w"
    assert env("SET", "new", "x", "XX", "GET") is None
    assert env("GET", "new") is None
    assert env("SET", "new", "x", "NX", "GET") is None
    assert env("GET", "new") == b"x"


def test_set_get_against_wrong_type_does_not_write(env):
    env.db.store(b"l", deque([b"a"]))
    assert env.err("SET", "l", "v", "GET") == WRONGTYPE
    assert env.db.peek(b"l").__class__ is deque
    assert env("SET", "l", "v") is OK            # plain SET overwrites any type
    assert env("GET", "l") == b"v"


def test_set_past_absolute_expiry_makes_key_gone(env):
    assert env("SET", "k", "v", "PXAT", str(NOW - 1)) is OK
    assert env("GET", "k") is None


def test_expired_key_disappears_when_time_passes(env):
    env("SET", "k", "v", "PX", "100")
    env.node.set_time(NOW + 99)
    assert env("GET", "k") == b"v"
    env.node.set_time(NOW + 100)
    assert env("GET", "k") is None


def test_setnx_setex_psetex(env):
    assert env("SETNX", "k", "v") == 1
    assert env("SETNX", "k", "w") == 0
    assert env("GET", "k") == b"v"
    assert env("SETEX", "k", "5", "w") is OK
    assert env.db.get_expire(b"k") == NOW + 5000
    assert env("PSETEX", "k", "5", "x") is OK
    assert env.db.get_expire(b"k") == NOW + 5
    assert env("GET", "k") == b"x"
    assert env.err("SETEX", "k", "0", "v") == "ERR invalid expire time in 'setex' command"
    assert env.err("PSETEX", "k", "-1", "v") == "ERR invalid expire time in 'psetex' command"
    assert env.err("SETEX", "k", "x", "v") == "ERR value is not an integer or out of range"
    assert env.err("SETEX", "k", "9223372036854776", "v") == (
        "ERR invalid expire time in 'setex' command")


# -- GETEX / GETDEL / GETSET ---------------------------------------------------------

def test_getex_errors_and_order(env):
    assert env("GETEX", "missing", "EX", "abc") is None   # lookup happens before validation
    env("SET", "k", "v")
    assert env.err("GETEX", "k", "EX", "abc") == "ERR value is not an integer or out of range"
    assert env.err("GETEX", "k", "EX", "0") == "ERR invalid expire time in 'getex' command"
    for args in (("PERSIST", "EX", "10"), ("EX", "10", "PERSIST"), ("NX",), ("EX",),
                 ("KEEPTTL",), ("GET",), ("EX", "1", "PX", "1")):
        assert env.err("GETEX", "k", *args) == "ERR syntax error"
    assert env("GETEX", "k", "persist", "PERSIST") == b"v"
    assert env("GETEX", "k", "EX", "1", "EX", "2") == b"v"
    assert env.db.get_expire(b"k") == NOW + 2000
    env.db.store(b"l", deque([b"a"]))
    assert env.err("GETEX", "l", "PERSIST") == WRONGTYPE


def test_getex_sets_and_removes_ttl(env):
    env("SET", "k", "v")
    assert env("GETEX", "k") == b"v"
    assert env.db.get_expire(b"k") is None
    assert env("GETEX", "k", "PX", "250") == b"v"
    assert env.db.get_expire(b"k") == NOW + 250
    assert env("GETEX", "k", "EXAT", str(NOW // 1000 + 9)) == b"v"
    assert env.db.get_expire(b"k") == NOW // 1000 * 1000 + 9000
    assert env("GETEX", "k", "PERSIST") == b"v"
    assert env.db.get_expire(b"k") is None
    assert env("GETEX", "k", "EXAT", "1") == b"v"          # in the past: deleted
    assert env.db.peek(b"k") is None


def test_getdel_and_getset(env):
    assert env("GETDEL", "k") is None
    env("SET", "k", "v", "EX", "10")
    assert env("GETSET", "k", "w") == b"v"
    assert env.db.get_expire(b"k") is None                  # GETSET drops the TTL
    assert env("GETDEL", "k") == b"w"
    assert env.db.peek(b"k") is None
    assert env("GETSET", "k", "x") is None
    env.db.store(b"l", deque([b"a"]))
    assert env.err("GETDEL", "l") == WRONGTYPE
    assert env.err("GETSET", "l", "x") == WRONGTYPE
    assert env.db.peek(b"l").__class__ is deque


# -- MGET / MSET / MSETNX ------------------------------------------------------------

def test_mget_mset_msetnx(env):
    env.db.store(b"l", deque([b"a"]))
    assert env("MSET", "a", "1", "b", "2", "a", "3") is OK
    assert env("MGET", "a", "b", "l", "zz") == [b"3", b"2", None, None]
    assert env.err("MSET", "a") == "ERR wrong number of arguments for 'mset' command"
    assert env.err("MSET", "a", "b", "c") == "ERR wrong number of arguments for 'mset' command"
    assert env.err("MSETNX", "a", "b", "c") == (
        "ERR wrong number of arguments for 'msetnx' command")
    assert env("MSETNX", "a", "9", "c", "9") == 0
    assert env.db.peek(b"c") is None
    assert env("MSETNX", "c", "1", "d", "2") == 1
    assert env("MGET", "c", "d") == [b"1", b"2"]
    env("SET", "e", "v", "EX", "10")
    env("MSET", "e", "w")
    assert env.db.get_expire(b"e") is None


# -- APPEND / STRLEN / GETRANGE / SETRANGE -------------------------------------------

def test_append_strlen(env):
    assert env("APPEND", "k", "hello") == 5
    assert env("APPEND", "k", " world") == 11
    assert env("APPEND", "k", "") == 11
    assert env("STRLEN", "k") == 11
    assert env("STRLEN", "nokey") == 0
    env("SET", "n", "12345", "EX", "10")
    assert env("APPEND", "n", "6") == 6
    assert env("GET", "n") == b"123456"
    assert env.db.get_expire(b"n") == NOW + 10_000           # APPEND keeps the TTL
    env.db.store(b"l", deque([b"a"]))
    assert env.err("APPEND", "l", "x") == WRONGTYPE
    assert env.err("STRLEN", "l") == WRONGTYPE


def test_append_and_setrange_respect_proto_max_bulk_len(env):
    env.node.config.set("proto-max-bulk-len", "1mb")
    limit = 1024 * 1024
    env("SET", "k", b"x" * (limit - 2))
    assert env.err("APPEND", "k", "abc") == (
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert env("APPEND", "k", "ab") == limit
    assert env.err("SETRANGE", "k", str(limit), "a") == (
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert env.err("SETRANGE", "new", str(limit - 1), "ab") == (
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert env("SETRANGE", "new", str(limit - 1), "a") == limit
    assert env("SETRANGE", "other", str(10 * limit), "") == 0     # nothing to set: fine


@pytest.mark.parametrize("start,end,expected", [
    (0, -1, b"Hello World"), (0, 4, b"Hello"), (-5, -1, b"World"), (-1, -5, b""),
    (-100, 100, b"Hello World"), (5, 3, b""), (100, 200, b""), (-1, -1, b"d"),
    (0, 0, b"H"), (-2**63, 2**63 - 1, b"Hello World"), (2**63 - 1, -2**63, b""),
    (3, -100, b""), (-100, -100, b"H"), (10, 10, b"d"), (11, 11, b""),
])
def test_getrange_index_rules(env, start, end, expected):
    env("SET", "k", "Hello World")
    assert env("GETRANGE", "k", start, end) == expected
    assert env("SUBSTR", "k", start, end) == expected


def test_getrange_edge_cases(env):
    assert env("GETRANGE", "nokey", 0, -1) == b""
    env("SET", "e", "")
    assert env("GETRANGE", "e", 0, -1) == b""
    assert env("GETRANGE", "e", -1, 0) == b""
    assert env.err("GETRANGE", "e", "a", 1) == "ERR value is not an integer or out of range"
    assert env.err("GETRANGE", "e", 0, "1.5") == "ERR value is not an integer or out of range"
    env.db.store(b"l", deque([b"a"]))
    assert env.err("GETRANGE", "l", 0, 1) == WRONGTYPE


def test_setrange(env):
    assert env("SETRANGE", "k", 0, "hello") == 5
    assert env("SETRANGE", "k", 10, "world") == 15
    assert env("GET", "k") == b"hello\x00\x00\x00\x00\x00world"
    assert env("SETRANGE", "k", 1, "EL") == 15
    assert env("GET", "k") == b"hELlo\x00\x00\x00\x00\x00world"
    assert env("SETRANGE", "n", 3, "abc") == 6
    assert env("GET", "n") == b"\x00\x00\x00abc"
    assert env("SETRANGE", "k", 0, "") == 15
    assert env("SETRANGE", "missing", 5, "") == 0
    assert env.db.peek(b"missing") is None
    assert env.err("SETRANGE", "k", -1, "x") == "ERR offset is out of range"
    assert env.err("SETRANGE", "k", "abc", "x") == "ERR value is not an integer or out of range"
    assert env.err("SETRANGE", "k", "9223372036854775808", "x") == (
        "ERR value is not an integer or out of range")
    assert env.err("SETRANGE", "k", 536870911, "xy") == (
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    env.db.store(b"l", deque([b"a"]))
    assert env.err("SETRANGE", "l", 0, "") == WRONGTYPE
    assert env.err("SETRANGE", "l", 0, "x") == WRONGTYPE
    env("SET", "t", "abc", "EX", "10")
    env("SETRANGE", "t", 1, "X")
    assert env.db.get_expire(b"t") == NOW + 10_000


# -- counters ------------------------------------------------------------------------

def test_incr_family_stores_decimal_bytes(env):
    assert env("INCR", "n") == 1
    assert env.db.peek(b"n") == b"1"
    assert env("INCRBY", "n", "41") == 42
    assert env("DECR", "n") == 41
    assert env("DECRBY", "n", "-9") == 50
    assert env("INCRBY", "n", "-100") == -50
    assert env.db.peek(b"n") == b"-50"
    env("SET", "t", "5", "EX", "10")
    assert env("INCR", "t") == 6
    assert env.db.get_expire(b"t") == NOW + 10_000            # counters keep the TTL


def test_incr_errors(env):
    overflow = "ERR increment or decrement would overflow"
    not_int = "ERR value is not an integer or out of range"
    env("SET", "n", str(2**63 - 1))
    assert env.err("INCR", "n") == overflow
    assert env.err("INCRBY", "n", "1") == overflow
    assert env("INCRBY", "n", "-1") == 2**63 - 2
    env("SET", "m", str(-2**63))
    assert env.err("DECR", "m") == overflow
    assert env.err("DECRBY", "m", "1") == overflow
    assert env("INCR", "m") == -2**63 + 1
    assert env.err("DECRBY", "m", "-9223372036854775808") == "ERR decrement would overflow"
    assert env.err("DECRBY", "nokey", "-9223372036854775808") == "ERR decrement would overflow"
    for bad in (" 1", "01", "-0", "+1", "1.5", "abc", "", "99999999999999999999", "1 "):
        env("SET", "s", bad)
        assert env.err("INCR", "s") == not_int
        assert env.err("INCRBY", "n", bad) == not_int
    env.db.store(b"l", deque([b"a"]))
    for cmd in (("INCR", "l"), ("DECR", "l"), ("INCRBY", "l", "1"), ("DECRBY", "l", "1"),
                ("INCRBYFLOAT", "l", "1")):
        assert env.err(*cmd) == WRONGTYPE


@pytest.mark.parametrize("start,incr,expected", [
    (None, "0.1", b"0.1"), ("0.1", "0.2", b"0.3"), ("10", "0.5", b"10.5"),
    ("5.0e3", "0", b"5000"), (None, "5.0e3", b"5000"),
    (None, "3.0000000000000004", b"3.0000000000000004"),
    (None, "1e20", b"100000000000000000000"), (None, "-0.0", b"0"), (None, "1e-20", b"0"),
    (None, "-1e-20", b"0"), (None, "0.1e-16", b"0.00000000000000001"),
    ("1", "1e-17", b"1.00000000000000001"),
    (None, "123456789012345678901234567890", b"123456789012345678899921813504"),
    (None, "+1.5", b"1.5"), (None, "0x10", b"16"), (None, "0x1p-2", b"0.25"),
    (None, ".5", b"0.5"), (None, "5.", b"5"), (None, "1E5", b"100000"),
    (None, "3.0000000000000000001", b"3"), ("0.3", "-0.1", b"0.2"), ("1.1", "2.2", b"3.3"),
    ("10.5", "0.1", b"10.6"), ("9007199254740993", "0", b"9007199254740993"),
    ("9223372036854775807", "1", b"9223372036854775808"),
    (None, "0.000003814697265625", b"0.00000381469726562"),      # tie: to even
    (None, "0.000011444091796875", b"0.00001144409179688"),
    ("10", "-10.00000000000000001", b"-0.00000000000000001"), (None, "4.9e-4951", b"0"),
    (None, "1.5e300", b"15000000000000000000498001098614721663623792391186739285512197182489"
                      b"73529929812708792854310575830930686530644566050229406926646739311017"
                      b"60698425828837743414393760277819671066123465594419577083851326884682"
                      b"61502054186329955472718748270729362305949200132411903639944718860805"
                      b"67336615911694509046614720512"),
])
def test_incrbyfloat_formats_like_redis(env, start, incr, expected):
    if start is not None:
        env("SET", "f", start)
    assert env("INCRBYFLOAT", "f", incr) == expected
    assert env("GET", "f") == expected


def test_incrbyfloat_accumulates_like_redis(env):
    for _ in range(10):
        env("INCRBYFLOAT", "f", "0.1")
    assert env("GET", "f") == b"1"
    for _ in range(7):
        env("INCRBYFLOAT", "g", "1.1e17")
    assert env("GET", "g") == b"770000000000000000"
    env("SET", "h", "1e4932")
    huge = env("INCRBYFLOAT", "h", "0")
    assert env("GET", "h") == huge
    assert len(huge) == 4933 and huge.startswith(b"10000000000000000000060189")


@pytest.mark.parametrize("start,incr,message", [
    (None, "1e4933", "ERR value is not a valid float"),
    (None, "nan", "ERR value is not a valid float"),
    (None, " 1", "ERR value is not a valid float"),
    (None, "1 ", "ERR value is not a valid float"),
    (None, "1e", "ERR value is not a valid float"),
    (None, "1_0", "ERR value is not a valid float"),
    (None, "1e-5000", "ERR value is not a valid float"),
    (None, "-", "ERR value is not a valid float"),
    (None, ".", "ERR value is not a valid float"),
    (None, "e5", "ERR value is not a valid float"),
    (None, "", "ERR value is not a valid float"),
    (None, "1" * 5120, "ERR value is not a valid float"),
    ("abc", "1", "ERR value is not a valid float"),
    (None, "inf", "ERR increment would produce NaN or Infinity"),
    (None, "-Infinity", "ERR increment would produce NaN or Infinity"),
    ("1e4932", "1e4932", "ERR increment would produce NaN or Infinity"),
    ("inf", "-inf", "ERR increment would produce NaN or Infinity"),
])
def test_incrbyfloat_errors(env, start, incr, message):
    if start is not None:
        env("SET", "f", start)
    assert env.err("INCRBYFLOAT", "f", incr) == message
    assert env.db.peek(b"f") == (start.encode() if start is not None else None)


def test_longdouble_parse_boundaries():
    assert longdouble.parse(b"0x1p-16445") > 0             # smallest subnormal
    assert longdouble.parse(b"0x1p-16446") is None         # exactly half: ties to 0 (even)
    assert longdouble.parse(b"0x1.8p-16446") > 0           # above half: smallest subnormal
    assert longdouble.parse(b"0x1p-16447") is None         # underflows to zero
    assert longdouble.parse(b"0x1.fffffffffffffffep16383") is not None
    assert longdouble.parse(b"0x1.ffffffffffffffffp16383") is None   # rounds to inf
    assert longdouble.parse(b"0e999999999999") == 0
    assert longdouble.parse(b"1e999999999999") is None
    assert longdouble.parse(b"0." + b"0" * 100 + b"1" * 5000) is not None   # 5102 chars
    assert longdouble.format_human(longdouble.parse(b"1" * 4500)).startswith(b"1111111111")


# -- propagation ---------------------------------------------------------------------

def test_propagation_rewrites(env):
    at = b"%d" % (NOW + 10_000)
    assert env.propagated("SET", "k", "v", "EX", "10")[1] == [b("SET", "k", "v", "PXAT", at)]
    assert env.propagated("SET", "k", "v", "PX", "10000", "NX")[1] == []
    assert env.propagated("SET", "k", "w", "XX", "PX", "10000", "GET")[1] == [
        b("SET", "k", "w", "PXAT", at)]
    assert env.propagated("SET", "k", "v", "EXAT", str(NOW // 1000 + 10))[1] == [
        b("SET", "k", "v", "PXAT", at)]
    assert env.propagated("SET", "k", "v", "PXAT", at)[1] == [b("SET", "k", "v", "PXAT", at)]
    assert env.propagated("SETEX", "k", "10", "v")[1] == [b("SET", "k", "v", "PXAT", at)]
    assert env.propagated("PSETEX", "k", "10000", "v")[1] == [b("SET", "k", "v", "PXAT", at)]
    assert env.propagated("SET", "k", "v", "get", "KEEPTTL", "GET")[1] == [
        b("SET", "k", "v", "KEEPTTL")]
    assert env.propagated("set", "k", "v")[1] == [b("set", "k", "v")]
    assert env.propagated("GETEX", "k", "EX", "10")[1] == [b("PEXPIREAT", "k", at)]
    assert env.propagated("GETEX", "k", "PX", "10000")[1] == [b("PEXPIREAT", "k", at)]
    assert env.propagated("GETEX", "k", "EXAT", str(NOW // 1000 + 10))[1] == [
        b("PEXPIREAT", "k", at)]
    assert env.propagated("GETEX", "k", "PXAT", at)[1] == [b("PEXPIREAT", "k", at)]
    assert env.propagated("GETEX", "k", "PERSIST")[1] == [b("PERSIST", "k")]
    assert env.propagated("GETEX", "k", "PERSIST")[1] == []        # no TTL: nothing
    assert env.propagated("GETEX", "k")[1] == []
    assert env.propagated("GETEX", "k", "PXAT", NOW - 1) == (b"v", [b("DEL", "k")])
    env("SET", "f", "1", "EX", "10")
    assert env.propagated("INCRBYFLOAT", "f", "0.5") == (
        b"1.5", [b("SET", "f", "1.5", "KEEPTTL")])
    assert env.propagated("GETDEL", "f") == (b"1.5", [b("DEL", "f")])
    assert env.propagated("GETDEL", "f") == (None, [])
    assert env.propagated("GETSET", "g", "1") == (None, [b("SET", "g", "1")])
    assert env.propagated("INCR", "g") == (2, [b("INCR", "g")])
    assert env.propagated("SETNX", "g", "x") == (0, [])
    assert env.propagated("MSETNX", "g", "x", "h", "y") == (0, [])
    assert env.propagated("SETRANGE", "g", 0, "") == (1, [])
    assert env.propagated("MSET", "a", "1", "b", "2")[1] == [b("MSET", "a", "1", "b", "2")]


def test_getdel_propagates_unlink_with_lazy_user_del(env):
    env.node.config.set("lazyfree-lazy-user-del", "yes")
    env("SET", "k", "v")
    assert env.propagated("GETDEL", "k") == (b"v", [b("UNLINK", "k")])


def test_read_of_expired_key_propagates_only_the_del(env):
    env("SET", "k", "v", "PX", "5")
    env.node.set_time(NOW + 10)
    assert env.propagated("GETEX", "k", "PERSIST") == (None, [b("DEL", "k")])
    env("SET", "j", "v", "PX", "5")
    env.node.set_time(NOW + 20)
    assert env.propagated("SET", "j", "w", "XX") == (None, [b("DEL", "j")])
    env("SET", "f", "1", "PX", "5")
    env.node.set_time(NOW + 30)
    reply, sent = env.propagated("INCRBYFLOAT", "f", "abc")
    assert reply.message == "ERR value is not a valid float" and sent == [b("DEL", "f")]
    env("SET", "g", "1", "PX", "5")
    env.node.set_time(NOW + 40)
    reply, sent = env.propagated("SETRANGE", "g", 536870911, "xy")
    assert reply.message.startswith("ERR string exceeds") and sent == [b("DEL", "g")]


def test_writes_break_watch_and_count_dirty(env):
    env("SET", "k", "v")
    before = env.node.keyspace.dirty
    env("GETEX", "k", "EX", "10")
    env("GETEX", "k", "PERSIST")
    assert env.node.keyspace.dirty == before + 2
    env("GETEX", "k")
    env("SET", "k", "x", "NX")
    assert env.node.keyspace.dirty == before + 2


def test_keyspace_hits_and_misses(env):
    ks = env.node.keyspace
    env("SET", "k", "v")
    env("GET", "k")
    env("GET", "nope")
    env("MGET", "k", "nope")
    assert (ks.hits, ks.misses) == (2, 2)
    env("INCR", "n")                          # write lookups do not count
    assert (ks.hits, ks.misses) == (2, 2)


# -- a random walk against a model ---------------------------------------------------

def _model_getrange(s: bytes, start: int, end: int) -> bytes:
    n = len(s)
    if start < 0 and end < 0 and start > end:
        return b""
    start = n + start if start < 0 else start
    end = n + end if end < 0 else end
    start, end = max(start, 0), min(max(end, 0), n - 1)
    return s[start:end + 1] if n and start <= end else b""


_INTEGER = re.compile(rb"0|-?[1-9][0-9]*")


def _model_int(s: bytes | None) -> int | None:
    if s is None:
        return 0
    if not _INTEGER.fullmatch(s):
        return None
    value = int(s)
    return value if -2**63 <= value < 2**63 else None


_ops = st.one_of(
    st.tuples(st.just("APPEND"), st.binary(max_size=6)),
    st.tuples(st.just("SETRANGE"), st.integers(0, 24), st.binary(max_size=6)),
    st.tuples(st.just("GETRANGE"), st.integers(-30, 30), st.integers(-30, 30)),
    st.tuples(st.just("INCRBY"), st.one_of(st.integers(-1000, 1000),
                                          st.sampled_from([2**63 - 1, -2**63]))),
    st.tuples(st.just("SET"), st.sampled_from([b"7", b"-12", b"0", b"x", b"007", b""])),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_ops, max_size=25))
def test_random_string_ops_match_model(ops):
    env = Env()
    model: bytes | None = None
    for op in ops:
        name = op[0]
        if name == "APPEND":
            model = (model or b"") + op[1]
            assert env("APPEND", "k", op[1]) == len(model)
        elif name == "SETRANGE":
            offset, patch = op[1], op[2]
            if not patch:
                expected = len(model or b"")
            else:
                cur = model or b""
                cur = cur + b"\x00" * max(0, offset - len(cur))
                model = cur[:offset] + patch + cur[offset + len(patch):]
                expected = len(model)
            assert env("SETRANGE", "k", offset, patch) == expected
        elif name == "GETRANGE":
            expected = _model_getrange(model or b"", op[1], op[2])
            assert env("GETRANGE", "k", op[1], op[2]) == expected
        elif name == "INCRBY":
            current = _model_int(model)
            reply = env("INCRBY", "k", op[1])
            if current is None:
                assert reply.message == "ERR value is not an integer or out of range"
            elif not -2**63 <= current + op[1] < 2**63:
                assert reply.message == "ERR increment or decrement would overflow"
            else:
                model = b"%d" % (current + op[1])
                assert reply == current + op[1]
        else:
            model = op[1]
            assert env("SET", "k", op[1]) is OK
        assert env.db.peek(b"k") == model
