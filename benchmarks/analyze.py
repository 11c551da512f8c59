"""Time `perf-toolkit analyze` on the bundled sample traces (target: under 30 s).

Run: python benchmarks/analyze.py [REPEAT]
Prints wall time per run (a fresh process each time, as a user runs it) and the report's size.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(repeat: int = 3) -> None:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.html"
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "toolkit", "analyze", "-q", "-o", str(report)],
                           check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
        size = report.stat().st_size
    inputs = sum(1 for _ in (ROOT / "sample_traces").rglob("*") if _.is_file())
    print(f"perf-toolkit analyze sample_traces/ ({inputs} files): "
          f"median {statistics.median(times):.1f} s, min {min(times):.1f} s over {repeat} runs; "
          f"report {size / 1e6:.1f} MB; cores {os.cpu_count()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
