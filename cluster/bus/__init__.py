"""The node's side of the cluster bus (gossip/): the glue that performs the bus's effects, and MIGRATE's network side."""
