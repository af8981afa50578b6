"""Run the notification worker on its own: `python -m bot.notify [--once] [--interval S]`.

For a cluster or Kubernetes (`ROLE=notify` in deploy/): any number of these
may run next to the console's own worker; leases keep each notice with one
worker. Ctrl-C (SIGINT) or SIGTERM stops it cleanly after the notice being
sent; notices it had leased but not started are given back at once. `--once`
sends what is due now and exits (a cron job, a smoke test).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.notify.worker import NotificationWorker

logger = logging.getLogger("bot.notify")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.notify",
        description="Send reporters the notices of their reports' status changes.")
    parser.add_argument("--once", action="store_true",
                        help="send what is due now, then exit")
    parser.add_argument("--interval", type=float, default=2.0,
                        help="seconds between rounds when nothing is due (default 2)")
    args = parser.parse_args(argv)
    if not 0.05 <= args.interval <= 3600:
        parser.error("--interval must be between 0.05 and 3600 seconds")
    return args


async def serve(once: bool, interval: float) -> int:
    """Run the worker until a signal (or one round with `once`); always close it."""
    worker = NotificationWorker()
    try:
        if once:
            handled = await worker.run_once()
            logger.info("Handled %d notice(s)", handled)
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await worker.run(stop, interval)
        return 0
    finally:
        await worker.close()
        worker.store.dispose()


def main(argv: list[str] | None = None) -> int:
    """Entry point; the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(serve(args.once, args.interval))
    except KeyboardInterrupt:  # a second Ctrl-C while closing
        return 130


if __name__ == "__main__":
    sys.exit(main())
