"""A deterministic clock for measure_scaling: a call 'costs' what a formula says, nothing else."""

from __future__ import annotations

import numpy as np


class FakeClock:
    """Callable timer; ``advance(s)`` moves it on. Seeded multiplicative noise if ``noise`` > 0."""

    def __init__(self, noise: float = 0.0, seed: int = 0) -> None:
        self.t = 0.0
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.calls = 0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.calls += 1
        if self.noise:
            seconds *= float(np.exp(self.rng.normal(0.0, self.noise)))
        self.t += seconds

    def function(self, cost):
        """fn(n) that takes ``cost(n)`` fake seconds."""
        def fn(n):
            self.advance(cost(n))
        return fn
