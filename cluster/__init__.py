"""One pyredis-cluster node: RESP, the command table, the keyspace, the trio server."""
__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"
