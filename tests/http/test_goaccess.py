"""Status counts and top requests agree with GoAccess (Debian's package) on the same file."""

from __future__ import annotations

import collections
import gzip
import json
import subprocess

from helpers.nginx import NGINX_SAMPLES
from helpers.programs import require_program

import toolkit as tk


def test_status_counts_and_top_requests_match_goaccess(tmp_path):
    goaccess = require_program("goaccess")
    # GIVEN the combined log nginx wrote, uncompressed (GoAccess reads plain files)
    log = tmp_path / "combined.log"
    log.write_bytes(gzip.decompress((NGINX_SAMPLES / "combined.log.gz").read_bytes()))
    out, invalid = tmp_path / "goaccess.json", tmp_path / "invalid.log"
    # WHEN GoAccess and the toolkit read it
    subprocess.run([goaccess, str(log), "--log-format=COMBINED", "-o", str(out),
                    f"--invalid-requests={invalid}", "--no-progress"], check=True, capture_output=True,
                   timeout=60)
    report = json.loads(out.read_text())
    ours = tk.read_access_log(log)
    # GoAccess refuses lines longer than its 4 KiB line buffer (our 6 KB URL); we keep them.
    rejected = tk.read_access_log(invalid) if invalid.stat().st_size else ours.iloc[:0]
    assert len(rejected) == 1 and len(rejected["path"].iloc[0]) > 4096
    kept = ours[~ours["source_line"].isin(ours.merge(rejected[["url"]], on="url")["source_line"])]
    assert len(kept) == report["general"]["valid_requests"]

    # THEN the status counts are GoAccess's, code by code
    theirs = {int(item["data"][:3]): item["hits"]["count"]
              for group in report["status_codes"]["data"] for item in group["items"]}
    assert kept["status"].value_counts().to_dict() == theirs

    # AND the top requests (GoAccess keys by method + URL; it splits them over three panels)
    panels = ("requests", "static_requests", "not_found")
    goa = collections.Counter()
    for panel in panels:
        for row in report[panel]["data"]:
            goa[(row["method"], row["data"])] += row["hits"]["count"]
    mine = kept[~kept["malformed"]].groupby(["method", "url"]).size()
    top = goa.most_common(10)
    assert [(k, n) for k, n in top] == [(k, int(mine[k])) for k, _ in top]
