"""Shared command-line connection options of the examples (not part of the package)."""

from __future__ import annotations

import argparse
import os
import sys

# Run from a checkout without installing: make clients/python importable.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pretext_client import Client  # noqa: E402


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default=os.environ.get("PRETEXT_ADDRESS", "127.0.0.1:50051"),
        help="pretextd host:port (env PRETEXT_ADDRESS; default %(default)s)",
    )
    parser.add_argument("--token", default=os.environ.get("PRETEXT_TOKEN"), help="bearer token (env PRETEXT_TOKEN)")
    parser.add_argument("--token-file", help="file holding the bearer token")
    parser.add_argument("--tls-ca", help="PEM file of the CA to trust (switches to TLS)")


def connect(args: argparse.Namespace) -> Client:
    token = args.token
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            token = f.read().strip()
    return Client(args.address, token=token, tls_ca=args.tls_ca)
