"""DEBUG's smaller subcommands, the ones Redis's own test suite calls (debug.c, 7.0.15).

`SUBCOMMANDS` maps a lower-case subcommand to (argc test, handler); DEBUG
(cluster.commands.server_debug) runs the handler when the test passes, else answers
Redis's "unknown subcommand or wrong number of arguments". What each does here:

    PROTOCOL <type>            Redis's test values, byte for byte in RESP2 and RESP3
    SET-ACTIVE-EXPIRE <0|1>    node.active_expire_enabled (cron's active expiry)
    PAUSE-CRON <0|1>           node.pause_cron (node.cron does nothing)
    SET-DISABLE-DENY-SCRIPTS   node.script_disable_deny_script (scripts may call noscript
                               commands)
    CHANGE-REPL-ID             a new replication id, replid2 cleared
    POPULATE <n> [pfx] [size]  Redis's key:<j> / value:<j> keys (not propagated)
    LOG <msg>, LEAK <s>        a log line; nothing
    STRUCTSIZE                 Redis's 64-bit sizes, as a real server prints them
    HTSTATS <db>, HTSTATS-KEY  dictGetStats-shaped text: the table size Redis's dict would
                               have for that many entries; chain figures are not modelled
    SDSLEN, LISTPACK, QUICKLIST  Redis's replies for the value's encoding (no C structures
                               to print)
    QUICKLIST-PACKED-THRESHOLD validated as Redis does (we have no quicklist nodes)
    SET-SKIP-CHECKSUM-VALIDATION, AOF-FLUSH-SLEEP, REPLYBUFFER ..., STRINGMATCH-TEST,
    CLIENT-EVICTION            accepted with Redis's replies (nothing to tune here)
    CONFIG-REWRITE-FORCE-ALL   CONFIG REWRITE writing every directive, default or not

Not here: SEGFAULT, PANIC, ASSERT, OOM, RESTART, CRASH-AND-RECOVER (crashes),
MALLCTL / MALLCTL-STR (jemalloc), REPLICATE, DROP-CLUSTER-PACKET-FILTER, CLUSTERLINK.
"""
from __future__ import annotations

from cluster.commands.args import NOT_INT
from cluster.commands.objects import encoding_of
from cluster.config.values import memtoull
from cluster.resp.reply import (FALSE, OK, TRUE, Attribute, BigNumber, Push, Replies,
                                ReplyError, SetReply, Status, Verbatim)

