"""Device enrolment over HTTP: technicians make codes, new nodes redeem them.

``POST /api/fleet/enrol`` needs no session or token: the enrolment code is the credential. Its
refusals: 401 unknown code, 410 expired, 409 used, 403 for another store, 429 (``Retry-After``)
while guessing is throttled, 422 for a malformed CSR or serial (not counted as a guess), 503 when
the broker cannot be administered (the code stays usable). ``POST /api/fleet/codes`` makes a
code (``manage_devices``: technician or admin, the store in scope).

``POST /api/fleet/renew`` needs no session or token either: the node proves it holds its current
key by a signature (``hub.fleet.lifecycle``); 401 unproved (not the fleet CA's certificate, a
signature by another key, a stale ``signed_at``), 403 refused (revoked, superseded, expired past
the grace period; audited), 422 malformed. ``POST /api/fleet/nodes/{store}/{node}/revoke`` and
``.../rotate`` need ``manage_devices`` with the store in scope.

``GET /api/fleet/nodes`` (``manage_devices``: technician or admin) is the fleet page: every store
and node in the caller's scope with presence, versions, outbox, peripherals, certificate, last
self-test and alerts (``hub.fleet.overview``), filtered, sorted and paged; 422 for an unknown
filter value. ``PATCH /api/fleet/stores/{store}/settings`` (``manage_devices``, store in scope)
edits the settings its nodes run with (printer paper, language, time zone, offline refund
limit): 422 naming the bad field, 404 for an unknown store; audited as ``store.updated``; the
store config's version rises and the new config is published, retained, to its nodes.

``GET /api/fleet/time`` needs nothing: the hub's UTC time, for a node's self-test to measure its
clock offset (round trip halved).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.access.permissions import Action, Principal, require_in_scope
from hub.access.users import Actor
from hub.errors import BrokerError, InputError, NotFound
from hub.fleet import enrolment, lifecycle, overview, pki, stores
from hub.fleet.alerts import Alert, Thresholds
from hub.fleet.dynsec import BrokerAdmins, broker_admins
from hub.fleet.enrolment import EnrolmentRefused, Refusal
from hub.settings import Settings
from hub.storage.engine import reading
from hub.web.api.deps import Hub, requires
from hub.web.api.errors import error_body
from hub.web.api.models import ErrorOut
from protocol import Money, utc_now

router = APIRouter(prefix="/api/fleet", tags=["fleet"])
REFUSAL_STATUS = {Refusal.UNKNOWN: 401, Refusal.EXPIRED: 410, Refusal.USED: 409,
                  Refusal.WRONG_STORE: 403, Refusal.THROTTLED: 429, Refusal.REVOKED: 403}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 410, 422, 429, 503)
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


class RenewIn(BaseModel):
    """A node asks for a new certificate, proving it holds its current key."""

    model_config = ConfigDict(extra="forbid")

    certificate: str = Field(min_length=1, max_length=pki.MAX_CERT_BYTES,
                             description="the node's current certificate (PEM)")
    csr: str = Field(min_length=1, max_length=pki.MAX_CSR_BYTES,
                     description="PEM CSR over the key the new certificate is for")
    signed_at: str = Field(min_length=1, max_length=40,
                           description="when the node signed, ISO 8601 UTC; within 5 minutes")
    signature: str = Field(min_length=1, max_length=400, description=(
        "base64 ECDSA-SHA256 signature with the CURRENT key over b'acorn-renew/v1\\n' + "
        "signed_at + b'\\n' + csr"))


class RenewOut(BaseModel):
    """The node's new certificate."""

    store_id: str
    node_id: str
    certificate: str
    ca_certificates: list[str]
    not_after: datetime


class RevokeIn(BaseModel):
    """Why a node is revoked."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=lifecycle.MAX_REASON)


class RevokeOut(BaseModel):
    """A revoked node; ``already`` if it was revoked before."""

    store_id: str
    node_id: str
    revoked_at: datetime
    already: bool


class RotateIn(BaseModel):
    """How long the rotation's enrolment code lives."""

    model_config = ConfigDict(extra="forbid")

    minutes: int | None = Field(None, ge=1, le=enrolment.MAX_CODE_MINUTES)


def limits_of(settings: Settings) -> enrolment.Limits:
    """The guessing throttle's settings."""
    return enrolment.Limits(settings.enrol_max_failures_per_client, settings.enrol_max_failures,
                            timedelta(seconds=settings.enrol_window_seconds))


def _broker_admin(settings: Settings) -> BrokerAdmins:
    """Admin logins to every broker's dynamic security (refused without its password)."""
    secret = settings.broker_admin_password.get_secret_value()
    if not secret:
        raise BrokerError("the hub cannot administer the broker: "
                          "ACORN_HUB_BROKER_ADMIN_PASSWORD is not set")
    return broker_admins(settings)


def provisioner(settings: Settings) -> Callable[[str, str], None]:
    """A function giving a node its certificate identity on the broker (one admin login)."""
    def provision(store_id: str, node_id: str) -> None:
        with _broker_admin(settings) as admin:
            admin.provision_cert_node(store_id, node_id)
    return provision


