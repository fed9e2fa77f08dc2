"""The link to the stores: MQTT, ingest of node events, the command outbox, config push.

Rules:
- one MQTT connection per hub process (``mqtt``), owned by the ``runtime`` the app starts;
- every node event is classified, stored exactly once and acked only after its commit
  (``ingest/``); nothing a node sends can stall ingest;
- hub -> node commands are written to the outbox in the same transaction as the change that
  needs them (``commands``) and sent by one ``publisher`` thread until the node applies them;
- each store's retained ``store.config`` is republished when it changes (``config_push``);
- several hub processes may share the ingest on PostgreSQL (``hub_workers``): each has its own
  connection in the broker's shared group, and the publisher and config push run only in the
  one holding the leader lock (``leader``).

    mqtt  ingest/  commands  publisher  runtime  config_push  leader
"""
