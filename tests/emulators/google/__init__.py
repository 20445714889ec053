"""Conformance suite of the Google emulator."""