NO_KEY = "ERR no such key"
LLONG_MAX = 2**63 - 1
_PROTOCOL_TYPES = ("ERR Wrong protocol type name. Please use one of the following: "
                   "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                   "true|false")

HELP = [
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
]


def atoi(raw: bytes) -> int:
    """C's atoi: optional blanks and sign, then digits; 0 if none."""
    text = raw.lstrip(b" \t\n\r\f\v")
    sign = 1
    if text[:1] in (b"-", b"+"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    n = 0
    for ch in text:
        if not 48 <= ch <= 57:
            break
        n = n * 10 + ch - 48
    return sign * n


def _strict_ll(raw: bytes) -> int | None:
    """string2ll: the whole argument an integer in long long range."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not text or text != text.strip() or (text[0] == "+") or \
            (len(text) > 1 and text.lstrip("-").startswith("0")) or text == "-0":
        return None
    try:
        n = int(text)
    except ValueError:
        return None
    return n if -LLONG_MAX - 1 <= n <= LLONG_MAX else None


def _positive(raw: bytes) -> int:
    """getPositiveLongFromObjectOrReply."""
    n = _strict_ll(raw)
    if n is None or n < 0:
        raise ReplyError("ERR value is out of range, must be positive")
    return n


# -- PROTOCOL ---------------------------------------------------------------------------
def protocol(client, argv):
    name = argv[2].lower()
    resp3 = client.resp >= 3
    if name == b"string":
        return b"Hello World"
    if name == b"integer":
        return 12345
    if name == b"double":
        return 3.141
    if name == b"bignum":
        return BigNumber(b"1234567999999999999999999999999999999")
    if name == b"null":
        return None
    if name == b"array":
        return [0, 1, 2]
    if name == b"set":
        return SetReply([0, 1, 2])
    if name == b"map":
        return {0: FALSE, 1: TRUE, 2: FALSE}
    if name == b"attrib":
        real = b"Some real reply following the attribute"
        if not resp3:
            return real
        return Replies([Attribute({b"key-popularity": [b"key:123", 90]}), real])
    if name == b"push":
        if not resp3:
            raise ReplyError("ERR RESP2 is not supported by this command")
        return Replies([Push([b"server-cpu-usage", 42]),
                        b"Some real reply following the push reply"])
    if name == b"true":
        return TRUE
    if name == b"false":
        return FALSE
    if name == b"verbatim":
        return Verbatim(b"This is a verbatim\nstring")
    raise ReplyError(_PROTOCOL_TYPES)


# -- switches ---------------------------------------------------------------------------
def set_active_expire(client, argv):
    client.node.active_expire_enabled = bool(atoi(argv[2]))
    return OK


def pause_cron(client, argv):
    client.node.pause_cron = bool(atoi(argv[2]))
    return OK


def set_disable_deny_scripts(client, argv):
    client.node.script_disable_deny_script = bool(atoi(argv[2]))
    return OK


def accept_int(client, argv):
    """SET-SKIP-CHECKSUM-VALIDATION, AOF-FLUSH-SLEEP: Redis stores atoi(arg); OK."""
    atoi(argv[2])
    return OK


def quicklist_packed_threshold(client, argv):
    size = memtoull(argv[2].decode("utf-8", "surrogateescape"))
    if size is None or size > (1 << 32) - (1 << 20):
        raise ReplyError("ERR argument must be a memory value bigger than 1 and smaller "
                         "than 4gb")
    return OK


def replybuffer(client, argv):
    what = argv[2].lower()
    if what == b"peak-reset-time":
        value = argv[3].lower()
        if value not in (b"never", b"reset") and _strict_ll(value) is None:
            raise ReplyError(NOT_INT)
    elif what != b"resizing":
        raise ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. "
                         "Try DEBUG HELP." % argv[1].decode("utf-8", "replace")[:128])
    return OK


def change_repl_id(client, argv):
    node = client.node
    node.log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
    repl = node.repl
    repl.new_replid()
    repl.replid2 = "0" * 40                 # clearReplicationId2
    repl.second_repl_offset = -1
    return OK


def log_line(client, argv):
    client.node.log.warning("DEBUG LOG: %s" % argv[2].decode("utf-8", "replace"))
    return OK


def leak(client, argv):
    return OK


def stringmatch_test(client, argv):
    return Status(b"Apparently Redis did not crash: test passed")


def structsize(client, argv):
    return (b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 "
            b"sdshdr64:17 ")


def client_eviction(client, argv):
    if not client.node.config["maxmemory-clients"]:
        raise ReplyError("ERR maxmemory-clients is disabled.")
    lines = []
    clients = len(client.node.clients)
    for j in range(19):                     # CLIENT_MEM_USAGE_BUCKETS, from 32 KiB
        head = ("bucket          0" if j == 0 else "bucket %10d" % (1 << (j - 1 + 15)))
        tail = ("+            : " if j == 18 else " - %10d: " % ((1 << (j + 15)) - 1))
        lines.append(head + tail + "tot-mem: %10d, clients: %d\n" % (
            0, clients if j == 0 else 0))
    return Verbatim("".join(lines).encode())


# -- keys -------------------------------------------------------------------------------
def populate(client, argv):
    count = _positive(argv[2])
    size = _positive(argv[4]) if len(argv) == 5 else 0
    prefix = argv[3] if len(argv) >= 4 else b"key"
    db = client.db
    for j in range(count):
        key = (b"%s:%d" % (prefix, j))[:127]        # snprintf into char[128]
        if db.lookup_write(key) is not None:
            continue
        value = (b"value:%d" % j)[:127]
        if size:
            value = value[:size] + b"\0" * max(0, size - len(value))
        db.store(key, value)
    return OK


def _value(client, key: bytes):
    value = client.db.peek(key)
    if value is None:
        raise ReplyError(NO_KEY)
    return value


def sdslen(client, argv):
    key = argv[2]
    value = client.db.data.get(key)
    if value is None:
        raise ReplyError(NO_KEY)
    if value.__class__ is not bytes or encoding_of(value) == b"int":
        raise ReplyError("ERR Not an sds encoded string.")
    return Status(b"key_sds_len:%d, key_sds_avail:0, key_zmalloc: %d, val_sds_len:%d, "
                  b"val_sds_avail:0, val_zmalloc: %d" % (
                      len(key), _zmalloc(len(key)), len(value), _zmalloc(len(value))))


def _zmalloc(n: int) -> int:
    """jemalloc's size class for an sds of n bytes (header and NUL included)."""
    need = n + (1 if n < 32 else 3 if n < 256 else 5 if n < 65536 else 9) + 1
    for cls in (8, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512):
        if need <= cls:
            return cls
    size = 1024
    while size < need:
        size *= 2
    return size


def listpack(client, argv):
    if encoding_of(_value(client, argv[2])) != b"listpack":
        raise ReplyError("ERR Not a listpack encoded object.")
    return Status(b"Listpack structure printed on stdout")


def quicklist(client, argv):
    if encoding_of(_value(client, argv[2])) != b"quicklist":
        raise ReplyError("ERR Not a quicklist encoded object.")
    return Status(b"Quicklist structure printed on stdout")


def _table_size(used: int) -> int:
    """The bucket count of a Redis dict holding `used` entries (grown on insert)."""
    size = 4
    while size < used:
        size *= 2
    return size


def _dict_stats(used: int) -> str:
    head = "Hash table 0 stats (main hash table):\n"
    if not used:
        return head + "No stats available for empty dictionaries\n"
    size = _table_size(used)
    return head + (" table size: %d\n number of elements: %d\n" % (size, used))


def htstats(client, argv):
    dbid = _strict_ll(argv[2])
    if dbid is None:
        raise ReplyError(NOT_INT)
    node = client.node
    if not 0 <= dbid < len(node.keyspace):
        raise ReplyError("ERR Out of range database")
    db = node.keyspace[dbid]
    return Verbatim(("[Dictionary HT]\n" + _dict_stats(len(db.data)) + "[Expires HT]\n" +
                     _dict_stats(len(db.expires))).encode())


def htstats_key(client, argv):
    value = _value(client, argv[2])
    if encoding_of(value) not in (b"hashtable", b"skiplist"):
        raise ReplyError("ERR The value stored at the specified key is not represented "
                         "using an hash table")
    return Verbatim(_dict_stats(len(value)).encode())


def config_rewrite_force_all(client, argv):
    config = client.node.config
    try:
        if not config.file:              # Redis opens a NULL path: EFAULT
            raise OSError(14, "Bad address")
        config.rewrite(force_all=True)
    except OSError as err:
        raise ReplyError(f"ERR CONFIG-REWRITE-FORCE-ALL failed: {err.strerror}") from None
    return OK


def _argc(*counts):
    return lambda n: n in counts


SUBCOMMANDS = {
    b"protocol": (_argc(3), protocol),
    b"set-active-expire": (_argc(3), set_active_expire),
    b"pause-cron": (_argc(3), pause_cron),
    b"set-disable-deny-scripts": (_argc(3), set_disable_deny_scripts),
    b"set-skip-checksum-validation": (_argc(3), accept_int),
    b"aof-flush-sleep": (_argc(3), accept_int),
    b"quicklist-packed-threshold": (_argc(3), quicklist_packed_threshold),
    b"replybuffer": (_argc(4), replybuffer),
    b"change-repl-id": (_argc(2), change_repl_id),
    b"log": (_argc(3), log_line),
    b"leak": (_argc(3), leak),
    b"stringmatch-test": (_argc(2), stringmatch_test),
    b"structsize": (_argc(2), structsize),
    b"client-eviction": (_argc(2), client_eviction),
    b"populate": (_argc(3, 4, 5), populate),
    b"sdslen": (_argc(3), sdslen),
    b"listpack": (_argc(3), listpack),
    b"quicklist": (_argc(3, 4), quicklist),
    b"htstats": (_argc(3), htstats),
    b"htstats-key": (_argc(3), htstats_key),
    b"config-rewrite-force-all": (_argc(2), config_rewrite_force_all),
}
