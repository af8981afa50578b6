"""The reviewers' console: where Bawaslu staff triage, decide and refer reported content.

An aiohttp application (`console.app.make_app`, started by `python -m console`)
with server-rendered Indonesian pages for people and a JSON API for tools, on
the reports database of `bot.store`. Accounts are made with the `lapor-admin`
command (`console.admin_cli`). See docs/console.md (developers) and
docs/reviewers.md (staff, in Indonesian).

Layers: `console.store.ConsoleStore` (a `ReportStore` with the audited decision
path), plain synchronous services on it (`accounts`, `audit`, `queries`,
`referrals`, `dashboard`), and the web layer (`app`, `auth`, `csrf`, `api`,
`pages`) calling them through `asyncio.to_thread`. Nothing happens at import time.
"""