def unprovisioner(settings: Settings) -> Callable[[str, str], None]:
    """A function removing a node's client and role from the broker (one admin login)."""
    def unprovision(store_id: str, node_id: str) -> None:
        with _broker_admin(settings) as admin:
            admin.remove_node(store_id, node_id)
    return unprovision


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
                               timedelta(days=settings.fleet_cert_days), provisioner(settings),
                               unprovisioner(settings))
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


@router.post("/renew", response_model=RenewOut, responses=ERRORS)
def renew(hub: Hub, body: RenewIn, request: Request) -> RenewOut:
    """Renew a node's certificate; the node signs with its current key (no token needed)."""
    try:
        signature = base64.b64decode(body.signature, validate=True)
    except (binascii.Error, ValueError) as err:
        raise InputError("the signature is not base64", field="signature") from err
    asked = lifecycle.RenewalRequest(body.certificate, body.csr, body.signed_at, signature,
                                     request.client.host if request.client else None)
    settings = hub.settings
    done = lifecycle.renew(hub.engine, fleet_ca(settings), asked,
                           timedelta(days=settings.fleet_cert_days),
                           timedelta(days=settings.fleet_renew_grace_days))
    return RenewOut(store_id=done.store_id, node_id=done.node_id, certificate=done.certificate,
                    ca_certificates=[done.ca], not_after=done.not_after)


@router.post("/nodes/{store_id}/{node_id}/revoke", response_model=RevokeOut, responses=ERRORS)
def revoke(hub: Hub, store_id: str, node_id: str, body: RevokeIn,
           who: DeviceManager) -> RevokeOut:
    """Revoke a node for good: the broker drops it at once; no renewal, re-enrolment or event of
    it is accepted again (technician or admin, store in scope; audited with the reason)."""
    done = lifecycle.revoke(hub.engine, who, store_id, node_id, body.reason,
                            unprovisioner(hub.settings))
    return RevokeOut(store_id=done.store_id, node_id=done.node_id, revoked_at=done.revoked_at,
                     already=done.already)


@router.post("/nodes/{store_id}/{node_id}/rotate", response_model=CodeOut, status_code=201,
             responses=ERRORS)
def rotate(hub: Hub, store_id: str, node_id: str, body: RotateIn,
           who: DeviceManager) -> CodeOut:
    """An enrolment code that gives the node a new key and certificate; its old certificate is
    refused renewal once the new one is issued (technician or admin, store in scope)."""
    issued = lifecycle.rotate(hub.engine, who, store_id, node_id,
                              body.minutes or hub.settings.enrol_code_minutes)
    return CodeOut(code=issued.code, store_id=issued.store_id, node_id=issued.node_id,
                   expires_at=issued.expires_at)


class HubTimeOut(BaseModel):
    """The hub's clock."""

    now: datetime = Field(description="UTC, microseconds")


@router.get("/time", response_model=HubTimeOut)
def hub_time() -> HubTimeOut:
    """The hub's UTC time (no sign-in: a node's self-test measures its clock against it)."""
    return HubTimeOut(now=utc_now())


class StoreSettingsIn(BaseModel):
    """The settings a store's nodes run with; only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    printer_paper: Literal["58mm", "80mm"] | None = Field(None, description="receipt paper")
    language: Literal["en", "de", "zh", "ja"] | None = Field(None, description="receipts")
    time_zone: str | None = Field(None, min_length=1, max_length=64,
                                  description="IANA zone, e.g. Europe/Berlin")
    offline_refund_limit: Money | None = Field(None, description=(
        "largest refund a store manager approves while the hub is away (null: none)"))


class StoreSettingsSaved(BaseModel):
    """A store's settings after the change, and the config version the hub pushes."""

    store_id: str
    printer_paper: str | None
    language: str | None
    time_zone: str | None
    offline_refund_limit: Money | None
    config_version: int | None = Field(description="the version published so far (the new one "
                                       "follows within a moment)")


@router.patch("/stores/{store_id}/settings", response_model=StoreSettingsSaved,
              responses=ERRORS)
def store_settings(hub: Hub, store_id: str, body: StoreSettingsIn,
                   who: DeviceManager) -> StoreSettingsSaved:
    """Edit a store's settings (technician or admin, store in scope): audited, then pushed to
    its nodes as a new version of the retained store config."""
    with reading(hub.engine) as conn:
        if stores.described(conn, store_id) is None:
            raise NotFound(f"store {store_id} is not known to the hub", field="store")
        require_in_scope(who, stores.place(conn, store_id))
    sent = body.model_fields_set
    given: dict[str, str | None] = {k: getattr(body, k) for k in
                                    ("printer_paper", "language", "time_zone") if k in sent}
    limit: dict[str, Any] = {}
    if "offline_refund_limit" in sent:
        money = body.offline_refund_limit
        limit = {"limit": money.amount if money else None,
                 "currency": money.currency if money else None}
    # the store config's publisher wakes on the change (hub.storage.notices) and raises its version
    done = stores.set_store(hub.engine, store_id, Actor(who.actor, who.role.value),
                            node_settings=given, **limit)
    amount, currency = done["offline_limit"], done["offline_currency"]
    with reading(hub.engine) as conn:
        row = stores.described(conn, store_id)
    return StoreSettingsSaved(
        store_id=store_id, printer_paper=done["printer_paper"], language=done["language"],
        time_zone=done["time_zone"],
        offline_refund_limit=Money.of(amount, currency) if amount is not None else None,
        config_version=row["config_version"] if row else None)


