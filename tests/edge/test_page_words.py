"""The counter page's own words and the counter's scan and mismatch sentences: every language has
every key with the same placeholders, every key the page's HTML and scripts use exists, the page is
served in the store's language, and a mismatch recorded in English is said in the store's language.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge_agent.returns import check_words, scans, words
from edge_agent.returns.states import mismatches
from edge_agent.web import page_words
from protocol import Channel, ExpectedReturn, Money, ReturnItem

STATIC = Path(page_words.__file__).parent / "static"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def placeholders(texts: dict[str, str]) -> dict[str, set[str]]:
    return {key: set(PLACEHOLDER.findall(text)) for key, text in texts.items()}


@pytest.mark.parametrize("language", words.LANGUAGES)
def test_every_language_has_every_key_with_the_same_placeholders(language: str) -> None:
    for catalogue in (page_words.PAGE, check_words.MISMATCH, check_words.SCAN):
        assert set(catalogue[language]) == set(catalogue["en"]), language
        assert placeholders(catalogue[language]) == placeholders(catalogue["en"]), language
        assert all(text.strip() for text in catalogue[language].values())


def test_every_key_the_page_uses_is_in_the_catalogue() -> None:
    html = (STATIC / "index.html").read_text("utf-8")
    used = set(re.findall(r'data-i18n(?:-[a-z-]+)?="(\w+)"', html))
    scripts = re.sub(r"(?m)^\s*//.*$", "", "\n".join(
        path.read_text("utf-8") for path in STATIC.glob("*.js")))  # code, not its comments
    used |= set(re.findall(r'\bt\(\s*"(\w+)"', scripts))  # t("key", …)
    for pair in re.findall(r'\bt\([^()"]*\?\s*"(\w+)"\s*:\s*"(\w+)"', scripts):
        used |= set(pair)  # t(cond ? "a" : "b", …)
    for group in ("PRINTER", "SCANNER"):  # t(`printer_${state}`) for each state the page knows
        states = re.search(rf"const {group}_STATES = \[([^\]]*)\]", scripts)
        assert states is not None
        used |= {f"{group.lower()}_{s}" for s in re.findall(r'"(\w+)"', states.group(1))}
    assert len(used) > 100, sorted(used)  # the walk found the page's words
    assert used - set(page_words.EN) == set()
    assert set(page_words.EN) - used == set()  # and the catalogue holds nothing unused


def test_no_english_sentence_is_left_in_the_scripts() -> None:
    """The scripts' texts for people go through ``t``: no literal sentence is shown."""
    for path in STATIC.glob("*.js"):
        for line in path.read_text("utf-8").splitlines():
            code = line.split("//")[0]
            assert not re.search(r'(["`])[A-Z][a-z]+ [a-z]+[^"`]*\1', code), f"{path.name}: {line}"


@pytest.mark.parametrize("language", ["de", "zh", "ja", "xx"])
def test_the_page_is_served_with_its_language_and_words(language: str) -> None:
    html = page_words.counter_page((STATIC / "index.html").read_text("utf-8"), language)
    lang = words.language_of(language)
    assert f'<html lang="{lang}">' in html
    found = re.search(r'<script type="application/json" id="page-words">(.*?)</script>', html,
                      re.DOTALL)
    assert found is not None and html.count('id="page-words"') == 1
    assert json.loads(found.group(1)) == page_words.PAGE[lang]


def test_a_word_cannot_end_the_script_it_is_embedded_in() -> None:
    page_words.PAGE["xx-test"] = {"sign_out": "</script><b>"}
    try:
        html = page_words.counter_page("<html lang=\"en\"><head></head></html>", "en")
        assert html.count("</script>") == 1
    finally:
        del page_words.PAGE["xx-test"]


RMA = ExpectedReturn(rma_id="RMA-7", order_id="O-7", channel=Channel.AMAZON_MFN,
                     items=[ReturnItem(sku="A", quantity=1, unit_price=Money.of("5.00", "EUR")),
                            ReturnItem(sku="B", quantity=2, unit_price=Money.of("5.00", "EUR"))])
GOT = [ReturnItem(sku="A", quantity=3, unit_price=Money.of("5.00", "EUR")),
       ReturnItem(sku="C", quantity=1, unit_price=Money.of("5.00", "EUR"))]


def test_a_mismatch_is_recorded_in_english_and_said_in_the_store_language() -> None:
    recorded = mismatches(GOT, "O-8", RMA)
    assert recorded == ["order O-8 is not the RMA's order O-7", "C is not on RMA RMA-7",
                        "B (x2) on RMA RMA-7 was not returned",
                        "A: returned 3, RMA RMA-7 expects 1"]
    assert check_words.mismatch_reasons(recorded, "en") == recorded
    assert check_words.mismatch_reasons(recorded, "de") == [
        "Bestellung O-8 ist nicht die Bestellung der RMA (O-7)", "C steht nicht auf RMA RMA-7",
        "B (x2) von RMA RMA-7 wurde nicht zurückgegeben",
        "A: 3 zurückgegeben, RMA RMA-7 erwartet 1"]
    assert check_words.mismatch_reasons(recorded, "ja")[1] == "C は RMA RMA-7 にありません"
    assert check_words.mismatch_reasons(["+3 more", "cut off …"], "zh") == ["另有 3 条",
                                                                             "cut off …"]


def test_scan_sentences_follow_the_store_language() -> None:
    assert scans.interpret("RMA-DEMO-00", "de").message == "Code RMA-DEMO-00"
    assert scans.interpret("RMA-DEMO-00", "ja").message == "コード RMA-DEMO-00"
    unreadable = scans.interpret("\x00\x07", "zh")
    assert unreadable.message.startswith("扫描无法读取：") and unreadable.kind == "unknown"
    assert scans.interpret("4006381333931", "de").message == "GTIN-13 4006381333931"
    assert check_words.found_return("R1", "received", 1, "de") == (
        "Rückgabe R1 (Angenommen) (+1 weitere)")
    assert check_words.found_return("R1", "disposed", 0, "en") == "Return R1 (Done)"
