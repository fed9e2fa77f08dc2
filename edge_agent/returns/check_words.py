"""What the counter says of a scan and of a return that does not match its RMA, in the store's
language (pure, no I/O).

Rules:
- one catalogue per language of ``words.LANGUAGES``, every key in each (a test checks it);
  ``{name}`` marks a value filled in, the same names in every language;
- a mismatch reason is recorded and sent to the hub in English (``mismatch_text(..., "en")``:
  the event and the desk keep one language); the counter and the POS API say it in the store's
  language by reading the English sentence back (``mismatch_reasons``); a reason that does not
  read back (cut to the note length, or written by an older agent) is shown as recorded;
- a scan's sentence names the code's kind in words and a return's state by its label, never by
  its code; a detail from the code parser (a check digit) is kept as it came.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from edge_agent.returns.words import label, language_of

MISMATCH: Final[dict[str, dict[str, str]]] = {
    "en": {"order": "order {order} is not the RMA's order {expected}",
           "extra": "{sku} is not on RMA {rma}",
           "missing": "{sku} (x{qty}) on RMA {rma} was not returned",
           "count": "{sku}: returned {got}, RMA {rma} expects {want}",
           "more": "+{n} more"},
    "de": {"order": "Bestellung {order} ist nicht die Bestellung der RMA ({expected})",
           "extra": "{sku} steht nicht auf RMA {rma}",
           "missing": "{sku} (x{qty}) von RMA {rma} wurde nicht zurückgegeben",
           "count": "{sku}: {got} zurückgegeben, RMA {rma} erwartet {want}",
           "more": "+{n} weitere"},
    "zh": {"order": "订单 {order} 不是该 RMA 的订单 {expected}",
           "extra": "{sku} 不在 RMA {rma} 上",
           "missing": "RMA {rma} 上的 {sku}（x{qty}）未退回",
           "count": "{sku}：退回 {got} 件，RMA {rma} 应为 {want} 件",
           "more": "另有 {n} 条"},
    "ja": {"order": "注文 {order} は RMA の注文 {expected} ではありません",
           "extra": "{sku} は RMA {rma} にありません",
           "missing": "RMA {rma} の {sku}（x{qty}）が返品されていません",
           "count": "{sku}：返品 {got} 点、RMA {rma} の予定は {want} 点",
           "more": "ほか {n} 件"},
}

SCAN: Final[dict[str, dict[str, str]]] = {
    "en": {"item": "Item", "item_gs1": "Item (GS1)", "fnsku": "Amazon FNSKU",
           "asin": "Amazon ASIN", "amazon_order": "Amazon order", "return_code": "Return code",
           "misread": "{what} misread: {detail}. Scan it again.",
           "code": "Code {code}",
           "unreadable": "Unreadable scan: {detail}. Check the scanner and scan again.",
           "return": "Return {id} ({state}){more}", "more": " (+{n} more)",
           "expected": "Expected return {rma}",
           "nothing": "{scanned}: no return or expected return matches it",
           "lookup_failed": "Could not look it up: {error}"},
    "de": {"item": "Artikel", "item_gs1": "Artikel (GS1)", "fnsku": "Amazon-FNSKU",
           "asin": "Amazon-ASIN", "amazon_order": "Amazon-Bestellung",
           "return_code": "Rückgabecode",
           "misread": "{what} falsch gelesen: {detail}. Bitte erneut scannen.",
           "code": "Code {code}",
           "unreadable": "Scan nicht lesbar: {detail}. Bitte den Scanner prüfen und erneut "
                         "scannen.",
           "return": "Rückgabe {id} ({state}){more}", "more": " (+{n} weitere)",
           "expected": "Erwartete Rückgabe {rma}",
           "nothing": "{scanned}: keine Rückgabe und keine erwartete Rückgabe passt dazu",
           "lookup_failed": "Nachschlagen nicht möglich: {error}"},
    "zh": {"item": "商品", "item_gs1": "商品（GS1）", "fnsku": "亚马逊 FNSKU",
           "asin": "亚马逊 ASIN", "amazon_order": "亚马逊订单", "return_code": "退货码",
           "misread": "{what}读取有误：{detail}。请重新扫描。",
           "code": "代码 {code}",
           "unreadable": "扫描无法读取：{detail}。请检查扫描枪后重新扫描。",
           "return": "退货 {id}（{state}）{more}", "more": "（另有 {n} 笔）",
           "expected": "预期退货 {rma}",
           "nothing": "{scanned}：没有匹配的退货或预期退货",
           "lookup_failed": "无法查询：{error}"},
    "ja": {"item": "商品", "item_gs1": "商品（GS1）", "fnsku": "Amazon FNSKU",
           "asin": "Amazon ASIN", "amazon_order": "Amazon 注文", "return_code": "返品コード",
           "misread": "{what}の読み取りエラー：{detail}。もう一度スキャンしてください。",
           "code": "コード {code}",
           "unreadable": "スキャンを読み取れません：{detail}。スキャナーを確認してもう一度スキャン"
                         "してください。",
           "return": "返品 {id}（{state}）{more}", "more": "（ほか {n} 件）",
           "expected": "返品予定 {rma}",
           "nothing": "{scanned}：一致する返品も返品予定もありません",
           "lookup_failed": "検索できませんでした：{error}"},
}


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)"
                    for i, part in enumerate(parts))
    return re.compile(f"^{regex}$")


_READ_BACK = {kind: _pattern(template) for kind, template in MISMATCH["en"].items()}


def mismatch_text(kind: str, language: str, **values: object) -> str:
    """One mismatch reason (``order``, ``extra``, ``missing``, ``count``, ``more``)."""
    return MISMATCH[language_of(language)][kind].format(**values)


def mismatch_reasons(recorded: Iterable[str], language: str) -> list[str]:
    """The recorded (English) mismatch reasons said in ``language`` (see the rules)."""
    lang = language_of(language)
    said: list[str] = []
    for reason in recorded:
        for kind, pattern in _READ_BACK.items():
            found = pattern.match(reason)
            if found:
                said.append(MISMATCH[lang][kind].format(**found.groupdict()))
                break
        else:
            said.append(reason)
    return said


def scan_text(key: str, language: str, **values: object) -> str:
    """One scan sentence or kind of code (``SCAN``'s keys) in ``language``."""
    return SCAN[language_of(language)][key].format(**values)


def found_return(return_id: str, state: str, others: int, language: str) -> str:
    """"Return R… (Received)", "+N more" when the code found more than one."""
    more = scan_text("more", language, n=others) if others else ""
    return scan_text("return", language, id=return_id,
                     state=label("return_state", state, language), more=more)
