"""SHUTDOWN's flags and the shutdown signals, as Redis 7.0.15 (prepareForShutdown's input).

SAVE forces the final RDB save, NOSAVE skips it, neither saves when `save` points are
configured; FORCE makes a failed final save (or an AOF still being written) not stop the
exit; NOW skips waiting for lagging replicas (this server does not wait for them anyway).
SIGTERM and SIGINT take their flags from `shutdown-on-sigterm` / `shutdown-on-sigint`
("default" = no flags); a second SIGINT while a shutdown is pending exits at once with
status 1 ("You insist... exiting now."), removing the temp RDB file.

The flags live in node.persist (cluster.persistence.state).
"""
from __future__ import annotations

import os
import signal
import sys

from cluster.persistence.rdb_file import temp_name

FLAG_WORDS = ("save", "nosave", "now", "force")


def set_flags(node, words) -> None:
    """Record SHUTDOWN's flags (read by rdb_file.on_shutdown)."""
    words = {w.decode() if isinstance(w, bytes) else w for w in words}
    words = {w.lower() for w in words}
    st = node.persist
    st.shutdown_save = True if "save" in words else (False if "nosave" in words else None)
    st.shutdown_force = "force" in words
    st.shutdown_now = "now" in words


def on_signal(node, signum: int) -> bool:
    """A SIGTERM / SIGINT arrived: log it, set the configured flags; True to shut down."""
    name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
    st = node.persist
    if st.shutdown_asap and signum == signal.SIGINT:
        node.log.warning("You insist... exiting now.")
        try:
            os.unlink(temp_name())
        except OSError:
            pass
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    if st.loading is not None:
        node.log.warning("Received shutdown signal during loading, scheduling shutdown.")
    else:
        node.log.warning(f"Received {name} scheduling shutdown...")
    st.shutdown_asap = True
    directive = "shutdown-on-sigterm" if signum == signal.SIGTERM else "shutdown-on-sigint"
    words = str(node.config[directive]).split()
    set_flags(node, [w for w in words if w in FLAG_WORDS])
    return True


def failed(node) -> None:
    """The shutdown did not happen (the final save failed): back to normal service."""
    st = node.persist
    st.shutdown_asap = False
    st.shutdown_save = None
    st.shutdown_force = False
    st.shutdown_now = False
