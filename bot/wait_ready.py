"""Wait until HTTP endpoints answer (used by `make run` and tests)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import urllib.error
import urllib.request

logger = logging.getLogger(__name__)


def wait_ready(urls: list[str], timeout: float = 120.0, interval: float = 0.5) -> bool:
    """Return True once every URL answers with a 2xx status, False on timeout."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        url = pending[0]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URLs)
                if 200 <= response.status < 300:
                    pending.pop(0)
                    continue
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(interval)
    return not pending


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: exit 0 when ready, 1 on timeout."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if wait_ready(args.urls, timeout=args.timeout):
        return 0
    print(f"Not ready after {args.timeout:.0f} s: {' '.join(args.urls)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