class FleetQuery(BaseModel):
    """Filters, sort and page of the fleet page."""

    model_config = ConfigDict(extra="forbid")

    store: str | None = Field(None, min_length=1, max_length=40, description="one store id")
    region: str | None = Field(None, min_length=1, max_length=40)
    city: str | None = Field(None, min_length=1, max_length=60)
    state: overview.Presence | None = Field(None, description="online or offline nodes only")
    alert: Alert | Literal["any"] | None = Field(None, description=(
        "nodes with this alert (offline, unsent, certificate, clock, disk, pos), or with any"))
    sort: overview.SortKey = "store"
    order: Literal["asc", "desc"] = "asc"
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


class StoreSettingsNow(BaseModel):
    """A store's settings as the fleet page edits them (null: the nodes' own)."""

    language: str | None
    time_zone: str | None
    printer_paper: str | None
    offline_refund_limit: dict[str, str] | None = Field(description="amount and currency")


class FleetRowOut(BaseModel):
    """One node (or a store without a node yet: ``node_id`` null)."""

    store_id: str
    store_name: str | None
    region: str | None
    city: str | None
    config_published: int | None = Field(description="the store config version the hub pushes")
    store_settings: StoreSettingsNow = Field(description="what the store's nodes are pushed")
    node_id: str | None
    state: overview.Presence | None = Field(description="broker presence (null: no node)")
    last_seen_at: datetime | None = None
    offline_for_seconds: float | None = None
    version: str | None = Field(None, description="agent version")
    outbox_pending: int | None = None
    oldest_unsent_at: datetime | None = None
    unsent_age_seconds: float | None = None
    config_version: int | None = Field(None, description="store config version the node runs")
    printer: str | None = None
    scanner: str | None = None
    pos_terminal: str | None = Field(None, description=(
        "the POS terminal as the node's last self-test probed it: reachable, refused, timed_out, "
        "unreachable, unhealthy (null: no POS address set, or not reported)"))
    cert_not_after: datetime | None = None
    revoked: bool = False
    revoked_at: datetime | None = None
    clock_offset_seconds: float | None = Field(None, description=(
        "the node's clock minus the hub's, at its last self-test"))
    disk_free_bytes: int | None = Field(None, description="free disk at its last self-test")
    selftest_at: datetime | None = Field(None, description="when its last self-test ran")
    selftest_passed: bool | None = None
    selftest_failing: list[str] | None = Field(None, description="the checks that failed")
    alerts: list[Alert]


class ThresholdsOut(BaseModel):
    """The alert thresholds in force (hub settings)."""

    offline_seconds: float
    unsent_seconds: float
    cert_days: float
    clock_seconds: float
    disk_mb: float


class FleetPage(BaseModel):
    """One page of the fleet."""

    items: list[FleetRowOut]
    total: int
    limit: int
    offset: int
    thresholds: ThresholdsOut
    now: datetime


def thresholds_of(settings: Settings) -> Thresholds:
    """The alert thresholds from the hub's settings."""
    return Thresholds(timedelta(seconds=settings.fleet_offline_alert_seconds),
                      timedelta(seconds=settings.fleet_unsent_alert_seconds),
                      timedelta(days=settings.fleet_cert_alert_days),
                      settings.fleet_clock_alert_seconds,
                      int(settings.fleet_disk_alert_mb * 1_000_000))


@router.get("/nodes", response_model=FleetPage, responses=ERRORS)
def fleet_nodes(hub: Hub, who: DeviceManager,
                search: Annotated[FleetQuery, Query()]) -> FleetPage:
    """Every store and node in the caller's scope: online or offline, last seen, agent version,
    outbox depth and age of the oldest unsent event, printer and scanner, config version,
    certificate expiry and revocation, alerts (technician or admin)."""
    wanted = overview.FleetFilter(search.store, search.region, search.city, search.state,
                                  search.alert, search.sort, search.order == "desc",
                                  search.limit, search.offset)
    settings, now = hub.settings, utc_now()
    with reading(hub.engine) as conn:
        rows, total = overview.page(conn, who.scope, wanted, now, thresholds_of(settings))
    return FleetPage(items=[FleetRowOut.model_validate(r) for r in rows], total=total,
                     limit=search.limit, offset=search.offset, now=now,
                     thresholds=ThresholdsOut(offline_seconds=settings.fleet_offline_alert_seconds,
                                              unsent_seconds=settings.fleet_unsent_alert_seconds,
                                              cert_days=settings.fleet_cert_alert_days,
                                              clock_seconds=settings.fleet_clock_alert_seconds,
                                              disk_mb=settings.fleet_disk_alert_mb))
