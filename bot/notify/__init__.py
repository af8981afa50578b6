"""Telling reporters what became of their reports.

- `bot.notify.wording`: the Indonesian text of a notice (from
  `bot/resources/notification_wording.yml`).
- `bot.notify.worker.NotificationWorker`: sends the outbox's due notices
  (`run_once`, `run(stop)`, `close`), with leases, retries and rate limits.
- `python -m bot.notify`: the worker on its own (docs/notifications.md).

Imports nothing at package import: the worker module pulls in the store.
"""
