"""What one node knows about one node of the cluster (clusterNode in Redis)."""
from __future__ import annotations

import enum

import attrs

from slots import CLUSTER_SLOTS

SLOT_BYTES = CLUSTER_SLOTS // 8


class Flag(enum.IntFlag):
    """Node flags. Bit values are ours (the bus is not wire-compatible with Redis)."""
    MYSELF = 1
    MASTER = 2
    SLAVE = 4
    PFAIL = 8
    FAIL = 16
    HANDSHAKE = 32
    NOADDR = 64
    MEET = 128          # send MEET, not PING, when the link comes up
    MIGRATE_TO = 256    # it had replicas once (replica migration target)
    NOFAILOVER = 512


# Printed names, in the fixed order CLUSTER NODES uses.
FLAG_NAMES = ((Flag.MYSELF, "myself"), (Flag.MASTER, "master"), (Flag.SLAVE, "slave"),
              (Flag.PFAIL, "fail?"), (Flag.FAIL, "fail"), (Flag.HANDSHAKE, "handshake"),
              (Flag.NOADDR, "noaddr"), (Flag.NOFAILOVER, "nofailover"))


def format_flags(flags: Flag) -> str:
    names = [name for bit, name in FLAG_NAMES if flags & bit]
    return ",".join(names) if names else "noflags"


def parse_flags(text: str) -> Flag:
    """Inverse of format_flags; raises ValueError on an unknown name."""
    by_name = {name: bit for bit, name in FLAG_NAMES}
    flags = Flag(0)
    if text == "noflags":
        return flags
    for name in text.split(","):
        if name not in by_name:
            raise ValueError(f"unknown node flag '{name}'")
        flags |= by_name[name]
    return flags


class SlotBitmap:
    """16384 bits; `bytes()` gives the 2048-byte wire form.

    `runs()` (the maximal ranges of set bits) is cached until the next add/discard/clear,
    so CLUSTER NODES / SLOTS and nodes.conf do not walk the bits of an unchanged owner.
    Change the bits only through these methods (`bits` is read-only outside)."""

    __slots__ = ("bits", "count", "_runs")

    def __init__(self, raw: bytes | None = None):
        self.bits = bytearray(raw) if raw is not None else bytearray(SLOT_BYTES)
        if len(self.bits) != SLOT_BYTES:
            raise ValueError("slot bitmap must be 2048 bytes")
        self.count = sum(bin(b).count("1") for b in self.bits) if raw is not None else 0
        self._runs: tuple[tuple[int, int], ...] | None = None

    def __contains__(self, slot: int) -> bool:
        return bool(self.bits[slot >> 3] & (1 << (slot & 7)))

    def add(self, slot: int) -> bool:
        byte, bit = slot >> 3, 1 << (slot & 7)
        if self.bits[byte] & bit:
            return False
        self.bits[byte] |= bit
        self.count += 1
        self._runs = None
        return True

    def discard(self, slot: int) -> bool:
        byte, bit = slot >> 3, 1 << (slot & 7)
        if not self.bits[byte] & bit:
            return False
        self.bits[byte] &= ~bit & 0xFF
        self.count -= 1
        self._runs = None
        return True

    def clear(self) -> None:
        self.bits = bytearray(SLOT_BYTES)
        self.count = 0
        self._runs = None

    def runs(self) -> tuple[tuple[int, int], ...]:
        """The set slots as maximal (first, last) ranges in slot order (cached)."""
        runs = self._runs
        if runs is None:
            runs = self._runs = self._compute_runs()
        return runs

    def _compute_runs(self) -> tuple[tuple[int, int], ...]:
        out: list[tuple[int, int]] = []
        start = -1                      # first slot of the open run, -1 if none
        for byte_index, byte in enumerate(self.bits):
            base = byte_index << 3
            if byte == 0xFF:
                if start < 0:
                    start = base
                continue
            if byte == 0:
                if start >= 0:
                    out.append((start, base - 1))
                    start = -1
                continue
            for bit in range(8):
                if byte & (1 << bit):
                    if start < 0:
                        start = base + bit
                elif start >= 0:
                    out.append((start, base + bit - 1))
                    start = -1
        if start >= 0:
            out.append((start, CLUSTER_SLOTS - 1))
        return tuple(out)

    def __iter__(self):
        bits = self.bits
        for byte_index, byte in enumerate(bits):
            if byte:
                for bit in range(8):
                    if byte & (1 << bit):
                        yield byte_index * 8 + bit

    def __len__(self) -> int:
        return self.count

    def __bytes__(self) -> bytes:
        return bytes(self.bits)


@attrs.define(eq=False)
class NodeRecord:
    """One entry of the node table. Times are unix ms (the state machine's `now`)."""
    id: str                          # 40 lowercase hex
    ip: str = ""
    port: int = 0                    # client port
    cport: int = 0                   # bus port
    hostname: str = ""
    flags: Flag = Flag(0)
    primary_id: str | None = None    # for replicas
    ping_sent: int = 0               # when the pending PING was sent, 0 if none
    pong_received: int = 0           # last PONG
    data_received: int = 0           # last bus data of any kind (liveness)
    config_epoch: int = 0
    repl_offset: int = 0
    slots: SlotBitmap = attrs.field(factory=SlotBitmap)
    fail_reports: dict[str, int] = attrs.field(factory=dict)   # reporter id -> time
    fail_time: int = 0
    created: int = 0                 # for the handshake timeout
    link: int | None = None          # outbound link id (the state machine's), or None
    link_up: bool = False            # that link is connected
    link_created: int = 0
    shard_id: str = ""
    voted_time: int = 0              # (failover) when we last voted for one of its replicas
    orphaned_time: int = 0

    @property
    def is_primary(self) -> bool:
        return bool(self.flags & Flag.MASTER)

    @property
    def is_replica(self) -> bool:
        return bool(self.flags & Flag.SLAVE)

    @property
    def failing(self) -> bool:
        return bool(self.flags & (Flag.PFAIL | Flag.FAIL))

    def has_flag(self, flag: Flag) -> bool:
        return bool(self.flags & flag)
