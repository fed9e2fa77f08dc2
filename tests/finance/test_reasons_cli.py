"""``acorn-hub reasons ...`` on a real database, and the hub's own pass: lines that existed
before the hub started are classified by it (the backfill), and a pass that cannot write says
so in the log and leaves the next one to try."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from hub.finance.reasons.rules import default_rules_text
from hub.finance.reasons.runner import ReasonClassifier
from hub.storage.engine import reading
from hub.storage.tables.reasons import return_reasons
from tests.finance.reasons_seed import seed
from tests.inventory.cli_helpers import cli


def db(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def lines(engine: Engine) -> int:
    with reading(engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(return_reasons)) or 0)


def test_classify_breakdown_money_and_unmapped(engine: Engine) -> None:
    seed(engine)
    code, out, _ = cli(db(engine), "reasons", "classify")
    assert code == 0 and out.startswith("9 lines classified")
    assert cli(db(engine), "reasons", "classify")[1].startswith("0 lines classified")
    code, out, _ = cli(db(engine), "reasons", "breakdown", "--by", "region", "--csv")
    table = list(csv.reader(io.StringIO(out)))
    assert code == 0 and {row[0]: row[1] for row in table[1:]} == {
        "north": "4", "west": "2", "(none)": "4"}
    code, out, _ = cli(db(engine), "reasons", "money", "--from", "2026-01", "--to", "2026-01")
    assert code == 0 and out.splitlines()[1:] == ["defective\tEUR\t79.90",
                                                  "defective\tUSD\t12.50"]
    code, out, _ = cli(db(engine), "reasons", "unmapped")
    assert sorted(out.splitlines()) == ["amazon_mfn\t1\tWEIRD_NEW_CODE",
                                        "store\t1\tcustomer left no word"]


def test_rules_publish_and_refusals(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    cli(db(engine), "reasons", "classify")
    good = tmp_path / "rules.yaml"
    good.write_text(default_rules_text().replace("version: 1", "version: 2")
                    + "  - {reason: customer_choice, sub_reason: changed_mind, "
                      "patterns: ['no word']}\n", "utf-8")
    code, out, _ = cli(db(engine), "reasons", "rules", "publish", str(good))
    assert code == 0 and "version 2" in out and "2 lines mapped again" in out
    assert "no word" in cli(db(engine), "reasons", "rules", "show")[1]
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 3\nname: x\nrules:\n  - {reason: defective, sub_reason: quality, "
                   "patterns: ['(']}\n", "utf-8")
    code, out, err = cli(db(engine), "reasons", "rules", "publish", str(bad))
    assert code == 1 and "rules[0].patterns[0]" in err and "Traceback" not in err + out
    code, _, err = cli(db(engine), "reasons", "money", "--from", "January")
    assert code == 1 and "--from is a month as YYYY-MM" in err
    code, _, err = cli(db(engine), "reasons", "rules", "publish", str(tmp_path / "none.yaml"))
    assert code == 1 and "cannot read" in err


def test_the_hubs_pass_backfills_what_was_there_before(engine: Engine) -> None:
    seed(engine)
    classifier = ReasonClassifier(engine, seconds=3600).start()
    try:
        assert classifier.passed.wait(30)
    finally:
        classifier.stop()
    assert lines(engine) == 9


def test_a_pass_that_cannot_write_logs_and_changes_nothing(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    seed(engine)
    with engine.begin() as conn:  # the table is gone: the pass really fails
        conn.execute(text("DROP TABLE reason_rules"))
    with caplog.at_level(logging.WARNING, logger="hub.finance.reasons.runner"):
        assert ReasonClassifier(engine).once() is None
    assert "return reasons not classified this time" in caplog.text
    assert lines(engine) == 0
