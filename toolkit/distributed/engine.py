"""The Dask engine's entry points, as :mod:`toolkit.engines` finds them (``engine="dask"``):
reading (:mod:`.frames`) and the reductions (:mod:`.reductions`)."""

from __future__ import annotations

from .frames import compute, read
from .reductions import columns, digest, endpoints, latency_over_time, status_over_time

__all__ = ["read", "compute", "digest", "endpoints", "latency_over_time", "status_over_time", "columns"]
