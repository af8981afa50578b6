"""`python -m bot.archive`: run the evidence archive worker on its own (set
ARCHIVE_WORKER=0 for the action servers then; several may run: jobs are leased)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.archive.worker import ArchiveWorker

logger = logging.getLogger(__name__)


async def _serve() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await ArchiveWorker().run(stop)


def main() -> int:
    """Run until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
