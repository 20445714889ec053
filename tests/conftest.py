"""Settings shared by every test: the Hypothesis profiles.

Select one with HYPOTHESIS_PROFILE (default `ci`):
- `ci`: derandomized, so a CI run fails or passes the same way every time;
- `ci-random`: a fresh random seed each run, beside the derandomized one, so CI keeps exploring
  new cases; a failure prints the blob that replays it (`@reproduce_failure`);
- `dev`: fewer examples for local runs; `long`: thousands, for a nightly or a hunt.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci-random",
    max_examples=100,
    derandomize=False,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("long", max_examples=3000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
