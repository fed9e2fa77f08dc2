"""The link to the hub: the outbox and its journal, the MQTT link, commands and store config.

Rules: every event the node owes the hub is in the outbox (gap-free seq) and its fsync'd
journal until the hub's ack covers it; commands apply exactly once; the link tells the agent
the moment it applies a command or its connection changes.

    link  commands  changes (what the link tells the agent, and the live event it becomes)
"""
