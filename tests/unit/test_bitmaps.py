"""Bitmap commands on a Node in-process: SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP/BITFIELD."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from cluster.commands import registry  # noqa: F401
from cluster.commands.bitfield import read_field, write_field
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import ReplyError


@pytest.fixture
def run():
    node = Node(Config(), clock=lambda: 1_700_000_000.0)
    client = node.new_client("127.0.0.1:5000", "127.0.0.1:6379")
    return lambda *argv: execute(client, [a if isinstance(a, bytes) else str(a).encode()
                                          for a in argv])


def test_setbit_keeps_ttl_and_grows(run):
    run("SET", "k", "a")
    run("PEXPIRE", "k", 100000)
    assert run("SETBIT", "k", 15, 1) == 0
    assert run("GET", "k") == b"a\x01"
    assert run("PTTL", "k") > 0
    assert run("SETBIT", "k", 2 ** 32, 1).message == \
        "ERR bit offset is not an integer or out of range"


def test_bitcount_bitpos_ranges(run):
    run("SET", "k", b"\x00\xf0\x0f")
    assert run("BITCOUNT", "k") == 8
    assert run("BITCOUNT", "k", 1, 1) == 4
    assert run("BITCOUNT", "k", 10, 20, "BIT") == 3
    assert run("BITPOS", "k", 1) == 8
    assert run("BITPOS", "k", 1, 14, -1, "BIT") == 20
    assert run("BITPOS", "k", 0, 1, 1) == 12
    assert run("BITPOS", "k", 3).message == "ERR The bit argument must be 1 or 0."


def test_bitop_and_not(run):
    run("SET", "a", b"\xff\x0f")
    run("SET", "b", b"\x0f")
    assert run("BITOP", "AND", "d", "a", "b") == 2
    assert run("GET", "d") == b"\x0f\x00"
    assert run("BITOP", "NOT", "d", "a") == 2
    assert run("GET", "d") == b"\x00\xf0"
    assert run("BITOP", "AND", "d", "none") == 0
    assert run("EXISTS", "d") == 0


def test_bitfield_overflow_modes(run):
    assert run("BITFIELD", "k", "SET", "u8", 0, 250, "INCRBY", "u8", 0, 10) == [0, 4]
    assert run("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", 0, 1000) == [255]
    assert run("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 1) == [None]
    assert run("BITFIELD", "k", "GET", "i8", 0) == [-1]
    err = run("BITFIELD", "k", "GET", "u64", 0)
    assert isinstance(err, ReplyError) and "u64 is not supported" in err.message
    assert run("BITFIELD_RO", "k", "SET", "u8", 0, 1).message == \
        "ERR BITFIELD_RO only supports the GET subcommand"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=12), st.integers(0, 100), st.integers(1, 64), st.data())
def test_fields_match_a_bit_string_model(data, offset, bits, draw):
    signed = draw.draw(st.booleans())
    buf = bytearray(data.ljust((offset + bits + 7) // 8, b"\0"))
    model = "".join(f"{b:08b}" for b in buf)
    want = int(model[offset:offset + bits], 2)
    if signed and want >> (bits - 1):
        want -= 1 << bits
    assert read_field(buf, offset, bits, signed) == want
    new = draw.draw(st.integers(0, (1 << bits) - 1))
    write_field(buf, offset, bits, new)
    after = "".join(f"{b:08b}" for b in buf)
    assert after[offset:offset + bits] == f"{new:0{bits}b}"
    assert after[:offset] == model[:offset] and after[offset + bits:] == model[offset + bits:]
