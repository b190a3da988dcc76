"""Pure slot arithmetic: key -> hash slot, hash tags, slot ranges."""
from slots.keyslot import CLUSTER_SLOTS, hash_tag, keyslot
from slots.ranges import SlotRanges

__all__ = ["CLUSTER_SLOTS", "hash_tag", "keyslot", "SlotRanges"]
