"""Persistence: RDB files, the multi-part AOF, the start-up load, shutdown."""
