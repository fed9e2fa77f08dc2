"""MQTT ingest: classify each message, batch them on one writer thread, commit, then ack.

    network thread (paho) ──Incoming──▶ queue ──▶ IngestWriter (one thread)
                                                   ├─ classify (pure)         classify.py
                                                   ├─ one transaction/batch   batch.py, state.py
                                                   ├─ MQTT PUBACK per message (after commit)
                                                   └─ retained ack per node   (after commit)

Rules (no message can stall ingest):
- every input is bounded before parsing (``protocol.limits``: the broker's
  ``message_size_limit``, then the codec's size and nesting checks); ``classify`` never raises;
- an exception is caught per batch and per message, counted (``acorn_hub_ingest_errors``), and
  the thread goes on; if the thread dies all the same, the runtime's supervisor starts it again
  and ``/api/health`` reports it (``ingest.running``, ``restarts``, ``last_error``);
- THE UNPROCESSABLE RULE: an event from an identified node (the topic names it; the envelope
  decodes, or at least a JSON object naming that same store and node and a seq) that cannot be
  decoded, stored or applied is recorded in ``unprocessable_events`` and dead-lettered with its
  reason, and it takes its seq: the node's contiguous seq moves past it, so its later events
  apply and the node gets its ack. A resend of it is a duplicate; a different event later
  claiming that seq is dead-lettered whole. An operator lists and resolves dead letters with
  ``acorn-hub dead-letters list|show|resolve`` (audited);
- anything else that cannot be processed is dead-lettered and acked; dead letters keep at most
  the first 64 KiB of a payload, with its original size and SHA-256.
"""
