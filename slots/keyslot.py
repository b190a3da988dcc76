"""CRC16-XMODEM key hashing with Redis's hash-tag rule."""
import crcmod.predefined

CLUSTER_SLOTS = 16384
_SLOT_MASK = CLUSTER_SLOTS - 1

# crcmod's C extension; XMODEM = poly 0x1021, init 0, no reflection, xorout 0.
_crc16 = crcmod.predefined.mkPredefinedCrcFun("xmodem")


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
    return _crc16(key) & _SLOT_MASK
