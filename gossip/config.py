"""What the bus state machine is configured with, and its timing constants (Redis's)."""
from __future__ import annotations

import random

import attrs

CRON_PERIOD_MS = 100                 # clusterCron runs 10 times a second
BLACKLIST_TTL_MS = 60_000            # CLUSTER FORGET ban (CLUSTER_BLACKLIST_TTL)
FAIL_REPORT_VALIDITY_MULT = 2        # failure reports older than node_timeout*2 are void
FAIL_UNDO_TIME_MULT = 2              # a slot-owning primary's FAIL is cleared after this
WRITABLE_DELAY_MS = 2000             # a primary stays "fail" this long after start
MIN_REJOIN_DELAY_MS = 500            # rejoin delay after a minority partition: clamp(
MAX_REJOIN_DELAY_MS = 5000           #   node_timeout, MIN, MAX)
MIN_HANDSHAKE_TIMEOUT_MS = 1000      # handshake timeout = max(node_timeout, this)
RANDOM_PING_EVERY_TICKS = 10         # one random ping a second
RANDOM_PING_SAMPLES = 5
PONG_TIME_TOLERANCE_MS = 500         # gossiped pong times may be this far in the future


@attrs.define
class ClusterConfig:
    port: int                          # client port
    cport: int                         # bus port (port + 10000 unless cluster-port)
    node_timeout: int = 15000          # ms
    require_full_coverage: bool = True
    announce_ip: str = ""
    announce_port: int = 0
    announce_bus_port: int = 0
    announce_hostname: str = ""
    replica_no_failover: bool = False
    allow_replica_migration: bool = True
    replica_validity_factor: int = 10  # cluster-replica-validity-factor (0: no limit)
    repl_ping_replica_period: int = 10  # seconds (repl-ping-replica-period)
    migration_barrier: int = 1         # cluster-migration-barrier
    blacklist_ttl: int = BLACKLIST_TTL_MS


def ping_interval(node_timeout: int) -> int:
    """A node whose last PONG is this old gets a PING (Redis: node_timeout/2). Ours is
    shorter so a ping is in flight soon after a death (gossip/failover.py docstring)."""
    return min(node_timeout // 2, max(100, node_timeout // 10))


def new_node_id(rng: random.Random) -> str:
    return "%040x" % rng.getrandbits(160)
