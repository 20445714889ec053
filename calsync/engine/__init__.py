"""The sync engine: pure planning from both sides' changes and the stored state (no I/O).

- `filters`: scope and projection (range, hours window, private modes, busy mask).
- `decide` / `plan`: three-way planning into `actions` (command classes, one write each).
- `run.sync_user(RoundContext)`: one round through two Sides and a PairStore, committing
  after each action.
- `memstore.MemoryStore`: an in-memory PairStore for tests, benchmarks and dry runs.
"""
