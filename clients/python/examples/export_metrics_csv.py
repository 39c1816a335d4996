#!/usr/bin/env python3
"""Exports a run's metrics (epoch metrics, and step metrics with --steps) to CSV.

    python3 examples/export_metrics_csv.py RUN_ID -o metrics.csv [--steps] [--follow]

Columns: seq, time_unix_ms, kind ("epoch" or "step"), epoch, then the metric fields of both
kinds, then one column per named extra metric (e.g. knn_accuracy). Without --follow only the
history recorded so far is exported.
"""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Dict, List

from _connect import add_connection_args, connect

from pretext_client import PretextError

BASE = [
    "seq", "time_unix_ms", "kind", "epoch", "epochs", "step", "total_steps",
    "loss", "accuracy", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
    "learning_rate", "images_per_second", "eta_seconds", "seconds",
]


def collect(client, run_id: str, steps: bool, follow: bool) -> List[Dict[str, object]]:
    rows: List[Dict[str, object]] = []
    for ev in client.stream(run_id, from_seq=0, follow=follow, skip_steps=not steps):
        metrics = ev.epoch or ev.step
        if metrics is None:
            continue
        row: Dict[str, object] = {"seq": ev.seq, "time_unix_ms": ev.time_unix_ms, "kind": ev.kind}
        fields = metrics.to_dict()
        extra = fields.pop("extra", {})
        row.update(fields)
        row.update({f"extra.{k}": v for k, v in extra.items()})
        rows.append(row)
    return rows


def write_csv(rows: List[Dict[str, object]], out) -> None:
    extras = sorted({k for r in rows for k in r if k not in BASE})
    w = csv.DictWriter(out, fieldnames=BASE + extras, restval="", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_args(p)
    p.add_argument("run_id")
    p.add_argument("-o", "--output", default="-", help="CSV file (default: stdout)")
    p.add_argument("--steps", action="store_true", help="include per-step metrics")
    p.add_argument("--follow", action="store_true", help="wait for the run to end")
    args = p.parse_args()
    with connect(args) as client:
        client.get(args.run_id)  # NOT_FOUND early, with a clear message
        rows = collect(client, args.run_id, args.steps, args.follow)
    if args.output == "-":
        write_csv(rows, sys.stdout)
    else:
        with open(args.output, "w", newline="", encoding="utf-8") as f:
            write_csv(rows, f)
        print(f"{len(rows)} rows -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PretextError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
