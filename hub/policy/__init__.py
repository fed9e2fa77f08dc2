"""The refund approval policy (issue 5): a versioned policy document and a pure decision engine.

    text = ...                                   # YAML from the API, a file, the database
    policy = compile_policy(load_policy_yaml(text))        # once per published version
    decision = decide(request, history, policy, now)       # pure; 50,000+ a second
    report = simulate(draft, policy, requests_with_history, now)

No I/O here: ``load_policy_yaml`` takes text, and reading it is the caller's job. Rules of each
part live in its module: ``document`` (the YAML format), ``compiled`` (conversion, timing lookup),
``engine`` (order and precedence), ``terms`` (windows, opened goods, withdrawal, warranty),
``risk`` (manual-review rules), ``simulation`` (what a draft would change). Errors:
``PolicyError`` (a ``hub.errors.InputError``) with the ``path`` of the bad field.
"""

from hub.policy.compiled import CompiledPolicy, compile_policy
from hub.policy.document import PolicyDocument
from hub.policy.engine import decide, decide_all
from hub.policy.errors import PolicyError, Problem
from hub.policy.loader import default_policy, default_policy_text, load_policy_yaml
from hub.policy.simulation import Change, Example, OutcomeTotal, SimulationReport, simulate
from hub.policy.terms import DISTANCE_CHANNELS, window_closes
from hub.policy.values import (
    Decision,
    Effect,
    FiredRule,
    FxRate,
    Outcome,
    PriorRefund,
    RefundRequest,
    Timing,
)

__all__ = [
    "DISTANCE_CHANNELS",
    "Change",
    "CompiledPolicy",
    "Decision",
    "Effect",
    "Example",
    "FiredRule",
    "FxRate",
    "Outcome",
    "OutcomeTotal",
    "PolicyDocument",
    "PolicyError",
    "PriorRefund",
    "Problem",
    "RefundRequest",
    "SimulationReport",
    "Timing",
    "compile_policy",
    "decide",
    "decide_all",
    "default_policy",
    "default_policy_text",
    "load_policy_yaml",
    "simulate",
    "window_closes",
]
