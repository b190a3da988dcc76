"""Every piece of persistence state a node carries (`node.persist`), declared once.

Redis keeps these in `struct redisServer` (server.aof_*, server.rdb_*, server.dirty,
server.lastsave, server.loading, server.shutdown_*); here they are one object the node
builds, written only by cluster.persistence and read by INFO, LASTSAVE, SAVE / BGSAVE.
"""
from __future__ import annotations

import trio


class PersistState:
    def __init__(self, start_s: int):
        # -- the append-only file (cluster.persistence.aof) -------------------------------
        self.aof = None                  # the live Aof while appendonly is on, else None
        self.aof_offline = None          # BGREWRITEAOF with appendonly no: its base-only Aof
        self.aof_rewrite_in_progress = False   # a Rewrite runs: a "child", BGSAVE waits
        self.aof_rewrites = 0            # INFO aof_rewrites: done, node-wide across on / off
        self.aof_rewrite_failures = 0    # INFO aof_rewrites_consecutive_failures
        self.aof_last_rewrite_status = "ok"    # INFO aof_last_bgrewrite_status: ok / err
        self.aof_last_rewrite_time_sec = -1    # INFO aof_last_rewrite_time_sec (-1: none)
        # -- RDB saves (cluster.persistence.rdb_file) -------------------------------------
        self.bgsave_in_progress = None   # the running BgSave: a "child", rewrites wait
        self.bgsave_jobs: list = []      # BgSaves started, for the runner task to write
        self.bgsave_wake = trio.Event()  # set: the runner task looks at once, not next tick
        self.bgsave_scheduled = False    # BGSAVE SCHEDULE: start one once no child runs
        self.rdb_saves = 0               # INFO rdb_saves: SAVE / BGSAVE / final saves begun
        self.rdb_last_bgsave_time_sec = -1     # INFO: the last BGSAVE's duration
        self.last_bgsave_status = "ok"   # "err" after a failed BGSAVE: save points wait
        self.last_bgsave_try_s = 0       # the last BGSAVE's start (unix s): retry delay
        self.dirty_at_last_save = 0      # keyspace.dirty at the last good save's start
        self.last_save_s = start_s       # LASTSAVE: the last good save (unix s), or start
        # -- loading (cluster.persistence.loading) ----------------------------------------
        self.loading = None              # loading.Progress while loading: -LOADING, INFO
        self.rdb_last_load_keys_loaded = 0     # INFO: keys the last load put in place
        self.rdb_last_load_keys_expired = 0    # INFO: keys the last load found expired
        # -- shutdown (cluster.persistence.shutdown): SHUTDOWN's flags, the signals -------
        self.shutdown_asap = False       # a signal asked to stop: a 2nd SIGINT exits now
        self.shutdown_save = None        # SAVE: True, NOSAVE: False, None: as `save` says
        self.shutdown_force = False      # FORCE: exit even when the final save fails
        self.shutdown_now = False        # NOW: recorded; lagging replicas are never awaited
