"""The `bind` directive's words as the addresses to listen on: the client port (the
server edge) and the cluster bus port (cluster.bus.cluster_node) both use them."""
from __future__ import annotations


def bind_addresses(spec: str) -> list[tuple[str, bool]]:
    """`bind` words -> (address, optional). `*` is every IPv4 address, `::*` every IPv6."""
    out = []
    for word in spec.split():
        optional = word.startswith("-")
        word = word.lstrip("-")
        addr = {"*": "0.0.0.0", "::*": "::"}.get(word, word)
        out.append((addr, optional))
    return out
