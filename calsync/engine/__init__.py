"""The sync engine: pure planning from both sides' changes and the stored state (no I/O).

- `filters`: scope and projection (range, hours window, private modes, busy mask).
- `plan`: three-way planning of a round into `actions` (command classes, one write each):
  `changes` (change detection), `policy` (prefs: projection, winner, masking), `cases` (one
  planner per case of a pair).
- `run.sync_user(RoundContext)`: one round through two Sides and a PairStore, committing
  after each action.
- `memstore.MemoryStore`: an in-memory PairStore for tests, benchmarks and dry runs.
"""
