"""The data: numbered databases, expiry, the value types, snapshots, keyspace notifications."""
