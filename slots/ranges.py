"""A set of hash slots that prints and parses as Redis's `0-5460 5462` ranges."""
from __future__ import annotations

from typing import Iterable, Iterator

from slots.keyslot import CLUSTER_SLOTS


class SlotRanges:
    """An immutable-by-convention set of slots with range conversions."""

    __slots__ = ("_slots",)

    def __init__(self, slots: Iterable[int] = ()):
        s = frozenset(slots)
        for slot in s:
            if not 0 <= slot < CLUSTER_SLOTS:
                raise ValueError(f"slot out of range: {slot}")
        self._slots = s

    @classmethod
    def from_ranges(cls, ranges: Iterable[tuple[int, int]]) -> "SlotRanges":
        slots: set[int] = set()
        for start, end in ranges:
            if start > end:
                raise ValueError(f"start slot {start} is greater than end slot {end}")
            slots.update(range(start, end + 1))
        return cls(slots)

    @classmethod
    def parse(cls, text: str) -> "SlotRanges":
        """Parse `0-5460 5462 7000-7001` (space or comma separated)."""
        ranges = []
        for part in text.replace(",", " ").split():
            if "-" in part:
                a, b = part.split("-", 1)
                ranges.append((int(a), int(b)))
            else:
                ranges.append((int(part), int(part)))
        return cls.from_ranges(ranges)

    def ranges(self) -> list[tuple[int, int]]:
        """Maximal runs of consecutive slots, in ascending order."""
        out: list[tuple[int, int]] = []
        for slot in sorted(self._slots):
            if out and out[-1][1] == slot - 1:
                out[-1] = (out[-1][0], slot)
            else:
                out.append((slot, slot))
        return out

    def format(self) -> str:
        return " ".join(f"{a}-{b}" if a != b else str(a) for a, b in self.ranges())

    def __contains__(self, slot: object) -> bool:
        return slot in self._slots

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._slots))

    def __len__(self) -> int:
        return len(self._slots)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlotRanges) and other._slots == self._slots

    def __hash__(self) -> int:
        return hash(self._slots)

    def __or__(self, other: "SlotRanges") -> "SlotRanges":
        return SlotRanges(self._slots | other._slots)

    def __sub__(self, other: "SlotRanges") -> "SlotRanges":
        return SlotRanges(self._slots - other._slots)

    def __repr__(self) -> str:
        return f"SlotRanges({self.format()!r})"
