"""gossip/codec.py: bus frames (length + msgpack map + optional HMAC tag)."""
import hashlib
import hmac

import msgpack
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from gossip.codec import (DEFAULT_MAX_FRAME, MAX_GOSSIP, BadFrame, FrameDecoder,
                          FrameTooLarge, _to_map, decode_payload, encode, validate)
from gossip.messages import GossipEntry, Header, Message, MsgType, MFLAG_FORCEACK
from gossip.records import Flag, SlotBitmap

HEX = "0123456789abcdef"
SECRET = b"cluster-bus-secret"

ids = st.text(alphabet=HEX, min_size=40, max_size=40)
u64 = st.integers(0, 2**64 - 1)
ports = st.integers(0, 65535)
ips = st.one_of(st.just(""), st.just("127.0.0.1"), st.ip_addresses().map(str))
hostnames = st.from_regex(r"[A-Za-z0-9.\-]{0,30}", fullmatch=True)


@st.composite
def bitmaps(draw):
    if draw(st.booleans()):
        return draw(st.binary(min_size=2048, max_size=2048))
    bm = SlotBitmap()
    for slot in draw(st.sets(st.integers(0, 16383), max_size=40)):
        bm.add(slot)
    return bytes(bm)


headers = st.builds(
    Header, sender=ids, current_epoch=u64, config_epoch=u64,
    flags=st.integers(0, 2**32 - 1), primary_id=st.one_of(st.none(), ids), slots=bitmaps(),
    repl_offset=u64, myip=ips, port=ports, cport=ports, state_ok=st.booleans(),
    mflags=st.integers(0, 2**32 - 1), shard_id=st.one_of(st.just(""), ids),
    hostname=hostnames)

gossip_entries = st.builds(GossipEntry, id=ids, ping_sent=u64, pong_received=u64, ip=ips,
                           port=ports, cport=ports, flags=st.integers(0, 2**32 - 1))


@st.composite
def messages(draw):
    mtype = draw(st.sampled_from(list(MsgType)))
    header = draw(headers)
    if mtype in (MsgType.PING, MsgType.PONG, MsgType.MEET):
        return Message(mtype, header, gossip=tuple(draw(st.lists(gossip_entries, max_size=5))))
    if mtype is MsgType.FAIL:
        return Message(mtype, header, node_id=draw(ids))
    if mtype is MsgType.UPDATE:
        return Message(mtype, header, node_id=draw(ids), config_epoch=draw(u64),
                       slots=draw(bitmaps()))
    if mtype in (MsgType.PUBLISH, MsgType.PUBLISHSHARD):
        return Message(mtype, header, channel=draw(st.binary(max_size=40)),
                       payload=draw(st.binary(max_size=200)))
    return Message(mtype, header)


def sample_header(**kw):
    base = dict(sender="a" * 40, current_epoch=5, config_epoch=3, flags=int(Flag.MASTER),
                primary_id=None, slots=bytes(2048), repl_offset=0, myip="127.0.0.1",
                port=7001, cport=17001, state_ok=True)
    base.update(kw)
    return Header(**base)


def sample_ping(**kw):
    entry = GossipEntry("b" * 40, 0, 1_700_000_000_000, "127.0.0.1", 7002, 17002,
                        int(Flag.MASTER | Flag.PFAIL))
    return Message(MsgType.PING, sample_header(**kw), gossip=(entry,))


def check_output(items):
    """Everything the decoder yields is a BadFrame or a Message that validates."""
    for item in items:
        assert isinstance(item, (Message, BadFrame))
        if isinstance(item, Message):
            validate(item)
            assert isinstance(encode(item), bytes)
        else:
            assert isinstance(item.reason, str) and item.reason


def raw_frame(mapping, secret=None):
    body = msgpack.packb(mapping, use_bin_type=True)
    if secret:
        body += hmac.new(secret, body, hashlib.sha256).digest()
    return len(body).to_bytes(4, "big") + body


def decode_one(frame, secret=None, max_frame=DEFAULT_MAX_FRAME):
    out = FrameDecoder(max_frame=max_frame, secret=secret).feed(frame)
    assert len(out) == 1
    return out[0]


# -- round trips -------------------------------------------------------------------------

