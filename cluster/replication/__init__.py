"""Replication: the propagation point, the primary side, the replica side (sans-I/O state and the trio link), WAIT."""
