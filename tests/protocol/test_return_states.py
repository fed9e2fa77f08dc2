"""The one return state machine: what it means, and that the counter and the hub both live by it.

Not a copy of the table: properties every table we could want must have (every state reachable,
final states closed, nothing restocked before QC, each step once, never backwards), then one
return walked through the real counter (SQLite) and its events through the real hub ingest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from edge_agent.errors import TransitionRefused
from edge_agent.returns.counter import Counter
from edge_agent.returns.models import (
    DispositionRequest,
    InspectionRequest,
    ItemRequest,
    ReturnRequest,
)
from edge_agent.storage import outbox
from edge_agent.storage.store import Store
from hub.storage.engine import make_engine, reading, writing
from hub.storage.tables.core import dead_letters, returns
from hub.sync.ingest.batch import store_batch
from hub.sync.ingest.classify import classify
from protocol import (
    Channel,
    Disposition,
    Envelope,
    Grade,
    InspectionRecorded,
    Money,
    TopicKind,
    encode,
    make_envelope,
    node_topic,
    utc_now,
)
from protocol.return_states import (
    REFUSALS,
    TRANSITIONS,
    ReturnAction,
    ReturnState,
    State,
    TransitionError,
    allowed_actions,
    is_final,
    lifecycle_rank,
    transition,
)
from tests.support.databases import migrated

STARTS: tuple[State, ...] = (None, ReturnState.EXPECTED)  # a walk-in, an announced RMA
EVERY_STATE: list[State] = [None, *ReturnState]
STORE, NODE = "store-a", "counter-1"


def reachable_from(starts: tuple[State, ...]) -> set[State]:
    """Every state some sequence of allowed actions leads to (the starts included)."""
    seen, todo = set(starts), list(starts)
    while todo:
        state = todo.pop()
        for action in allowed_actions(state):
            after = transition(state, action)
            if after not in seen:
                seen.add(after)
                todo.append(after)
    return seen


def test_every_state_is_reachable_from_where_a_return_starts() -> None:
    assert reachable_from(STARTS) == set(EVERY_STATE)


def test_final_states_have_no_way_out_and_every_other_state_leads_to_one() -> None:
    finals = {state for state in EVERY_STATE if is_final(state)}
    assert finals == {ReturnState.DISPOSED}  # the goods left the counter: the story ends
    for state in EVERY_STATE:
        assert reachable_from((state,)) & finals, f"{state} can never finish"
    for action in ReturnAction:
        with pytest.raises(TransitionError, match="nothing more can be recorded"):
            transition(ReturnState.DISPOSED, action)


def test_every_refusal_says_why_in_words_and_names_the_move() -> None:
    for state in EVERY_STATE:
        refused = set(ReturnAction) - set(allowed_actions(state))
        for action in refused:
            with pytest.raises(TransitionError) as caught:
                transition(state, action)
            assert (caught.value.state, caught.value.action) == (state, action)
            assert len(str(caught.value).split()) >= 4  # a sentence, not a code
    assert not set(TRANSITIONS) & set(REFUSALS)


def walk(start: State, actions: list[ReturnAction]) -> list[tuple[ReturnAction, State, State]]:
    """Apply ``actions`` in turn, skipping refused ones; the (action, before, after) taken."""
    taken, state = [], start
    for action in actions:
        try:
            after: State = transition(state, action)
        except TransitionError:
            continue
        taken.append((action, state, after))
        state = after
    return taken


@given(st.sampled_from(STARTS), st.lists(st.sampled_from(list(ReturnAction)), max_size=12))
def test_any_sequence_of_counter_actions_keeps_the_rules(
    start: State, actions: list[ReturnAction]
) -> None:
    taken = walk(start, actions)
    done = [action for action, _, _ in taken]
    assert len(done) == len(set(done))  # received once, inspected once, disposed once
    if ReturnAction.DISPOSE in done:  # nothing is restocked before QC
        assert done.index(ReturnAction.INSPECT) < done.index(ReturnAction.DISPOSE)
    if ReturnAction.INSPECT in done:
        assert done.index(ReturnAction.RECEIVE) < done.index(ReturnAction.INSPECT)
    for _, before, after in taken:  # never backwards
        assert after is not None
        assert before is None or lifecycle_rank(after) > lifecycle_rank(before)


# -- the counter and the hub, with the real code on both sides --------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The counter's real SQLite file."""
    opened = Store.open(tmp_path / "edge.db", STORE, NODE)
    yield opened
    opened.close()


@pytest.fixture
def hub_db(tmp_path: Path) -> Iterator[Engine]:
    """A migrated hub database (SQLite: the table does not depend on the backend)."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrated(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def hub_ingest(engine: Engine, *events: Envelope) -> None:
    """Feed events to the hub's real ingest transaction, as they arrive on the node's topic."""
    topic = node_topic(STORE, NODE, TopicKind.EVENTS)
    with writing(engine) as tx:
        store_batch(tx, [classify(topic, encode(event)) for event in events])


def hub_state(engine: Engine, return_id: str) -> str:
    with reading(engine) as conn:
        return str(conn.execute(select(returns.c.state).where(
            returns.c.store_id == STORE, returns.c.return_id == return_id)).scalar_one())


def a_return(counter: Counter) -> str:
    view = counter.record_return(ReturnRequest(
        channel=Channel.POS, reason="too small", request_refund=False,
        items=[ItemRequest(sku="SKU-1", quantity=1, unit_price=Money.of("12.00", "EUR"))]))
    return view.return_id


def test_the_counter_and_the_hub_take_a_return_through_the_same_life(
    store: Store, hub_db: Engine
) -> None:
    counter = Counter(store, STORE, NODE)
    done, open_one = a_return(counter), a_return(counter)
    qc = InspectionRequest(grade=Grade.LIKE_NEW, inspected_by="emp-1")
    restock = DispositionRequest(disposition=Disposition.RESTOCK_SELLABLE)
    with pytest.raises(TransitionRefused, match="not been inspected") as early:
        counter.record_disposition(done, restock)
    assert early.value.status_code == 409
    counter.record_inspection(done, qc)
    assert counter.record_disposition(done, restock).state == "disposed"
    assert counter.get_return(done).allowed_actions == []
    counter.record_inspection(open_one, qc)
    with pytest.raises(TransitionRefused) as second:  # QC is recorded once
        counter.record_inspection(open_one, qc)

    with store.read() as tx:
        events = outbox.read_range(tx, STORE, NODE, 1, 1000)
    assert [e.kind for e in events] == ["return.received", "return.received",
                                        "inspection.recorded", "disposition.recorded",
                                        "inspection.recorded"]
    hub_ingest(hub_db, *events)
    assert (hub_state(hub_db, done), hub_state(hub_db, open_one)) == ("disposed", "inspected")

    # a store that broke the table would send a second inspection: the hub refuses it with the
    # very sentence the counter shows, dead-letters it, and the return stays as it was
    again = make_envelope(STORE, NODE, len(events) + 1, InspectionRecorded(
        return_id=open_one, grade=Grade.DEFECTIVE, inspected_at=utc_now()))
    hub_ingest(hub_db, again)
    with reading(hub_db) as conn:
        (reason,) = conn.execute(select(dead_letters.c.reason)).scalars()
    assert str(second.value) in reason
    assert hub_state(hub_db, open_one) == "inspected"
