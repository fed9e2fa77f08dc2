"""MQTT ingest: classify each message, batch them on one writer thread, commit, then ack.

    network thread (paho) ──Incoming──▶ queue ──▶ IngestWriter (one thread)
                                                   ├─ classify (pure)         classify.py
                                                   ├─ one transaction/batch   batch.py, state.py
                                                   ├─ MQTT PUBACK per message (after commit)
                                                   └─ retained ack per node   (after commit)
"""
