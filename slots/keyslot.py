"""CRC16-XMODEM key hashing with Redis's hash-tag rule."""
from binascii import crc_hqx

CLUSTER_SLOTS = 16384
_SLOT_MASK = CLUSTER_SLOTS - 1

# XMODEM (poly 0x1021, init 0, no reflection, xorout 0) is binascii's CRC-CCITT started
# at 0: a C builtin, about 3x cheaper per call than crcmod's Python-level wrapper around
# its C function (keyslot runs once per key of every command in cluster mode).


def hash_tag(key: bytes) -> bytes:
    """The part of `key` that is hashed: the first non-empty `{...}` tag, else the whole key."""
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return key[start + 1:end]
    return key


def keyslot(key: bytes) -> int:
    """Hash slot (0..16383) of `key`, exactly as Redis computes it."""
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc_hqx(key, 0) & _SLOT_MASK