@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.booleans())
def test_round_trip(msg, with_secret):
    secret = SECRET if with_secret else None
    frame = encode(msg, secret)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert decode_one(frame, secret) == msg


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages(), min_size=1, max_size=4), st.data())
def test_stream_split_anywhere(msgs, data):
    stream = b"".join(encode(m, SECRET) for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    dec = FrameDecoder(secret=SECRET)
    out, prev = [], 0
    for cut in cuts + [len(stream)]:
        out += dec.feed(stream[prev:cut])
        prev = cut
    assert out == msgs
    assert dec.buffered == 0 and not dec.broken


def test_frame_layout():
    msg = sample_ping()
    frame = encode(msg)
    body = msgpack.unpackb(frame[4:], raw=False)
    assert body["v"] == 1 and body["t"] == "ping" and body["s"] == "a" * 40
    assert body["g"] == [["b" * 40, 0, 1_700_000_000_000, "127.0.0.1", 7002, 17002,
                          int(Flag.MASTER | Flag.PFAIL)]]
    tagged = encode(msg, SECRET)
    assert tagged[4:-32] == frame[4:]
    assert tagged[-32:] == hmac.new(SECRET, frame[4:], hashlib.sha256).digest()


def test_every_type_carries_only_its_fields():
    h = sample_header()
    cases = {
        MsgType.FAIL: Message(MsgType.FAIL, h, node_id="c" * 40),
        MsgType.UPDATE: Message(MsgType.UPDATE, h, node_id="c" * 40, config_epoch=9,
                                slots=bytes(2048)),
        MsgType.PUBLISH: Message(MsgType.PUBLISH, h, channel=b"ch", payload=b"x"),
        MsgType.AUTH_REQUEST: Message(MsgType.AUTH_REQUEST, h.__class__(
            **{**_header_dict(h), "mflags": MFLAG_FORCEACK})),
        MsgType.MFSTART: Message(MsgType.MFSTART, h),
    }
    for msg in cases.values():
        assert decode_one(encode(msg)) == msg
    with pytest.raises(ValueError):
        encode(Message(MsgType.PING, h, node_id="c" * 40))
    with pytest.raises(ValueError):
        encode(Message(MsgType.FAIL, h))                    # FAIL needs node_id
    with pytest.raises(ValueError):
        encode(Message(MsgType.UPDATE, h, node_id="c" * 40, slots=bytes(10)))


def _header_dict(h):
    return {f: getattr(h, f) for f in ("sender", "current_epoch", "config_epoch", "flags",
                                        "primary_id", "slots", "repl_offset", "myip", "port",
                                        "cport", "state_ok", "mflags", "shard_id", "hostname")}


# -- encode refuses invalid messages ----------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("sender", "A" * 40), ("sender", "a" * 39), ("primary_id", "xyz"),
    ("current_epoch", -1), ("config_epoch", 2**64), ("repl_offset", 1.5),
    ("port", 65536), ("cport", -1), ("slots", bytes(2047)), ("slots", bytearray(2048)),
    ("myip", "not-an-ip"), ("myip", "1" * 60), ("hostname", "has space"),
    ("hostname", "a" * 256), ("shard_id", "abc"), ("state_ok", 1), ("flags", -1),
])
def test_encode_rejects_bad_header_fields(field, value):
    with pytest.raises(ValueError):
        encode(sample_ping(**{field: value}))


def test_encode_max_frame():
    msg = Message(MsgType.PUBLISH, sample_header(), channel=b"c", payload=b"x" * 5000)
    assert len(encode(msg, max_frame=8000)) > 7000
    with pytest.raises(FrameTooLarge):
        encode(msg, max_frame=7000)


# -- strict decoding of hand-made bodies ------------------------------------------------

def good_map():
    return _to_map(sample_ping())


def mutated(**changes):
    m = good_map()
    for key, value in changes.items():
        if value is KeyError:
            del m[key]
        else:
            m[key] = value
    return m


