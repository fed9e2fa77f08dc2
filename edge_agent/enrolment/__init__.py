"""A store machine joins the fleet and keeps its identity current.

Rules: one module per way in. ``client`` enrols with a technician's code, ``pairing`` shows a
code for the technician to enter on the desk, ``discovery`` finds the hub over mDNS when no URL
was given, ``hub_link`` is how a node without an identity reaches the hub (HTTPS pinned to the
fleet CA, or plain HTTP only when asked), ``renewal`` renews the certificate. Every failure is an
``EnrolmentError`` with a sentence for the technician.
"""

from edge_agent.enrolment.client import (
    CA_FILE,
    CERT_FILE,
    KEY_FILE,
    Enrolled,
    Ticket,
    check_answer,
    enrol,
    hardware_serial,
    make_csr,
    merge_settings,
    parse_ticket,
    settings_lines,
)
from edge_agent.enrolment.discovery import find_hub
from edge_agent.enrolment.hub_link import EnrolmentError, HubSettingsError, open_hub
from edge_agent.enrolment.pairing import Pairing, PairingStatus, Snapshot, pair
from edge_agent.enrolment.renewal import (
    RENEWAL_CONTEXT,
    Renewer,
    renew,
    renew_at,
    renewal_body,
    write_atomically,
)

__all__ = [
    "CA_FILE",
    "CERT_FILE",
    "KEY_FILE",
    "RENEWAL_CONTEXT",
    "Enrolled",
    "EnrolmentError",
    "HubSettingsError",
    "Pairing",
    "PairingStatus",
    "Renewer",
    "Snapshot",
    "Ticket",
    "check_answer",
    "enrol",
    "find_hub",
    "hardware_serial",
    "make_csr",
    "merge_settings",
    "open_hub",
    "pair",
    "parse_ticket",
    "renew",
    "renew_at",
    "renewal_body",
    "settings_lines",
    "write_atomically",
]
