"""DUMP payloads: CRC-64, LZF, RDB encodings, round trips, and corrupt input."""
from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.encoding import dump as D
from cluster.base.crc64 import crc64, crc64_py
from cluster.base.lzf import decompress
from cluster.resp.reply import ReplyError

# Payloads captured from a real redis-server 7.0.15 (DUMP after SET / RPUSH).
REAL = {
    b"a": b"\x00\x01a\n\x00\xbf\xfe\xef\x9b\x8f6}\xb4",
    b"1": b"\x00\xc0\x01\n\x00&x\xe7\xb6\xd1\x01\x11\xfc",
    b"-1": b"\x00\xc0\xff\n\x00\x0c\x93~$\x85\x08\x9d\xc5",
    b"128": b"\x00\xc1\x80\x00\n\x00\xebz\xb3\xb5\x10\xcfKe",
    b"32768": b"\x00\xc2\x00\x80\x00\x00\n\x00E\xd8.\xed\xd5\xbd\xa9\x10",
    b"2147483648": b"\x00\n2147483648\n\x00\xe7\xb1)\xa3L\x1dv\xee",
    b"012": b"\x00\x03012\n\x00\x8fTc\xe9T~\xeb\x0c",
    b"hello": b"\x00\x05hello\n\x00cr\xdfve4 \n",
}
REAL_LZF = (b"a" * 44, b"\x00\xc3\t,\x01aa\xe0\x1f\x00\x01aa\n\x00\x98\x11\xf4\xb6\xaaSv\xff")
REAL_LIST = ([b"a", b"1", b"-5", b"100000", b"hello", b"", b"5000000000"],
             b"\x12\x01\x02''\x00\x00\x00\x07\x00\x81a\x02\x01\x01\xdf\xfb\x02\xf2\xa0\x86\x01"
             b"\x04\x85hello\x06\x80\x01\xf4\x00\xf2\x05*\x01\x00\x00\x00\t\xff\n\x00\x86\xb5"
             b"\xa2\x93\x01\xfa\x08\xe8")
REAL_LIST_LZF = ([b"x" * 100] * 3,
                 b"\x12\x01\x02\xc3\x15A<\x08<\x01\x00\x00\x03\x00\xe0dx\xe0Z\x00\x00f\xe0\xc4f"
                 b"\x01f\xff\n\x00\xdf\xe2\x1e\xa2q4\x9bJ")


def wrap(body: bytes, version: int = 10) -> bytes:
    body += version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def lzf_compress_naive(data: bytes) -> bytes:
    """A simple (not liblzf-identical) LZF compressor to feed the decompressor."""
    out = bytearray()
    lit = bytearray()
    i = 0

    def flush():
        while lit:
            chunk = lit[:32]
            out.append(len(chunk) - 1)
            out.extend(chunk)
            del lit[:32]
    while i < len(data):
        best_len = best_off = 0
        for off in range(1, min(i, 8191) + 1):
            n = 0
            while i + n < len(data) and n < 264 and data[i + n - off] == data[i + n]:
                n += 1
            if n > best_len:
                best_len, best_off = n, off
        if best_len >= 3:
            flush()
            length, dist = best_len - 2, best_off - 1
            if length < 7:
                out.append((length << 5) | (dist >> 8))
            else:
                out.append((7 << 5) | (dist >> 8))
                out.append(length - 7)
            out.append(dist & 0xFF)
            i += best_len
        else:
            lit.append(data[i])
            i += 1
    flush()
    return bytes(out)


def test_crc64_check_value():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64_py(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64(b"") == 0


@given(st.binary(max_size=300))
def test_crc64_pure_python_matches(data):
    assert crc64_py(data) == crc64(data)


def test_real_string_payloads():
    for value, payload in REAL.items():
        assert D.verify(payload)
        assert D.load(payload) == value
        assert D.dump(value) == payload      # byte for byte what Redis writes
    value, payload = REAL_LZF
    assert D.load(payload) == value
    assert D.load(D.dump(value)) == value


def test_real_list_payloads():
    items, payload = REAL_LIST
    assert list(D.load(payload)) == items
    assert D.dump(deque(items)) == payload
    items, payload = REAL_LIST_LZF
    assert list(D.load(payload)) == items


def test_lzf_decompress():
    assert decompress(b"\x01aa\xe0\x1f\x00\x01aa", 44) == b"a" * 44
    assert decompress(b"\x01aa\xe0\x1f\x00\x01aa", 43) is None       # too long
    assert decompress(b"\x01aa\xe0\x1f\x00\x01aa", 45) is None       # too short
    assert decompress(b"\x05ab", 6) is None                          # literal past the end
    assert decompress(b"\x20\x05", 10) is None                       # reference before start
    assert decompress(b"\xe0", 10) is None                           # truncated reference


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([b"ab", b"abc", b"x", b"\x00", b"abcabcabc"]),
                max_size=40).map(b"".join))
