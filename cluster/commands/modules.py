"""MODULE: the command a Redis 7.0 client or tool finds on every server. We load no
modules (they are C libraries for Redis's module API): LIST is empty, LOAD/LOADEX fail as
a module that cannot be loaded fails, UNLOAD finds none. LOAD, LOADEX and UNLOAD are
protected by enable-module-command, as in Redis."""
from __future__ import annotations

from cluster.commands.checks import allow_protected
from cluster.commands.help import help_reply
from cluster.execution.table import container, subcommand
from cluster.resp.reply import ReplyError

_DENIED = ("ERR MODULE command not allowed. If the enable-module-command option is set to "
           "\"local\", you can run it from a local connection, otherwise you need to set "
           "this option in the configuration file, and then restart the server.")
_HELP = [
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and "
    "optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
]

container("module", -2, group="server", since="4.0.0",
          summary="A container for module commands", complexity="Depends on subcommand.")


def _protected(client) -> None:
    if not allow_protected(client, client.node.config["enable-module-command"]):
        raise ReplyError(_DENIED)


@subcommand("module", "help", 2, "loading stale", since="5.0.0",
            summary="Show helpful text about the different subcommands", complexity="O(1)")
def module_help(client, argv):
    return help_reply("MODULE", _HELP)


@subcommand("module", "list", 2, "admin noscript", since="4.0.0",
            summary="List all modules loaded by the server",
            complexity="O(N) where N is the number of loaded modules.",
            tips="nondeterministic_output_order")
def module_list(client, argv):
    return []


def _load(client, argv):
    _protected(client)
    client.node.log.warning("Module %s failed to load: pyredis-cluster loads no modules"
                            % argv[2].decode("utf-8", "replace"))
    raise ReplyError("ERR Error loading the extension. Please check the server logs.")


@subcommand("module", "load", -3, "admin noscript no_async_loading",
            since="4.0.0", summary="Load a module", complexity="O(1)")
def module_load(client, argv):
    return _load(client, argv)


@subcommand("module", "loadex", -3, "admin noscript no_async_loading",
            since="7.0.0", summary="Load a module with extended parameters",
            complexity="O(1)")
def module_loadex(client, argv):
    return _load(client, argv)


@subcommand("module", "unload", 3, "admin noscript no_async_loading",
            since="4.0.0", summary="Unload a module", complexity="O(1)")
def module_unload(client, argv):
    _protected(client)
    raise ReplyError("ERR Error unloading module: no such module with that name")
