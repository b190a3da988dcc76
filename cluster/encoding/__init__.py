"""Redis's object encodings: DUMP payloads and RDB files, byte for byte."""
