"""RESP on the wire: the request parser, reply values and their encodings, and the outcomes a handler returns (Block, Await)."""