@pytest.mark.parametrize("mapping,why", [
    (mutated(v=2), "unsupported version"),
    (mutated(v=True), "unsupported version"),
    (mutated(v=KeyError), "missing version"),
    (mutated(t="bogus"), "unknown message type"),
    (mutated(t=1), "unknown message type"),
    (mutated(s="g" * 40), "bad sender"),
    (mutated(s=b"a" * 40), "bad sender"),
    (mutated(sl=bytes(2049)), "bad slots"),
    (mutated(sl="x" * 2048), "bad slots"),
    (mutated(po=70000), "bad port"),
    (mutated(cp=-5), "bad cport"),
    (mutated(ce=-1), "bad current_epoch"),
    (mutated(fe=1.0), "bad config_epoch"),
    (mutated(ro=None), "bad repl_offset"),
    (mutated(ok=0), "bad state_ok"),
    (mutated(f="master"), "bad flags"),
    (mutated(f=2**32), "bad flags"),
    (mutated(p="-"), "bad primary_id"),
    (mutated(ip="999.1.1.1"), "bad myip"),
    (mutated(hn="a,b"), "bad hostname"),
    (mutated(sh="0" * 39), "bad shard_id"),
    (mutated(g=KeyError), "missing"),
    (mutated(n="a" * 40), "unexpected"),
    (mutated(extra=1), "unexpected"),
    (mutated(g={"a": 1}), "bad gossip section"),
    (mutated(g=[[1, 2, 3]]), "bad gossip entry"),
    (mutated(g=[["b" * 40, 0, 0, "127.0.0.1", 1, 2, -1]]), "bad gossip flags"),
    (mutated(g=[["b" * 40, 0, 0, "127.0.0.1", 1, 2, 0]] * (MAX_GOSSIP + 1)),
     "bad gossip section"),
    (mutated(t="fail", g=KeyError, n="zz"), "bad node_id"),
    (mutated(t="update", g=KeyError, n="c" * 40, e=1, us=bytes(5)), "bad update slots"),
    (mutated(t="publish", g=KeyError, ch="text", pl=b""), "bad channel"),
    ([1, 2, 3], "not a map"),
    ({1: 2}, "map key is not a string"),
])
def test_decoder_rejects_bad_fields(mapping, why):
    item = decode_one(raw_frame(mapping))
    assert isinstance(item, BadFrame)
    assert why in item.reason


def test_duplicate_keys_rejected():
    good = good_map()
    packer = msgpack.Packer(use_bin_type=True)
    body = packer.pack_map_header(len(good) + 1)
    for key, value in good.items():
        body += packer.pack(key) + packer.pack(value)
    body += packer.pack("s") + packer.pack("c" * 40)
    item = decode_one(len(body).to_bytes(4, "big") + body)
    assert isinstance(item, BadFrame) and "duplicate key" in item.reason


def test_trailing_bytes_and_garbage():
    frame = raw_frame(good_map())
    body = frame[4:] + b"\x00"
    assert isinstance(decode_one(len(body).to_bytes(4, "big") + body), BadFrame)
    assert isinstance(decode_one(b"\x00\x00\x00\x00"), BadFrame)           # empty payload
    assert isinstance(decode_one(b"\x00\x00\x00\x02\xc1\xc1"), BadFrame)   # reserved byte
    bad_utf8 = b"\x81\xa1v\xa2\xff\xfe"
    assert isinstance(decode_one(len(bad_utf8).to_bytes(4, "big") + bad_utf8), BadFrame)


def test_bad_frame_does_not_stop_the_stream():
    good = encode(sample_ping())
    bad = raw_frame(mutated(v=9))
    out = FrameDecoder().feed(bad + good + bad + good)
    assert [type(x) for x in out] == [BadFrame, Message, BadFrame, Message]


# -- the authentication tag ----------------------------------------------------------

def test_tag_required_and_checked():
    msg = sample_ping()
    tagged, plain = encode(msg, SECRET), encode(msg)
    assert decode_one(tagged, SECRET) == msg
    item = decode_one(plain, SECRET)                       # no tag at all
    assert isinstance(item, BadFrame)
    assert item.reason in ("bad authentication tag", "frame too short for its authentication tag")
    assert decode_one(encode(msg, b"other secret"), SECRET) == BadFrame("bad authentication tag")
    flipped = bytearray(tagged)
    flipped[20] ^= 1                                       # a body byte
    assert decode_one(bytes(flipped), SECRET) == BadFrame("bad authentication tag")
    flipped = bytearray(tagged)
    flipped[-1] ^= 0x80                                    # a tag byte
    assert decode_one(bytes(flipped), SECRET) == BadFrame("bad authentication tag")
    # a tagged frame read without a secret is trailing garbage, not a message
    assert isinstance(decode_one(tagged), BadFrame)
    assert decode_one(b"\x00\x00\x00\x05hello", SECRET) == BadFrame(
        "frame too short for its authentication tag")


