"""Precision and recall of the checklist rules on the labelled logs (tests/fixtures/labelled/).

Run: python benchmarks/labelled.py [--before COMMIT]

Prints, as Markdown for benchmarks/RESULTS.md: per rule, the planted problems, found, missed,
the look-alikes and the false positives; per log, the findings and the rows of the default table
(per-rule caps). With ``--before COMMIT``, the same logs through that commit's ``tk.findings``
(extracted with ``git archive`` into a temporary folder and run in a subprocess): how many rows,
and the rules that fired on the look-alikes' statements/endpoints. Not CPU-heavy (a few seconds).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers.labels import FOLDER, labels, per_rule, score_all  # noqa: E402

# Run by the older toolkit: its findings for each labelled log as JSON records.
_BEFORE = """
import json, sys
from pathlib import Path
import toolkit as tk
folder = Path(sys.argv[1])
out = {}
for name in sys.argv[2:]:
    path = folder / name
    if "access" in name:
        ev = [tk.read_access_log(path, log_format=(folder / "nginx.log_format").read_text())]
    else:
        ev = [tk.read_queries(path), tk.read_server_events(path)]
    table = tk.findings(*ev)
    out[name] = [{"rule": r, "title": t, "evidence": e} for r, t, e in
                 zip(table["rule"], table["title"], table["evidence"])]
print(json.dumps(out))
"""


def before(commit: str, names: list[str]) -> dict[str, list[dict]]:
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", commit, "toolkit"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        out = subprocess.run([sys.executable, "-c", _BEFORE, str(FOLDER), *names], cwd=tmp, check=True,
                             capture_output=True, text=True, env={"PYTHONPATH": tmp, "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", metavar="COMMIT", help="also score this commit's engine")
    args = parser.parse_args()
    scores = score_all()
    table = per_rule(scores)
    print("| rule | planted | found | missed | look-alikes | false positives | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in table.itertuples():
        prec = "-" if r.precision != r.precision else f"{r.precision:.2f}"
        rec = "-" if r.recall != r.recall else f"{r.recall:.2f}"
        print(f"| `{r.rule}` | {r.planted} | {r.found} | {r.missed} | {r.look_alikes} | {r.false_positives} "
              f"| {prec} | {rec} |")
    tot = table[["planted", "found", "missed", "look_alikes", "false_positives"]].sum()
    print(f"| all | {tot.planted} | {tot.found} | {tot.missed} | {tot.look_alikes} | {tot.false_positives} | | |")
    print()
    print("| log | findings | rows shown (5 per rule, then \"and N more\") |")
    print("|---|---:|---:|")
    for s in scores:
        print(f"| {s.file} | {len(s.findings)} | {s.shown} |")
    if args.before:
        old = before(args.before, [s.file for s in scores])
        print()
        print(f"Before ({args.before[:8]}), the same logs through that commit's `tk.findings`:")
        print()
        silent = [lb for lb in labels() if lb.expect == "silent" and lb.key_contains]
        for name, rows in old.items():
            rules: dict[str, int] = {}
            for r in rows:
                rules[r["rule"]] = rules.get(r["rule"], 0) + 1
            hits = sorted({f"`{lb.rule}` on {lb.key_contains!r}" for lb in silent if lb.file == name
                           for r in rows if r["rule"] == lb.rule
                           and lb.key_contains.lower() in (r["title"] + r["evidence"]).lower()})
            print(f"- {name}: {len(rows)} rows (" + ", ".join(f"{k} {v}" for k, v in sorted(rules.items()))
                  + ")" + (f"; look-alikes flagged: {'; '.join(hits)}" if hits else ""))


if __name__ == "__main__":
    main()
