"""What happens when a report or a feed finishes processing.

`ReportMaker` turns a finished returns or VAT report into a document rendered from the world as
it was at the finishing time (an MFN returns report over more than 60 days is FATAL, as Amazon
allows at most 60; a VAT report outside its availability is FATAL, see `vat_reports`).
`FeedProcessor` reads the uploaded adjustment feed, applies the messages
that pass (each accepted item becomes a RefundEvent posted `refund_delay_seconds` later) and
stores the processing report. `settlement_jobs` presents closed settlements as DONE reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from spapi_sim.accounts import SellerAccount
from spapi_sim.datagen import refund_event
from spapi_sim.documents import DocumentStore
from spapi_sim.feeds import FeedParseError, Message, Outcome, Result, check_message, parse_feed
from spapi_sim.feeds import processing_report as render_processing_report
from spapi_sim.ids import IdFactory
from spapi_sim.lifecycle import Job, Status, complete, fail
from spapi_sim.listings import ListingBook
from spapi_sim.listings_feed import FEED_TYPE as LISTINGS_FEED
from spapi_sim.listings_feed import SchemaCheck, process_feed
from spapi_sim.listings_feed import processing_report as listings_report
from spapi_sim.marketplaces import marketplace
from spapi_sim.model import Order, ReturnRequest, Settlement
from spapi_sim.reports import MFN_RETURNS, SETTLEMENT, in_window, returns_report
from spapi_sim.settings import SimulatorSettings
from spapi_sim.settlement import settlement_report
from spapi_sim.vat_reports import (
    VAT_REPORTS,
    report_end,
    vat_available,
    vat_report,
    window_lines,
)
from spapi_sim.world import World

MAX_MFN_WINDOW = timedelta(days=60)
RESULT_CONTENT_TYPE = "text/xml; charset=UTF-8"
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
# XML and flat-file listings feeds, removed on 2025-07-31 in favour of JSON_LISTINGS_FEED.
REMOVED_FEED_TYPES = frozenset({
    "POST_PRODUCT_DATA", "POST_INVENTORY_AVAILABILITY_DATA", "POST_PRODUCT_PRICING_DATA",
    "POST_FLAT_FILE_LISTINGS_DATA", "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA",
    "POST_FLAT_FILE_INVLOADER_DATA"})


def content_type(charset: str) -> str:
    """The Content-Type a flat-file document is served with."""
    return f"text/plain; charset={charset}"


class ReportMaker:
    """Finishes requested returns reports."""

    def __init__(self, world: World, documents: DocumentStore, ids: IdFactory,
                 accounts: Mapping[str, SellerAccount]) -> None:
        self._world = world
        self._documents = documents
        self._ids = ids
        self._accounts = accounts

    def __call__(self, job: Job) -> Job:
        """The finished job, DONE with a document or FATAL."""
        assert job.data_start is not None and job.data_end is not None  # set at creation
        if job.job_type == MFN_RETURNS and job.data_end - job.data_start > MAX_MFN_WINDOW:
            return fail(job)
        if job.job_type in VAT_REPORTS and not vat_available(job):
            return fail(job)
        market = marketplace(job.marketplace_ids[0])
        document_id = self._ids.report_document_id(self._accounts[job.seller_id].region)
        self._documents.add(document_id, job.seller_id, content_type(market.charset),
                            lambda: self._render(job).encode(market.codec))
        return complete(job, document_id)

    def _render(self, job: Job) -> str:
        assert job.data_start is not None and job.data_end is not None
        assert job.finished is not None
        seller, at = job.seller_id, job.finished
        if job.job_type in VAT_REPORTS:
            market = marketplace(job.marketplace_ids[0])
            lines = window_lines(self._world.orders(seller), self._world.refunds(seller, at),
                                 market, job.data_start, report_end(job))
            return vat_report(job.job_type, lines, seller, market)
        pairs = [(r, self._order(seller, r)) for r in self._world.returns(seller)
                 if r.marketplace_id in job.marketplace_ids
                 and in_window(r, job.data_start, min(job.data_end, at))]

        totals: dict[tuple[str, str], Decimal] = {}
        for event in self._world.refunds(seller, at):
            key = (event.order_id, event.order_item_id)
            totals[key] = totals.get(key, Decimal(0)) + event.refunded

        def refunded(returned: ReturnRequest) -> Decimal:
            return totals.get((returned.order_id, returned.order_item_id), Decimal(0))

        return returns_report(job.job_type, pairs, refunded, at)

    def _order(self, seller_id: str, returned: ReturnRequest) -> Order:
        order = self._world.order(seller_id, returned.order_id)
        assert order is not None  # returns are drawn from existing orders
        return order


class FeedProcessor:
    """Finishes order adjustment feeds and JSON listings feeds."""

    def __init__(self, world: World, documents: DocumentStore, ids: IdFactory,
                 settings: SimulatorSettings, accounts: Mapping[str, SellerAccount],
                 listings: ListingBook | None = None,
                 listings_schema: SchemaCheck | None = None) -> None:
        self._listings = listings
        self._listings_schema = listings_schema
        self._world = world
        self._documents = documents
        self._ids = ids
        self._delay = timedelta(seconds=settings.refund_delay_seconds)
        self._accounts = accounts

    def __call__(self, job: Job) -> Job:
        """The finished feed: DONE with a processing report, FATAL when nothing was uploaded."""
        assert job.input_document_id is not None and job.finished is not None
        data = self._documents.uploaded(job.input_document_id)
        if data is None:
            return fail(job)
        if job.job_type in REMOVED_FEED_TYPES:
            return fail(job)  # Amazon ends the removed listings feeds FATAL
        if job.job_type == LISTINGS_FEED:
            return self._listings_feed(job, data)
        outcome = self._apply(job, data)
        region = self._accounts[job.seller_id].region
        document_id = self._ids.feed_document_id(region)
        report = render_processing_report(job.seller_id, job.job_id, outcome)
        self._documents.add(document_id, job.seller_id, RESULT_CONTENT_TYPE, lambda: report)
        return complete(job, document_id)

    def _listings_feed(self, job: Job, data: bytes) -> Job:
        assert self._listings is not None and job.finished is not None
        outcome = process_feed(data, self._listings, job.seller_id, job.marketplace_ids[0],
                               job.finished, self._listings_schema)
        report = listings_report(job.seller_id, job.job_id, outcome)
        document_id = self._ids.feed_document_id(self._accounts[job.seller_id].region)
        self._documents.add(document_id, job.seller_id, JSON_CONTENT_TYPE, lambda: report)
        return complete(job, document_id)

    def _apply(self, job: Job, data: bytes) -> Outcome:
        try:
            messages = parse_feed(data)
        except FeedParseError as err:
            return Outcome(0, [Result("0", "", "5000", str(err))])
        outcome = Outcome(processed=len(messages))
        for message in messages:
            problem = self._apply_message(job, message)
            if problem is not None:
                outcome.errors.append(Result(message.message_id, message.order_id, *problem))
        return outcome

    def _apply_message(self, job: Job, message: Message) -> tuple[str, str] | None:
        seller = job.seller_id

        def find(order_id: str) -> Order | None:
            order = self._world.order(seller, order_id)
            return order if order and order.marketplace_id in job.marketplace_ids else None

        problem = check_message(message, find,
                                lambda o, i: self._world.refunded(seller, o, i))
        if problem is not None:
            return problem
        order = find(message.order_id)
        assert order is not None and job.finished is not None  # checked above
        for item in message.items:
            line = order.item(item.order_item_id)
            assert line is not None  # checked above
            self._world.add_refund(refund_event(
                order, line, item.components, job.finished + self._delay,
                self._ids.adjustment_item_id(), item.merchant_adjustment_item_id))
        return None


def settlement_job(settlement: Settlement) -> Job:
    """A closed settlement as the DONE report getReports lists."""
    return Job(
        job_id=settlement.report_id, seller_id=settlement.seller_id, job_type=SETTLEMENT,
        marketplace_ids=(settlement.marketplace_id,), created=settlement.published,
        data_start=settlement.start, data_end=settlement.end, status=Status.DONE,
        started=settlement.published, finished=settlement.published,
        document_id=settlement.document_id)


def settlement_jobs(world: World, documents: DocumentStore, seller_id: str,
                    now: datetime) -> list[Job]:
    """The seller's settlement reports published by `now`, their documents registered."""
    jobs = []
    for settlement in world.settlements(seller_id, now):
        if settlement.published > now:
            continue
        if settlement.document_id not in documents:
            market = marketplace(settlement.marketplace_id)
            documents.add(settlement.document_id, seller_id, content_type(market.charset),
                          _settlement_renderer(world, settlement))
        jobs.append(settlement_job(settlement))
    return jobs


def _settlement_renderer(world: World, settlement: Settlement) -> Callable[[], bytes]:
    market = marketplace(settlement.marketplace_id)

    def render() -> bytes:
        orders, refunds = world.settlement_lines(settlement)
        return settlement_report(settlement, market, orders, refunds).encode(market.codec)

    return render
