"""Evidence: counter photos, documents and buyer messages attached to a store's return (and its
refund), kept content-addressed with their hash in the audit trail, for a retention period.

Rules:
- pure core: ``media`` (what the bytes are, by their first bytes, never by a name; the size and
  type limits);
- I/O: ``blobs`` (files named by their SHA-256, written once, read-only), ``store`` (record an
  attachment, list a return's, read one, the purge pass), ``ingest`` (counter photos from the
  sync path);
- every attachment is audited (``evidence.recorded``: hash, size, type, return); the purge pass
  marks what passed its retention as purged and removes the bytes nothing unpurged still needs,
  audited (``evidence.purged``); rows are never deleted;
- recording is idempotent on the attachment's id: the same id with the same bytes is one
  attachment, with other bytes a Conflict.
"""
