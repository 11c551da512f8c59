"""The Dask engine's entry points, as :mod:`toolkit.engines` finds them (``engine="dask"``):
reading (:mod:`.frames`), the reductions (:mod:`.reductions`) and the direct digests of files
(:mod:`.direct`: no frames built, the local byte-range digests on the cluster)."""

from __future__ import annotations

from .direct import digest_files, endpoint_files
from .frames import compute, read
from .reductions import columns, digest, endpoints, latency_over_time, status_over_time

__all__ = ["read", "compute", "digest", "endpoints", "latency_over_time", "status_over_time", "columns",
           "digest_files", "endpoint_files"]
