"""Device enrolment over HTTP: technicians make codes, new nodes redeem them.

``POST /api/fleet/enrol`` needs no session or token: the enrolment code is the credential. Its
refusals: 401 unknown code, 410 expired, 409 used, 403 for another store, 429 (``Retry-After``)
while guessing is throttled, 422 for a malformed CSR or serial (not counted as a guess), 503 when
the broker cannot be administered (the code stays usable). ``POST /api/fleet/codes`` makes a
code (``manage_devices``: technician or admin, the store in scope).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.access.permissions import Action, Principal
from hub.errors import BrokerError
from hub.fleet import enrolment, pki
from hub.fleet.dynsec import DynSecAdmin
from hub.fleet.enrolment import EnrolmentRefused, Refusal
from hub.settings import Settings
from hub.web.api.deps import Hub, requires
from hub.web.api.errors import error_body
from hub.web.api.models import ErrorOut
from protocol import utc_now

router = APIRouter(prefix="/api/fleet", tags=["fleet"])
REFUSAL_STATUS = {Refusal.UNKNOWN: 401, Refusal.EXPIRED: 410, Refusal.USED: 409,
                  Refusal.WRONG_STORE: 403, Refusal.THROTTLED: 429}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 409, 410, 422, 429, 503)
}
DeviceManager = Annotated[Principal, Depends(requires(Action.MANAGE_DEVICES))]


class EnrolIn(BaseModel):
    """A new node asks for its identity."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, description="the enrolment code")
    csr: str = Field(min_length=1, max_length=pki.MAX_CSR_BYTES,
                     description="PEM certificate signing request over the node's EC P-256 key")
    serial: str = Field(min_length=1, max_length=enrolment.MAX_SERIAL,
                        description="the machine's hardware serial")
    store_id: str | None = Field(None, max_length=40,
                                 description="the store the node expects to join, if it knows")


class BrokerOut(BaseModel):
    """Where the node's MQTT link goes: mutual TLS."""

    host: str
    port: int
    tls: bool = True


class StoreSettingsOut(BaseModel):
    """What the hub knows of the store (empty: the node keeps its own default)."""

    name: str
    region: str | None
    city: str | None
    currency: str | None
    time_zone: str | None
    language: str | None
    printer_paper: str | None


class EnrolOut(BaseModel):
    """The node's identity, certificate, CA, broker and store settings."""

    store_id: str
    node_id: str
    certificate: str = Field(description="PEM client certificate, CN edge.{store}.{node}")
    ca_certificates: list[str] = Field(description="PEM CA chain the broker's certificate "
                                       "and the node's chain to")
    ca_fingerprint: str = Field(description="SHA-256 of the CA certificate (DER), hex")
    not_after: datetime
    broker: BrokerOut
    store: StoreSettingsOut


class CodeIn(BaseModel):
    """A technician asks for a code."""

    model_config = ConfigDict(extra="forbid")

    store_id: str = Field(min_length=1, max_length=40)
    node_id: str | None = Field(None, max_length=40, description="default: next counter-N")
    minutes: int | None = Field(None, ge=1, le=enrolment.MAX_CODE_MINUTES)


class CodeOut(BaseModel):
    """A new code: shown once, never stored."""

    code: str
    store_id: str
    node_id: str | None
    expires_at: datetime


def limits_of(settings: Settings) -> enrolment.Limits:
    """The guessing throttle's settings."""
    return enrolment.Limits(settings.enrol_max_failures_per_client, settings.enrol_max_failures,
                            timedelta(seconds=settings.enrol_window_seconds))


def provisioner(settings: Settings) -> Callable[[str, str], None]:
    """A function giving a node its certificate identity on the broker (one admin login)."""
    def provision(store_id: str, node_id: str) -> None:
        secret = settings.broker_admin_password.get_secret_value()
        if not secret:
            raise BrokerError("the hub cannot administer the broker: "
                              "ACORN_HUB_BROKER_ADMIN_PASSWORD is not set")
        with DynSecAdmin(settings.mqtt_host, settings.mqtt_port,
                         settings.broker_admin_username, secret) as admin:
            admin.provision_cert_node(store_id, node_id)
    return provision


def fleet_ca(settings: Settings) -> pki.FleetCa:
    """The fleet CA, created in ``fleet_dir`` on first use."""
    return pki.load_or_create_ca(settings.fleet_dir, utc_now())[0]


def refused(err: EnrolmentRefused) -> JSONResponse:
    """A refusal in the usual error shape; ``Retry-After`` when throttled."""
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after else None
    return JSONResponse({"detail": [error_body(err.field, err.message)]},
                        status_code=REFUSAL_STATUS[err.reason], headers=headers)


@router.post("/enrol", response_model=EnrolOut, responses=ERRORS)
def enrol(hub: Hub, body: EnrolIn, request: Request) -> EnrolOut | JSONResponse:
    """Redeem an enrolment code: the node's certificate, the CA, the broker and store settings."""
    settings = hub.settings
    asked = enrolment.Request(body.code, body.csr, body.serial, body.store_id,
                              request.client.host if request.client else None)
    try:
        done = enrolment.enrol(hub.engine, lambda: fleet_ca(settings), asked, limits_of(settings),
                               timedelta(days=settings.fleet_cert_days), provisioner(settings))
    except EnrolmentRefused as err:
        return refused(err)
    return EnrolOut(
        store_id=done.store_id, node_id=done.node_id, certificate=done.certificate,
        ca_certificates=[done.ca], ca_fingerprint=done.ca_fingerprint, not_after=done.not_after,
        broker=BrokerOut(host=settings.fleet_mqtts_host or settings.mqtt_host,
                         port=settings.fleet_mqtts_port),
        store=StoreSettingsOut(**done.store))


@router.post("/codes", response_model=CodeOut, status_code=201, responses=ERRORS)
def create_code(hub: Hub, body: CodeIn, who: DeviceManager) -> CodeOut:
    """Make a single-use enrolment code for a store (technician or admin, store in scope)."""
    issued = enrolment.create_code(hub.engine, who, body.store_id,
                                   body.minutes or hub.settings.enrol_code_minutes, body.node_id)
    return CodeOut(code=issued.code, store_id=issued.store_id, node_id=issued.node_id,
                   expires_at=issued.expires_at)
