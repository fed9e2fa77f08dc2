"""The pairing-code flow over HTTP (``hub.fleet.pairing``), and the fleet CA nodes pin.

``GET /api/fleet/ca`` answers the fleet CA certificate (PEM; public): a node fetches it once
and checks it against the fingerprint the technician gave before trusting the hub's HTTPS.

``POST /api/fleet/pairings`` (no token: a new node has none) stores a node's CSR and serial and
answers a pairing code and a poll token; 429 (``Retry-After``) when its address asked too often,
422 for a malformed CSR or serial. ``POST /api/fleet/pairings/poll`` with the token answers
``pending`` or ``paired`` with the node's enrolment (as ``POST /api/fleet/enrol`` does); 401 an
unknown token, 410 a code expired unpaired. ``POST /api/fleet/pairings/approve`` (technician or
admin, the store in scope) pairs the machine showing the code with a store: 404 unknown, 410
expired, 409 used or being approved, 429 throttled (``Retry-After``), 403 out of scope.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.fleet import enrolment, pairing, pki
from hub.fleet.enrolment import EnrolmentRefused
from hub.fleet.pairing import PairingRefused, PairingThrottled, PairRefusal, PairState
from hub.web.api.deps import Hub
from hub.web.api.errors import error_body
from hub.web.api.fleet import (
    ERRORS,
    BrokerOut,
    DeviceManager,
    EnrolOut,
    StoreSettingsOut,
    fleet_ca,
    limits_of,
    provisioner,
    refused,
    unprovisioner,
)

router = APIRouter(prefix="/api/fleet", tags=["fleet"])
REFUSAL_STATUS = {PairRefusal.UNKNOWN: 401, PairRefusal.EXPIRED: 410, PairRefusal.PAIRED: 409,
                  PairRefusal.BUSY: 409, PairRefusal.THROTTLED: 429}


class PairIn(BaseModel):
    """A node with no identity asks for a pairing code."""

    model_config = ConfigDict(extra="forbid")

    csr: str = Field(min_length=1, max_length=pki.MAX_CSR_BYTES,
                     description="PEM certificate signing request over the node's EC P-256 key")
    serial: str = Field(min_length=1, max_length=enrolment.MAX_SERIAL,
                        description="the machine's hardware serial")


class PairOut(BaseModel):
    """The code to print and show, and the token to poll with (each shown once)."""

    code: str = Field(description="XXXX-XXXX: what the technician enters on the desk")
    token: str = Field(description="secret: what the node polls with")
    expires_at: datetime
    poll_seconds: float = Field(description="how often the node should ask")


class PollIn(BaseModel):
    """A node asks whether its code was entered."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=100)


class PollOut(BaseModel):
    """``pending``, or ``paired`` with the node's enrolment."""

    state: Literal["pending", "approving", "paired"]
    expires_at: datetime
    enrolment: EnrolOut | None = None


class ApproveIn(BaseModel):
    """A technician pairs the machine showing ``code`` with a store."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, description="the code the machine shows")
    store_id: str = Field(min_length=1, max_length=40)
    node_id: str | None = Field(None, max_length=40, description="default: next counter-N")


class ApproveOut(BaseModel):
    """The node the machine became."""

    store_id: str
    node_id: str
    serial: str
    not_after: datetime


def _refused(err: PairingRefused, unknown: int = 401) -> JSONResponse:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after else None
    status = unknown if err.reason is PairRefusal.UNKNOWN else REFUSAL_STATUS[err.reason]
    return JSONResponse({"detail": [error_body(err.field, err.message)]},
                        status_code=status, headers=headers)


@router.get("/ca", response_class=PlainTextResponse)
def fleet_ca_pem(hub: Hub) -> PlainTextResponse:
    """The fleet CA certificate (PEM): enrolling nodes check its SHA-256 against their pin."""
    return PlainTextResponse(fleet_ca(hub.settings).pem, media_type="application/x-pem-file")


@router.post("/pairings", response_model=PairOut, status_code=201, responses=ERRORS)
def open_pairing(hub: Hub, body: PairIn, request: Request) -> PairOut | JSONResponse:
    """A new node asks for a pairing code (it prints and shows it; a technician enters it)."""
    settings = hub.settings
    try:
        opened = pairing.open_request(
            hub.engine, body.csr, body.serial, request.client.host if request.client else None,
            settings.pair_code_minutes, settings.pair_max_requests_per_client,
            timedelta(seconds=settings.enrol_window_seconds))
    except PairingThrottled as err:
        return JSONResponse({"detail": [error_body(None, err.message)]}, status_code=429,
                            headers={"Retry-After": str(err.retry_after)})
    return PairOut(code=opened.code, token=opened.token, expires_at=opened.expires_at,
                   poll_seconds=2.0)


@router.post("/pairings/poll", response_model=PollOut, responses=ERRORS)
def poll_pairing(hub: Hub, body: PollIn) -> PollOut | JSONResponse:
    """A node asks whether its code was entered; once it was, its enrolment."""
    try:
        polled = pairing.poll(hub.engine, body.token)
    except PairingRefused as err:
        return _refused(err)
    answer = None
    if polled.state is PairState.PAIRED and polled.enrolled is not None:
        answer = enrol_out(hub, polled.enrolled)
    return PollOut(state=polled.state.value, expires_at=polled.expires_at, enrolment=answer)


def enrol_out(hub: Hub, done: enrolment.Enrolled) -> EnrolOut:
    """A node's enrolment as ``POST /api/fleet/enrol`` answers it."""
    settings = hub.settings
    return EnrolOut(
        store_id=done.store_id, node_id=done.node_id, certificate=done.certificate,
        ca_certificates=[done.ca], ca_fingerprint=done.ca_fingerprint, not_after=done.not_after,
        broker=BrokerOut(host=settings.fleet_mqtts_host or settings.mqtt_host,
                         port=settings.fleet_mqtts_port),
        store=StoreSettingsOut(**done.store))


@router.post("/pairings/approve", response_model=ApproveOut, responses=ERRORS)
def approve_pairing(hub: Hub, body: ApproveIn, who: DeviceManager) -> ApproveOut | JSONResponse:
    """Pair the machine showing ``code`` with a store: its certificate is signed and its broker
    role made (technician or admin, the store in scope; audited)."""
    settings = hub.settings
    limits = limits_of(settings)

    def enrol_with(asked: enrolment.Request) -> enrolment.Enrolled:
        return enrolment.enrol(hub.engine, lambda: fleet_ca(settings), asked, limits,
                               timedelta(days=settings.fleet_cert_days), provisioner(settings),
                               unprovisioner(settings))

    try:
        done = pairing.approve(hub.engine, who, body.code, body.store_id, body.node_id,
                               limits, enrol_with)
    except PairingRefused as err:
        # 404, not 401: the technician is signed in (the desk reads 401 as a lost session)
        return _refused(err, unknown=404)
    except EnrolmentRefused as err:
        return refused(err)
    return ApproveOut(store_id=done.store_id, node_id=done.node_id, serial=done.serial,
                      not_after=done.not_after)
