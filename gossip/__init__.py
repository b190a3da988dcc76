"""The cluster bus (later issue): sans-I/O state machine, codec, transport, nodes.conf."""
