"""ACORN wire protocol: envelope, message bodies, topics, money, the codec, the return state
table (``protocol.return_states``) and the stock move table (``protocol.stock``).

No I/O here, and no import of anything else of ours or of any MQTT, SQL, web or settings library.
Errors: see ``protocol.errors`` (``ProtocolError`` > ``DecodeError``, ``TopicError``,
``TransitionError``, ``InvalidValue``).
"""

from protocol.codec import decode, encode
from protocol.config import CONFIG_NODE_ID, StaffPin, StoreAllocation, StoreConfig, StoreReserve
from protocol.envelope import (
    BODY_TYPES,
    COMMAND_KINDS,
    EVENT_KINDS,
    SCHEMA_VERSION,
    Envelope,
    Kind,
    make_envelope,
)
from protocol.errors import (
    DecodeError,
    InvalidValue,
    ProtocolError,
    TopicError,
    TransitionError,
)
from protocol.ids import check_id, new_message_id
from protocol.limits import MAX_PAYLOAD_BYTES
from protocol.link import Ack, NodeStatus
from protocol.money import MINOR_UNITS, Money, minor_units
from protocol.return_states import ReturnAction, ReturnState
from protocol.returns import (
    Body,
    Candidate,
    Channel,
    Code,
    CommandApplied,
    ComplianceTag,
    DecisionRule,
    Disposition,
    DispositionRecorded,
    EventVerify,
    ExpectedReturn,
    Grade,
    HeldEvent,
    InspectionRecorded,
    Note,
    RefundDecided,
    RefundOutcome,
    RefundPayment,
    RefundRequested,
    RefundStatus,
    ReturnItem,
    ReturnReceived,
    RuleEffect,
    Text,
    event_hash,
    items_total,
)
from protocol.stock import MOVES, MoveReason, StockMoved, StockState, move_allowed
from protocol.timeutil import format_utc, to_utc, utc_now
from protocol.topics import (
    KINDS_ON_TOPIC,
    PREFIX,
    Topic,
    TopicKind,
    config_topic,
    node_topic,
    parse_topic,
    subscription,
)

__version__ = "1"

__all__ = [
    "BODY_TYPES",
    "COMMAND_KINDS",
    "CONFIG_NODE_ID",
    "EVENT_KINDS",
    "KINDS_ON_TOPIC",
    "MAX_PAYLOAD_BYTES",
    "MINOR_UNITS",
    "MOVES",
    "PREFIX",
    "SCHEMA_VERSION",
    "Ack",
    "Body",
    "Candidate",
    "Channel",
    "Code",
    "CommandApplied",
    "ComplianceTag",
    "DecisionRule",
    "DecodeError",
    "Disposition",
    "DispositionRecorded",
    "Envelope",
    "EventVerify",
    "ExpectedReturn",
    "Grade",
    "HeldEvent",
    "InspectionRecorded",
    "InvalidValue",
    "Kind",
    "Money",
    "MoveReason",
    "NodeStatus",
    "Note",
    "ProtocolError",
    "RefundDecided",
    "RefundOutcome",
    "RefundPayment",
    "RefundRequested",
    "RefundStatus",
    "ReturnAction",
    "ReturnItem",
    "ReturnReceived",
    "ReturnState",
    "RuleEffect",
    "StaffPin",
    "StockMoved",
    "StockState",
    "StoreAllocation",
    "StoreConfig",
    "StoreReserve",
    "Text",
    "Topic",
    "TopicError",
    "TopicKind",
    "TransitionError",
    "check_id",
    "config_topic",
    "decode",
    "encode",
    "event_hash",
    "format_utc",
    "items_total",
    "make_envelope",
    "minor_units",
    "move_allowed",
    "new_message_id",
    "node_topic",
    "parse_topic",
    "subscription",
    "to_utc",
    "utc_now",
]
