"""Emulators of the services calsync talks to (Google, vtiger) for tests, benchmarks, the demo."""
