"""Lua scripting: the runtime over lupa and the libraries Redis links into its Lua."""
