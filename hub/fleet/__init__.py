"""Stores and their devices: store attributes, broker identities and ACLs, the broker's dynamic
security, the fleet CA, device enrolment, renewal and revocation, the local development broker,
and the hub's mDNS advertisement.

Rules: each device may speak only for its own store (literal per-store topics in its ACL, its
client id bound to its identity: by dynamic security for a password, by the TLS listener's
``use_username_as_clientid`` for a certificate, whose CN is the same ``edge.{store}.{node}``);
a node's key never leaves it; a revoked node id stays revoked; every change is audited.

    stores  acl  dynsec  pki  identities  enrolment  lifecycle  alerts  overview  local_broker
    advertise
"""
