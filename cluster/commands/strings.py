"""String commands (placeholder: GET and SET only until the strings module lands)."""
from __future__ import annotations

from cluster.keyspace import WRONGTYPE
from cluster.reply import OK, ReplyError
from cluster.table import command


@command("get", 2, "readonly fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RO ACCESS", summary="Get the value of a key")
def get(client, argv):
    value = client.db.lookup_read(argv[1], not client.no_touch)
    if value is None or value.__class__ is bytes:
        return value
    raise ReplyError(WRONGTYPE)


@command("set", -3, "write denyoom", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RW ACCESS UPDATE VARIABLE_FLAGS", summary="Set the string value of a key")
def set_(client, argv):
    client.db.store(argv[1], argv[2])
    return OK
