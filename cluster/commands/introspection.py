"""introspection commands."""
