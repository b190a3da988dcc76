"""A command's way through the node: the command table, dispatch and its gates (routing, pause, MIGRATE in flight), blocking, pub/sub, clients."""
