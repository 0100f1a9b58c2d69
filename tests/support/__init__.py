"""Real servers and helpers the test suite starts on loopback."""
