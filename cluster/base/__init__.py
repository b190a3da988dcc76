"""Small pure helpers every layer may use: Redis's number parsing, glob, CRC-64, LZF, long double, log lines."""
