"""The monthly archive: when a month closes, its files (journal, settlements, evidence index and
whatever other sections are registered) are written once, with a SHA-256 manifest whose hash goes
into the audit chain; a correction is a new version, the old one kept.

Rules:
- pure core: ``months`` (month values, when a month is due), ``manifest`` (the manifest's bytes
  and the comparison of files against it), ``sections`` (the registry: section name -> producer
  ``(conn, month) -> [ArchiveFile]``; producers are deterministic: the same facts give the same
  bytes); producers: ``journal`` (returns and refunds), ``settlements`` (Amazon's settlement
  reports as stored), ``evidence_index`` (the evidence recorded in the month);
- I/O: ``files`` (write-once folders: staged, files read-only, moved into place, never
  overwritten), ``store`` (close, correct, list, verify, read a file; audited as
  ``archive.closed`` / ``archive.corrected`` with the manifest's hash);
- a month is closed once (version 1); a correction needs a reason and changed content, and is
  version N+1 in a folder of its own; nothing archived is ever rewritten or deleted;
- verification recomputes every file's size and SHA-256 and compares them with the manifest, the
  manifest's hash with the stored record and the audit entry, and names every file that differs.
"""
