"""Stores and their devices: store attributes, broker identities and ACLs, the broker's dynamic
security, the local development broker, and the hub's mDNS advertisement.

Rules: each device may speak only for its own store (literal per-store topics in its ACL, its
client id bound to its identity); every change is audited.

    stores  acl  dynsec  local_broker  advertise
"""
