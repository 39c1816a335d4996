#!/usr/bin/env python3
"""Rotation pretext, then SL vs SSL+SL downstream on the same label budget.

Starts a short rotation pretext run, prints its live metrics, then trains two downstream runs
with identical settings -- one from random initialization (SL), one from the pretext run's
backbone (SSL+SL) -- and prints their test results side by side.

    python3 examples/rotation_sl_vs_ssl.py --address 127.0.0.1:50051 --epochs 2 --n-labels 100

The defaults are tiny (a smoke run that finishes in minutes on a CPU); the reference study
uses --depth 20 --epochs 200 --max-steps 0 --unlabeled-limit 0.
"""

from __future__ import annotations

import argparse
import sys

from _connect import add_connection_args, connect

from pretext_client import Event, PretextError, Run, RunState, TrainingOptions


def print_event(prefix: str, ev: Event) -> None:
    if ev.step:
        s = ev.step
        print(f"{prefix} step {s.step}/{s.total_steps} epoch {s.epoch} loss {s.loss:.4f} "
              f"acc {s.accuracy:.3f} lr {s.learning_rate:.2e} {s.images_per_second:.0f} img/s", flush=True)
    elif ev.epoch:
        e = ev.epoch
        print(f"{prefix} epoch {e.epoch}/{e.epochs} train loss {e.train_loss:.4f} acc {e.train_accuracy:.3f} "
              f"| val loss {e.val_loss:.4f} acc {e.val_accuracy:.3f} ({e.seconds:.1f}s)", flush=True)
    elif ev.state:
        st = ev.state
        print(f"{prefix} {st.from_state} -> {st.to_state}" + (f": {st.message}" if st.message else ""), flush=True)
    elif ev.log:
        print(f"{prefix} [{ev.log.level}] {ev.log.message}", flush=True)


def follow(client, run: Run, label: str) -> Run:
    """Prints the run's events live until it ends; returns the final run."""
    for ev in client.stream(run.id):  # a single run's stream ends with its terminal state
        print_event(f"[{label} {run.id}]", ev)
    return client.wait(run.id)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_args(p)
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--depth", type=int, default=8, help="ResNet depth 6n+2 (default %(default)s)")
    p.add_argument("--unlabeled-limit", type=int, default=512)
    p.add_argument("--epochs", type=int, default=2, help="epochs of every run")
    p.add_argument("--max-steps", type=int, default=5, help="steps per epoch cap (0 = full pass)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-labels", type=int, default=100, help="downstream label budget")
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--test-limit", type=int, default=500, help="test images (0 = all)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    training = TrainingOptions(
        epochs=args.epochs, batch_size=args.batch_size, max_steps_per_epoch=args.max_steps,
        seed=args.seed, validation_limit=256,
    )
    with connect(args) as client:
        info = client.info()
        print(f"pretextd {info.version} on {info.hostname}, backend {info.backend}")

        pretext = client.start_pretext(
            method="rotation", dataset=args.dataset, unlabeled_limit=args.unlabeled_limit,
            depth=args.depth, training=training, name="example rotation",
        )
        pretext = follow(client, pretext, "pretext")
        if pretext.state != RunState.SUCCEEDED:
            print(f"pretext run {pretext.id} ended {pretext.state}: {pretext.error}", file=sys.stderr)
            return 1
        r = pretext.result
        if r is not None:
            print(f"pretext done: best epoch {r.best_epoch}, best val rotation acc {r.best_val_accuracy:.3f}")

        common = dict(
            dataset=args.dataset, n_labels=args.n_labels, fold=args.fold, depth=args.depth,
            protocol="fine_tune", training=training, test_limit=args.test_limit,
        )
        sl = client.start_downstream(name="example SL", **common)
        ssl = client.start_downstream(name="example SSL+SL", pretext_run_id=pretext.id, **common)
        results = {"SL": follow(client, sl, "SL"), "SSL+SL": follow(client, ssl, "SSL+SL")}

    print()
    print(f"{args.n_labels} labels, fold {args.fold}, {args.epochs} epochs, ResNet{args.depth}")
    print(f"{'':8} {'state':10} {'test loss':>10} {'test acc':>9} {'best epoch':>10}")
    accuracy = {}
    for label, run in results.items():
        test = run.result.test if run.result else None
        if run.state == RunState.SUCCEEDED and run.result and test:
            accuracy[label] = test.accuracy
            print(f"{label:8} {run.state:10} {test.loss:10.4f} {test.accuracy * 100:8.2f}% "
                  f"{run.result.best_epoch:10d}")
        else:
            print(f"{label:8} {run.state:10} {run.error}")
    failed = len(accuracy) != len(results)
    if not failed:
        gain = accuracy["SSL+SL"] - accuracy["SL"]
        print(f"SSL+SL - SL: {gain * 100:+.2f} points of test accuracy")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PretextError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