def test_lzf_round_trip(data):
    assert decompress(lzf_compress_naive(data), len(data)) == data


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=200),
                 st.integers(-2**63, 2**63 - 1).map(lambda n: b"%d" % n)))
def test_string_round_trip(value):
    assert D.load(D.dump(value)) == value


list_items = st.one_of(st.binary(max_size=80), st.integers(-2**63, 2**63 - 1).map(
    lambda n: b"%d" % n), st.sampled_from([b"0", b"-0", b"127", b"128", b"4095", b"-4096",
                                           b"4096", b"x" * 5000]))


@settings(max_examples=150, deadline=None)
@given(st.lists(list_items, min_size=1, max_size=60), st.sampled_from([-5, -2, -1, 1, 4]))
def test_list_round_trip(items, fill):
    assert list(D.load(D.dump(deque(items), fill))) == items


def test_list_nodes_cut_like_quicklist():
    items = [b"%d-abcdefghijklmnopq" % i for i in range(2000)]
    reader = D.Reader(D.dump(deque(items)))
    assert reader.byte() == D.TYPE_LIST_QUICKLIST_2
    sizes = []
    for _ in range(reader.plain_length()):
        assert reader.plain_length() == D.CONTAINER_PACKED
        sizes.append(len(D.parse_listpack(reader.string())))
    assert sizes[:3] == [360, 355, 352]    # what real Redis 7.0 produces for this RPUSH
    assert sum(sizes) == 2000


def _ziplist(items: list[bytes]) -> bytes:
    entries = []
    prev = 0
    for item in items:
        assert len(item) < 64
        entry = bytes((prev,)) + bytes((len(item),)) + item
        entries.append(entry)
        prev = len(entry)
    body = b"".join(entries)
    tail = 10 + len(body) - (len(entries[-1]) if entries else 0)
    total = 10 + len(body) + 1
    return (total.to_bytes(4, "little") + tail.to_bytes(4, "little")
            + len(items).to_bytes(2, "little") + body + b"\xff")


def test_older_list_encodings():
    items = [b"a", b"bb", b"ccc"]
    plain = bytes((D.TYPE_LIST, 3)) + b"".join(D.encode_string(i) for i in items)
    assert list(D.load(wrap(plain))) == items
    zl = _ziplist(items)
    assert list(D.load(wrap(bytes((D.TYPE_LIST_ZIPLIST,)) + D.encode_string(zl)))) == items
    ql = bytes((D.TYPE_LIST_QUICKLIST, 2)) + D.encode_string(zl) + D.encode_string(zl)
    assert list(D.load(wrap(ql))) == items * 2
    ints = bytes([0x0D, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x01, 0x00,
                  0x00, 0xF3, 0xFF])       # one immediate int entry: 2
    assert D.parse_ziplist(ints) == [b"2"]


def test_verify_rejects_version_and_checksum():
    payload = REAL[b"hello"]
    assert D.verify(wrap(payload[:-10], 9))
    assert not D.verify(wrap(payload[:-10], 11))
    assert not D.verify(payload[:-1] + bytes((payload[-1] ^ 1,)))
    assert not D.verify(b"\x00" * 9)


def test_bad_format():
    # Like Redis, the reader runs over the whole payload: a short string eats the footer.
    assert D.load(wrap(b"\x00\x05hel")) == b"hel\n\x00"
    for body in (b"\x05", b"\x06\x00", b"\x00\x20hel", b"\x12\x00", b"\x12\x01\x03\x01a",
                 b"\x01\x00", b"\x00\xc4", b"\x00\xc3\x05\x10abcde"):
        with pytest.raises(ReplyError) as err:
            D.load(wrap(body))
        assert err.value.message == "ERR Bad data format"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([REAL[b"hello"], REAL_LIST[1], REAL_LZF[1], REAL_LIST_LZF[1]]),
       st.integers(0, 60), st.integers(0, 255), st.booleans())
def test_corrupt_payloads_never_crash(payload, where, byte, truncate):
    body = bytearray(payload[:-10])
    where %= len(body)
    if truncate:
        del body[where:]
    else:
        body[where] = byte
    try:
        value = D.load(wrap(bytes(body)))
    except ReplyError as err:
        assert err.message == "ERR Bad data format"
    else:
        assert value.__class__ in (bytes, deque)
