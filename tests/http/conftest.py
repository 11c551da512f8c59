"""Shared fixtures for the HTTP tests: the sample logs written by a real nginx."""

from __future__ import annotations

import pytest
from helpers.nginx import NGINX_SAMPLES, PERF_FORMAT

import toolkit as tk


@pytest.fixture(scope="session")
def perf_requests():
    return tk.read_access_log(NGINX_SAMPLES / "access.log.gz", log_format=PERF_FORMAT)


@pytest.fixture(scope="session")
def combined_requests():
    return tk.read_access_log(NGINX_SAMPLES / "combined.log.gz")
