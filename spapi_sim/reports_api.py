"""Reports API 2021-06-30: createReport, getReports, getReport, cancelReport, getReportDocument.

Served report types: the MFN and FBA returns reports and the EU VAT reports (`vat_reports`:
GET_VAT_TRANSACTION_DATA, SC_VAT_TAX_REPORT), requested with createReport, and the V2
settlement report, which, as on Amazon, cannot be requested: createReport refuses it and
getReports lists the settlements Amazon "generated". Other report types are refused with
InvalidInput. `nextToken` of getReports must be sent alone and carries the filters.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from spapi_sim.errors import InvalidInput, NotFound
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.lifecycle import Job, Status
from spapi_sim.marketplaces import BY_ID
from spapi_sim.orders_json import iso_z
from spapi_sim.params import (
    enum_values,
    int_param,
    json_body,
    one,
    parse_time,
    string_list,
    time_param,
)
from spapi_sim.params import values as list_param
from spapi_sim.processing import settlement_jobs
from spapi_sim.reports import FBA_RETURNS, MFN_RETURNS, SETTLEMENT
from spapi_sim.vat_reports import VAT_RATES, VAT_REPORTS
from spapi_sim.web import Call, base_url, gate, reply

REQUESTABLE = frozenset({MFN_RETURNS, FBA_RETURNS, *VAT_REPORTS})
STATUSES = frozenset(s.value for s in Status)
GET_REPORTS_FILTERS = ("reportTypes", "processingStatuses", "marketplaceIds", "pageSize",
                       "createdSince", "createdUntil")

router = APIRouter(tags=["Reports 2021-06-30"])


def report_json(job: Job) -> dict[str, Any]:
    """The Report object."""
    body: dict[str, Any] = {
        "reportId": job.job_id, "reportType": job.job_type,
        "marketplaceIds": list(job.marketplace_ids), "createdTime": iso_z(job.created),
        "processingStatus": job.status.value,
    }
    if job.data_start is not None and job.data_end is not None:
        body["dataStartTime"], body["dataEndTime"] = iso_z(job.data_start), iso_z(job.data_end)
    if job.started is not None:
        body["processingStartTime"] = iso_z(job.started)
    if job.finished is not None and job.status in (Status.DONE, Status.FATAL):
        body["processingEndTime"] = iso_z(job.finished)
    if job.document_id is not None and job.status == Status.DONE:
        body["reportDocumentId"] = job.document_id
    return body


def all_reports(call: Call) -> list[Job]:
    """Requested and settlement reports of the caller, newest first."""
    sim = call.sim
    jobs = sim.reports.of_seller(call.seller_id, call.now)
    jobs += settlement_jobs(sim.world, sim.documents, call.seller_id, call.now)
    return sorted(jobs, key=lambda j: (j.created, j.job_id), reverse=True)


@router.post("/reports/2021-06-30/reports", status_code=202)
async def create_report(request: Request,
                        call: Annotated[Call, Depends(gate("createReport"))]) -> AmazonJSONResponse:
    """Request a returns report."""
    body = await json_body(request)
    report_type = body.get("reportType")
    if report_type == SETTLEMENT:
        # Settlement reports are scheduled by Amazon only (simulator's wording).
        raise InvalidInput(f"Report type {SETTLEMENT} cannot be requested or scheduled. "
                           "Use getReports to find the settlement reports Amazon generated.")
    if report_type not in REQUESTABLE:
        raise InvalidInput(f"Invalid reportType {report_type!r}: the simulator serves "
                           f"{', '.join(sorted(REQUESTABLE))}.")
    marketplace_ids = string_list(body, "marketplaceIds")
    if not set(marketplace_ids) <= set(call.account.marketplace_ids):
        raise InvalidInput("marketplaceIds contains a marketplace this seller does not sell in.")
    if report_type in VAT_REPORTS and not all(
            m in BY_ID and BY_ID[m].code in VAT_RATES for m in marketplace_ids):
        raise InvalidInput(f"{report_type} is only available in the EU marketplaces "
                           "(DE, FR, IT, ES, UK).")
    end = min(_body_time(body, "dataEndTime") or call.now, call.now)
    start = _body_time(body, "dataStartTime") or end - timedelta(days=30)
    if start > end:
        raise InvalidInput("dataStartTime must be before dataEndTime.")
    job = Job(call.sim.ids.report_id(), call.seller_id, report_type, tuple(marketplace_ids),
              call.now, data_start=start, data_end=end)
    call.sim.reports.add(job)
    return reply({"reportId": job.job_id}, 202)


def _body_time(body: dict[str, Any], name: str) -> Any:
    value = body.get(name)
    return parse_time(value, name) if isinstance(value, str) else None


@router.get("/reports/2021-06-30/reports")
async def get_reports(request: Request,
                      call: Annotated[Call, Depends(gate("getReports"))]) -> AmazonJSONResponse:
    """Reports matching filters, a page at a time."""
    token = one(request.query_params, "nextToken")
    if token is not None:
        if any(one(request.query_params, name) for name in GET_REPORTS_FILTERS):
            raise InvalidInput("nextToken must be the only parameter.")
        filters, offset = _resume(token, call)
    else:
        filters, offset = _filters(request, call), 0
    found = [j for j in all_reports(call) if _matches(j, filters)]
    size = int(filters["pageSize"])
    body: dict[str, Any] = {"reports": [report_json(j) for j in found[offset:offset + size]]}
    if offset + size < len(found):
        body["nextToken"] = call.sim.signer.seal(
            {"k": "reports", "s": call.seller_id, "o": offset + size, "f": filters})
    return reply(body)


def _filters(request: Request, call: Call) -> dict[str, Any]:
    query = request.query_params
    report_types = list_param(query, "reportTypes")
    if not 1 <= len(report_types) <= 10:
        raise InvalidInput("Either reportTypes (1 to 10) or nextToken is required.")
    since = time_param(query, "createdSince") or call.now - timedelta(days=90)
    until = time_param(query, "createdUntil") or call.now
    return {"types": report_types,
            "statuses": enum_values(query, "processingStatuses", STATUSES),
            "marketplaces": list_param(query, "marketplaceIds"),
            "pageSize": int_param(query, "pageSize", 10, 1, 100),
            "since": iso_z(since), "until": iso_z(until)}


def _resume(token: str, call: Call) -> tuple[dict[str, Any], int]:
    payload = call.sim.signer.unseal(token)
    if not payload or payload.get("k") != "reports" or payload.get("s") != call.seller_id:
        raise InvalidInput("Invalid nextToken.")
    return payload["f"], int(payload["o"])


def _matches(job: Job, filters: dict[str, Any]) -> bool:
    return (job.job_type in filters["types"]
            and (not filters["statuses"] or job.status.value in filters["statuses"])
            and (not filters["marketplaces"]
                 or bool(set(job.marketplace_ids) & set(filters["marketplaces"])))
            and filters["since"] <= iso_z(job.created) <= filters["until"])


def _find(call: Call, report_id: str, *, poll: bool) -> Job:
    job = call.sim.reports.get(call.seller_id, report_id, call.now, poll=poll)
    job = job or next((j for j in settlement_jobs(call.sim.world, call.sim.documents,
                                                  call.seller_id, call.now)
                       if j.job_id == report_id), None)
    if job is None:
        raise NotFound(f"Report {report_id} was not found.")
    return job


@router.get("/reports/2021-06-30/reports/{report_id}")
async def get_report(report_id: str,
                     call: Annotated[Call, Depends(gate("getReport"))]) -> AmazonJSONResponse:
    """One report; each poll also moves it along its lifecycle."""
    return reply(report_json(_find(call, report_id, poll=True)))


@router.delete("/reports/2021-06-30/reports/{report_id}")
async def cancel_report(report_id: str,
                        call: Annotated[Call, Depends(gate("cancelReport"))]) -> AmazonJSONResponse:
    """Cancel an IN_QUEUE report (200, empty body)."""
    if call.sim.reports.cancel(call.seller_id, report_id, call.now) is None:
        _find(call, report_id, poll=False)  # NotFound, or a settlement: not cancellable
        raise InvalidInput(f"{report_id} cannot be cancelled.")
    return reply(None)


@router.get("/reports/2021-06-30/documents/{document_id}")
async def get_report_document(
        document_id: str, request: Request,
        call: Annotated[Call, Depends(gate("getReportDocument"))]) -> AmazonJSONResponse:
    """Where to download a report document, and whether it is gzip-compressed."""
    document = call.sim.documents.find(document_id, call.seller_id)
    if document is None or not document_id.startswith("amzn1.spdoc."):
        raise NotFound(f"Report document {document_id} was not found.")
    url = call.sim.documents.presign(document_id, "GET", base_url(request), call.now)
    body: dict[str, Any] = {"reportDocumentId": document_id, "url": url}
    if document.compressed:
        body["compressionAlgorithm"] = "GZIP"
    return reply(body)
