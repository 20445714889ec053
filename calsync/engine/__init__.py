"""The sync engine: pure planning from both sides' changes and the stored state (no I/O)."""
