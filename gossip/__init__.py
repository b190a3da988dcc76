"""The cluster bus: sans-I/O state machine, codec, transport, nodes.conf."""
