"""Run a function as an unprivileged user, so that permission checks happen as a user meets them.

As root (CI) every file and folder is readable, so a test of "permission denied" would see
nothing. :func:`as_nobody` forks, drops the child to ``nobody`` (uid/gid 65534) when the process
is root, calls the function there and sends its JSON-able result back through a pipe. Import
everything the function needs before calling it: the child may not be able to read the Python
installation (e.g. under /root).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

NOBODY = 65534


def as_nobody(fn: Callable[[], Any]) -> Any:
    """``fn()``'s result, computed in a child process running as ``nobody`` (or as the current
    user when that is not root). An exception in the child is raised here as AssertionError
    with the child's traceback."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the test runner
        code = 1
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            payload = {"ok": fn()}
        except BaseException:
            payload = {"error": traceback.format_exc()}
        try:
            os.write(write, json.dumps(payload, default=str).encode())
            code = 0
        finally:
            sys.stdout.flush()
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    if "error" in result:
        raise AssertionError("in the unprivileged child:\n" + result["error"])
    return result["ok"]
