"""Redis Sentinel: a sans-I/O state machine (state.py and friends) and its trio edge."""