def test_tag_uses_constant_time_compare(monkeypatch):
    import gossip.codec as codec
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(codec.hmac, "compare_digest", spy)
    assert decode_one(encode(sample_ping(), SECRET), SECRET) == sample_ping()
    assert len(calls) == 1


# -- sizes -----------------------------------------------------------------------------

def test_oversize_length_breaks_the_stream():
    dec = FrameDecoder(max_frame=1000)
    good = encode(sample_ping(slots=bytes(2048)))
    assert len(good) - 4 > 1000
    out = dec.feed(encode(Message(MsgType.MFSTART, sample_header()))[:4])
    assert out and isinstance(out[0], BadFrame) and "exceeds the maximum" in out[0].reason
    assert dec.broken
    assert dec.feed(good) == [] and dec.buffered == 0


def test_frame_of_exactly_max_size_is_accepted():
    frame = encode(sample_ping())
    n = len(frame) - 4
    assert decode_one(frame, max_frame=n) == sample_ping()
    dec = FrameDecoder(max_frame=n - 1)
    assert isinstance(dec.feed(frame)[0], BadFrame) and dec.broken


def test_oversize_detected_from_prefix_alone():
    dec = FrameDecoder()
    out = dec.feed((DEFAULT_MAX_FRAME + 1).to_bytes(4, "big"))
    assert len(out) == 1 and isinstance(out[0], BadFrame) and dec.broken


def test_messages_before_an_oversize_frame_are_kept():
    dec = FrameDecoder(max_frame=100_000)
    out = dec.feed(encode(sample_ping()) + (200_000).to_bytes(4, "big") + b"xx")
    assert isinstance(out[0], Message) and isinstance(out[1], BadFrame) and dec.broken


# -- fuzzing ---------------------------------------------------------------------------

@settings(max_examples=300)
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_never_raise(data, with_secret):
    dec = FrameDecoder(max_frame=4096, secret=SECRET if with_secret else None)
    check_output(dec.feed(data))
    check_output(dec.feed(data))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.booleans(), st.data())
def test_mutated_frames_never_raise(msg, with_secret, data):
    secret = SECRET if with_secret else None
    frame = bytearray(encode(msg, secret))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        if not frame:
            break
        i = data.draw(st.integers(0, len(frame) - 1))
        if op == "flip":
            frame[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set":
            frame[i] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del frame[i:]
        elif op == "insert":
            frame[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del frame[i:i + data.draw(st.integers(1, 8))]
    dec = FrameDecoder(secret=secret)
    out = dec.feed(bytes(frame)) + dec.feed(encode(msg, secret))
    check_output(out)
    if secret:
        # with a tag, a changed body is never accepted as some other message
        assert all(m == msg for m in out if isinstance(m, Message))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.data())
def test_mutated_body_values_never_yield_invalid_messages(msg, data):
    """Replace one value of the body map with an arbitrary msgpack value."""
    m = _to_map(msg)
    key = data.draw(st.sampled_from(sorted(m)))
    values = st.recursive(
        st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats()
        | st.text(max_size=50) | st.binary(max_size=50),
        lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=5), inner,
                                                                    max_size=4),
        max_leaves=20)
    m[key] = data.draw(values)
    item = decode_payload(msgpack.packb(m, use_bin_type=True))
    check_output([item])


def test_intflag_values_and_list_gossip_are_accepted():
    entry = GossipEntry("b" * 40, 1, 2, "10.0.0.2", 7002, 17002, Flag.SLAVE | Flag.PFAIL)
    msg = Message(MsgType.PONG, sample_header(flags=Flag.MASTER), gossip=[entry])
    out = decode_one(encode(msg))
    assert out.header.flags == int(Flag.MASTER) and type(out.header.flags) is int
    assert out.gossip == (GossipEntry("b" * 40, 1, 2, "10.0.0.2", 7002, 17002,
                                      int(Flag.SLAVE | Flag.PFAIL)),)
    with pytest.raises(ValueError):
        encode(Message(MsgType.PONG, sample_header(flags="2")))
    with pytest.raises(ValueError):
        encode(Message(MsgType.MFSTART, sample_header(), gossip=[entry]))
