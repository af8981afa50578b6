"""The evidence archive: each reported link fetched at report time and kept as WARC.

`bot.archive.page_meta` reads a page's own title, description, author and publish
time; `bot.archive.warc` writes the WARC file; `bot.archive.worker` leases the
pending jobs (`link_archives`, queued with the report in `ReportStore.file_report`)
and runs them. See docs/evidence.md.
"""
