"""Presswatch's domain: the archive of every version of every article.

It is built of wings, one concept each. Other packages import a wing's public names
(its `__all__`), never its modules; a wing imports only the wings listed before it
here (tests/test_layout.py checks both):

- `errors` (the `PresswatchError` tree), `clock` (which dates are in the future),
  `egress` (which addresses may be reached): one module each
- `i18n`: the message catalogs (English, Khmer), the words for every code, the
  interface language, dates and numbers per language
- `content`: pure steps on an article's text (decode, bodies, dates, extract,
  normalize, diff, align, edit classes, URL patterns)
- `store`: the records (tables), engines and sessions, the queries
- `stories`: the same story at several outlets (sketches, the lookup index as rows,
  clusters, which live copies still carry a passage)
- `warc`: the raw exchanges in WARC files, their CDXJ indexes, the disk-space floor
- `log`: the transparency log (Merkle tree, leaves, proofs, checkpoints, signing,
  timestamps) and verifying the archive against it
- `accounts`: people and what they do (roles, argon2 passwords, API tokens, signing
  in with throttling, the audit log sealed into the transparency log, case files)
- `backfill`: web archives as a source (CDX and TimeMap answers, which snapshots to
  fetch and in which order, the ledger, what to ask an archive to save)
- `notify`: notifications but their sending (notifier URLs, subscriptions, which
  events match them, what a message says, the outbox)
- `views`: what pages, API, feeds and reports show (JSON shapes, event words, chart
  series)
- `capture`: how a fetch enters the archive (judging, persisting, group commit,
  stored diffs)
- `formats`: what the archive hands out and takes in (WACZ, evidence packages,
  imports of WARC and saved pages)
- `migrations`: the database's history (Alembic), which may use any wing
"""
