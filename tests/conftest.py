"""Shared test set-up: Hypothesis profiles.

``quick`` (the default) keeps ``make test`` fast on a laptop; CI selects ``thorough`` through
``HYPOTHESIS_PROFILE=thorough`` (set by ``.ci/run``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("quick", max_examples=40, deadline=None, stateful_step_count=30)
settings.register_profile(
    "thorough",
    max_examples=400,
    deadline=None,
    stateful_step_count=100,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))
