"""The configuration: the directive table, redis.conf files, value syntax, the live values."""
