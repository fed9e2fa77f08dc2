"""What counter staff read: labels of every coded value and a short sentence per fired rule.

Rules:
- this is the catalogue of the counter's words for values and decisions, in the store's language
  (``STORE_LANGUAGE``: ``en``, ``de``, ``zh``, ``ja``, as the receipts); each language has every
  key (a test checks it), and a language the catalogue lacks reads English; its two siblings
  follow the same rules: ``check_words`` (scan sentences, mismatch reasons) and
  ``edge_agent.web.page_words`` (the counter page's headings, buttons and messages);
- every value a person sees has a label: return state, refund status, grade, disposition,
  channel, refund method, payment status, packaging (opened / sealed), compliance tag and staff
  role, listed
  from the types that hold them, so a new enum member without a label fails a test; a value
  unknown here is still shown in words (``like_new`` -> "Like new"), never as a raw code;
- a fired rule (``protocol.DecisionRule``) is said by its code (a tier ``tier.<id>`` by its
  effect: the policy names its tiers); an unknown code is said by its effect in neutral words,
  or by one neutral sentence, never by the code; rules another rule set aside (``waived``) say
  nothing; the same sentence twice is said once;
- money in a sentence is the refund's own amount, in the store's currency; the policy's
  base-currency thresholds in the rule's parameters are for the desk and never shown here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, get_args

from edge_agent.returns.models import RefundMethod, RefundStatus
from edge_agent.staff.store_config import StaffRole
from protocol import (
    Channel,
    ComplianceTag,
    DecisionRule,
    Disposition,
    Grade,
    Money,
    RefundPayment,
    RuleEffect,
)
from protocol.money import MINOR_UNITS
from protocol.return_states import ReturnState

LANGUAGES: Final = ("en", "de", "zh", "ja")
PACKAGING: Final = ("opened", "sealed", "unknown")

# kind -> the values of that kind, from the types that hold them (one source of the values)
VALUES: dict[str, tuple[str, ...]] = {
    "return_state": tuple(s.value for s in ReturnState),
    "refund_status": tuple(get_args(RefundStatus)),
    "grade": tuple(g.value for g in Grade),
    "disposition": tuple(d.value for d in Disposition),
    "channel": tuple(c.value for c in Channel),
    "refund_method": tuple(get_args(RefundMethod)),
    "payment": tuple(p.value for p in RefundPayment),
    "packaging": PACKAGING,
    "compliance_tag": tuple(t.value for t in ComplianceTag),
    "role": tuple(get_args(StaffRole)),
}

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "return_state": {"expected": "Expected", "received": "Received",
                         "inspected": "Inspected", "disposed": "Done"},
        "refund_status": {"requested": "Requested", "approved_offline": "Approved offline",
                          "approved": "Approved", "pending_approval": "Waiting for approval",
                          "manual_review": "Checked by HQ", "rejected": "Rejected",
                          "awaiting_inspection": "Refund after inspection"},
        "grade": {"new": "New", "like_new": "Like new", "good": "Good",
                  "acceptable": "Acceptable", "defective": "Defective",
                  "damaged_in_transit": "Damaged in transit",
                  "damaged_by_customer": "Damaged by customer"},
        "disposition": {"restock_sellable": "Back to stock (sellable)",
                        "restock_open_box": "Back to stock (open box)",
                        "return_to_vendor": "Back to the vendor", "refurbish": "Refurbish",
                        "dispose": "Dispose of"},
        "channel": {"amazon_mfn": "Amazon (shipped by us)", "amazon_fba": "Amazon (FBA)",
                    "pos": "Store sale", "web": "Web shop"},
        "refund_method": {"original_payment": "Original payment", "cash": "Cash",
                          "card": "Card", "store_credit": "Store credit"},
        "payment": {"submitted": "Refund sent", "confirmed": "Refund confirmed",
                    "settled": "Refund settled", "failed": "Refund failed"},
        "packaging": {"opened": "Opened", "sealed": "Sealed", "unknown": "Not checked"},
        "compliance_tag": {"weee": "WEEE (electrical waste)", "battery": "Battery",
                           "hazmat": "Hazardous goods"},
        "role": {"store_staff": "staff", "store_manager": "manager"},
    },
    "de": {
        "return_state": {"expected": "Erwartet", "received": "Angenommen",
                         "inspected": "Geprüft", "disposed": "Erledigt"},
        "refund_status": {"requested": "Beantragt", "approved_offline": "Offline freigegeben",
                          "approved": "Freigegeben", "pending_approval": "Wartet auf Freigabe",
                          "manual_review": "Prüfung durch die Zentrale", "rejected": "Abgelehnt",
                          "awaiting_inspection": "Erstattung nach der Prüfung"},
        "grade": {"new": "Neu", "like_new": "Wie neu", "good": "Gut",
                  "acceptable": "Akzeptabel", "defective": "Defekt",
                  "damaged_in_transit": "Transportschaden",
                  "damaged_by_customer": "Vom Kunden beschädigt"},
        "disposition": {"restock_sellable": "Zurück ins Lager (verkaufsfähig)",
                        "restock_open_box": "Zurück ins Lager (geöffnet)",
                        "return_to_vendor": "Zurück an den Lieferanten",
                        "refurbish": "Aufbereiten", "dispose": "Entsorgen"},
        "channel": {"amazon_mfn": "Amazon (Versand durch uns)", "amazon_fba": "Amazon (FBA)",
                    "pos": "Kauf im Laden", "web": "Onlineshop"},
        "refund_method": {"original_payment": "Ursprüngliches Zahlungsmittel", "cash": "Bar",
                          "card": "Karte", "store_credit": "Gutschrift"},
        "payment": {"submitted": "Erstattung gesendet", "confirmed": "Erstattung bestätigt",
                    "settled": "Erstattung abgerechnet", "failed": "Erstattung fehlgeschlagen"},
        "packaging": {"opened": "Geöffnet", "sealed": "Versiegelt", "unknown": "Nicht geprüft"},
        "compliance_tag": {"weee": "WEEE (Elektroschrott)", "battery": "Batterie",
                           "hazmat": "Gefahrgut"},
        "role": {"store_staff": "Mitarbeiter", "store_manager": "Filialleitung"},
    },
    "zh": {
        "return_state": {"expected": "待退货", "received": "已收货", "inspected": "已检验",
                         "disposed": "已处理"},
        "refund_status": {"requested": "已申请", "approved_offline": "离线批准",
                          "approved": "已批准", "pending_approval": "等待审批",
                          "manual_review": "总部审核", "rejected": "已拒绝",
                          "awaiting_inspection": "检验后退款"},
        "grade": {"new": "全新", "like_new": "近乎全新", "good": "良好", "acceptable": "可接受",
                  "defective": "有缺陷", "damaged_in_transit": "运输损坏",
                  "damaged_by_customer": "顾客损坏"},
        "disposition": {"restock_sellable": "重新入库（可售）",
                        "restock_open_box": "重新入库（开箱品）",
                        "return_to_vendor": "退回供应商", "refurbish": "翻新",
                        "dispose": "报废"},
        "channel": {"amazon_mfn": "亚马逊（自发货）", "amazon_fba": "亚马逊（FBA）",
                    "pos": "门店销售", "web": "网店"},
        "refund_method": {"original_payment": "原支付方式", "cash": "现金", "card": "银行卡",
                          "store_credit": "店铺积分"},
        "payment": {"submitted": "退款已发送", "confirmed": "退款已确认",
                    "settled": "退款已结算", "failed": "退款失败"},
        "packaging": {"opened": "已拆封", "sealed": "未拆封", "unknown": "未检查"},
        "compliance_tag": {"weee": "WEEE（电子废弃物）", "battery": "电池",
                           "hazmat": "危险品"},
        "role": {"store_staff": "店员", "store_manager": "店长"},
    },
    "ja": {
        "return_state": {"expected": "返品予定", "received": "受付済み", "inspected": "検品済み",
                         "disposed": "処理済み"},
        "refund_status": {"requested": "申請済み", "approved_offline": "オフライン承認",
                          "approved": "承認済み", "pending_approval": "承認待ち",
                          "manual_review": "本部で確認中", "rejected": "却下",
                          "awaiting_inspection": "検品後に返金"},
        "grade": {"new": "新品", "like_new": "新品同様", "good": "良い", "acceptable": "可",
                  "defective": "不良", "damaged_in_transit": "輸送中の破損",
                  "damaged_by_customer": "お客様による破損"},
        "disposition": {"restock_sellable": "在庫に戻す（販売可）",
                        "restock_open_box": "在庫に戻す（開封品）",
                        "return_to_vendor": "仕入先へ返品", "refurbish": "整備",
                        "dispose": "廃棄"},
        "channel": {"amazon_mfn": "Amazon（自社出荷）", "amazon_fba": "Amazon（FBA）",
                    "pos": "店頭販売", "web": "オンラインショップ"},
        "refund_method": {"original_payment": "元の支払い方法", "cash": "現金",
                          "card": "カード", "store_credit": "ストアクレジット"},
        "payment": {"submitted": "返金送信済み", "confirmed": "返金確認済み",
                    "settled": "返金精算済み", "failed": "返金失敗"},
        "packaging": {"opened": "開封済み", "sealed": "未開封", "unknown": "未確認"},
        "compliance_tag": {"weee": "WEEE（電子廃棄物）", "battery": "バッテリー",
                           "hazmat": "危険物"},
        "role": {"store_staff": "スタッフ", "store_manager": "店長"},
    },
}

# Staff sentences per rule code; {amount} is the refund in the store's currency, {level} the
# approval level, {days} a number of days. "effect.*" say an unknown code by its effect,
# "tier.*" a tier by its effect, "timing.*.approved" the timing once the refund is approved.
SENTENCES: dict[str, dict[str, str]] = {
    "en": {
        "marketplace.default": "The store's standard return rules apply.",
        "tier.auto_approve": "{amount} is within the amount approved automatically.",
        "tier.needs_approval": "{amount} needs approval by a manager (level {level}).",
        "tier.needs_approval.decided": "{amount} was above the automatic amount: a manager "
        "decided (level {level}).",
        "effect.needs_approval.decided": "A manager decided this refund.",
        "effect.manual_review.decided": "HQ checked this refund.",
        "fx.no_rate": "HQ prices this refund by hand.",
        "amount.out_of_range": "The amount is too large for an automatic decision: HQ checks it.",
        "amount.not_positive": "The amount is zero or less: HQ checks it.",
        "window.expired": "The {days}-day return period has ended.",
        "opened.excluded": "This kind of item cannot be returned once opened.",
        "withdrawal.right": "Within the {days}-day withdrawal period: a manager decides.",
        "warranty.claim": "Faulty and past the return period: HQ checks it as a warranty claim.",
        "risk.item_mismatch": "The item does not match the order: HQ checks it.",
        "risk.grade": "The item was graded \u201c{grade}\u201d: HQ checks it.",
        "risk.high_risk_order": "The order is flagged: HQ checks it.",
        "risk.frequent_refunder": "The customer had {count} refunds in {days} days: HQ checks it.",
        "risk.paid_unknown": "What the customer paid cannot be compared: HQ checks it.",
        "risk.over_paid": "The refund is more than the customer paid: HQ checks it.",
        "timing.on_scan": "The money goes back once the refund is approved.",
        "timing.on_scan.approved": "The money goes back to the customer now.",
        "timing.after_inspection": "The money goes back after the inspection, once approved.",
        "timing.after_inspection.approved": "The money goes back after the inspection.",
        "timing.after_approval": "A person approves every refund of this kind.",
        "effect.auto_approve": "The refund meets the store's rules.",
        "effect.needs_approval": "This refund needs a manager's approval.",
        "effect.manual_review": "HQ checks this refund.",
        "effect.reject": "A return rule does not allow this refund.",
        "neutral": "HQ has the details of this decision.",
        "awaiting_inspection": "Record the inspection: the refund is decided after it.",
        "decided_by": "Decided by {who}.",
        "approved_offline": "Paid out offline by {staff}; the hub checks it when the link is "
        "back.",
    },
    "de": {
        "marketplace.default": "Es gelten die normalen Rückgaberegeln des Geschäfts.",
        "tier.auto_approve": "{amount} liegt im Rahmen der automatischen Freigabe.",
        "tier.needs_approval": "{amount} braucht die Freigabe einer Führungskraft "
        "(Stufe {level}).",
        "tier.needs_approval.decided": "{amount} lag über dem automatisch freigegebenen "
        "Betrag: eine Führungskraft hat entschieden (Stufe {level}).",
        "effect.needs_approval.decided": "Eine Führungskraft hat über diese Erstattung "
        "entschieden.",
        "effect.manual_review.decided": "Die Zentrale hat diese Erstattung geprüft.",
        "fx.no_rate": "Die Zentrale bewertet diese Erstattung von Hand.",
        "amount.out_of_range": "Der Betrag ist zu hoch für eine automatische Entscheidung: "
        "die Zentrale prüft ihn.",
        "amount.not_positive": "Der Betrag ist null oder kleiner: die Zentrale prüft ihn.",
        "window.expired": "Die Rückgabefrist von {days} Tagen ist abgelaufen.",
        "opened.excluded": "Artikel dieser Art sind nach dem Öffnen von der Rückgabe "
        "ausgeschlossen.",
        "withdrawal.right": "Innerhalb der Widerrufsfrist von {days} Tagen: eine Führungskraft "
        "entscheidet.",
        "warranty.claim": "Defekt und nach der Rückgabefrist: die Zentrale prüft es als "
        "Gewährleistung.",
        "risk.item_mismatch": "Der Artikel passt nicht zur Bestellung: die Zentrale prüft es.",
        "risk.grade": "Der Artikel wurde als \u201e{grade}\u201c eingestuft: die Zentrale prüft "
        "es.",
        "risk.high_risk_order": "Die Bestellung ist markiert: die Zentrale prüft es.",
        "risk.frequent_refunder": "Der Kunde hatte {count} Erstattungen in {days} Tagen: die "
        "Zentrale prüft es.",
        "risk.paid_unknown": "Der bezahlte Betrag ist nicht vergleichbar: die Zentrale prüft es.",
        "risk.over_paid": "Die Erstattung ist höher als der bezahlte Betrag: die Zentrale prüft "
        "es.",
        "timing.on_scan": "Das Geld geht nach der Freigabe zurück.",
        "timing.on_scan.approved": "Das Geld geht jetzt an den Kunden zurück.",
        "timing.after_inspection": "Das Geld geht nach der Prüfung und der Freigabe zurück.",
        "timing.after_inspection.approved": "Das Geld geht nach der Prüfung zurück.",
        "timing.after_approval": "Jede Erstattung dieser Art gibt eine Person frei.",
        "effect.auto_approve": "Die Erstattung entspricht den Regeln des Geschäfts.",
        "effect.needs_approval": "Diese Erstattung braucht die Freigabe einer Führungskraft.",
        "effect.manual_review": "Die Zentrale prüft diese Erstattung.",
        "effect.reject": "Eine Rückgaberegel erlaubt diese Erstattung nicht.",
        "neutral": "Die Zentrale hat die Einzelheiten dieser Entscheidung.",
        "awaiting_inspection": "Bitte die Prüfung erfassen: danach wird über die Erstattung "
        "entschieden.",
        "decided_by": "Entschieden von {who}.",
        "approved_offline": "Offline ausgezahlt von {staff}; der Hub prüft es, sobald die "
        "Verbindung wieder steht.",
    },
    "zh": {
        "marketplace.default": "适用本店的标准退货规则。",
        "tier.auto_approve": "{amount} 在自动批准的金额范围内。",
        "tier.needs_approval": "{amount} 需要经理批准（第 {level} 级）。",
        "tier.needs_approval.decided": "{amount} 超出自动批准金额：已由经理决定（第 {level} 级）。",
        "effect.needs_approval.decided": "该退款已由经理决定。",
        "effect.manual_review.decided": "该退款已由总部审核。",
        "fx.no_rate": "总部将人工核定此退款。",
        "amount.out_of_range": "金额过大，无法自动决定：由总部审核。",
        "amount.not_positive": "金额为零或更少：由总部审核。",
        "window.expired": "{days} 天的退货期限已过。",
        "opened.excluded": "此类商品拆封后不可退货。",
        "withdrawal.right": "在 {days} 天的撤销期内：由经理决定。",
        "warranty.claim": "商品有缺陷且已过退货期限：总部按保修处理。",
        "risk.item_mismatch": "商品与订单不符：由总部审核。",
        "risk.grade": "商品被评为“{grade}”：由总部审核。",
        "risk.high_risk_order": "该订单已被标记：由总部审核。",
        "risk.frequent_refunder": "该顾客在 {days} 天内退款 {count} 次：由总部审核。",
        "risk.paid_unknown": "无法与顾客实付金额比较：由总部审核。",
        "risk.over_paid": "退款金额高于顾客实付金额：由总部审核。",
        "timing.on_scan": "退款批准后即退还款项。",
        "timing.on_scan.approved": "款项现在退还给顾客。",
        "timing.after_inspection": "检验并批准后退还款项。",
        "timing.after_inspection.approved": "检验后退还款项。",
        "timing.after_approval": "此类退款均需人工批准。",
        "effect.auto_approve": "该退款符合本店规则。",
        "effect.needs_approval": "该退款需要经理批准。",
        "effect.manual_review": "该退款由总部审核。",
        "effect.reject": "退货规则不允许此退款。",
        "neutral": "此决定的详细信息在总部。",
        "awaiting_inspection": "请记录检验结果：检验后决定退款。",
        "decided_by": "由 {who} 决定。",
        "approved_offline": "由 {staff} 离线支付；连接恢复后由中心核对。",
    },
    "ja": {
        "marketplace.default": "店舗の標準の返品ルールが適用されます。",
        "tier.auto_approve": "{amount} は自動承認の範囲内です。",
        "tier.needs_approval": "{amount} はマネージャーの承認が必要です（レベル {level}）。",
        "tier.needs_approval.decided": "{amount} は自動承認額を超えたため、マネージャーが判断"
        "しました（レベル {level}）。",
        "effect.needs_approval.decided": "この返金はマネージャーが判断しました。",
        "effect.manual_review.decided": "この返金は本部が確認しました。",
        "fx.no_rate": "本部がこの返金額を手作業で確認します。",
        "amount.out_of_range": "金額が大きすぎるため自動で決定できません。本部が確認します。",
        "amount.not_positive": "金額がゼロ以下です。本部が確認します。",
        "window.expired": "{days}日間の返品期間が終了しています。",
        "opened.excluded": "この種類の商品は開封後の返品ができません。",
        "withdrawal.right": "{days}日間の撤回期間内です。マネージャーが判断します。",
        "warranty.claim": "不良品で返品期間を過ぎています。本部が保証対応として確認します。",
        "risk.item_mismatch": "商品が注文と一致しません。本部が確認します。",
        "risk.grade": "商品は「{grade}」と判定されました。本部が確認します。",
        "risk.high_risk_order": "この注文には注意フラグがあります。本部が確認します。",
        "risk.frequent_refunder": "このお客様は{days}日間に{count}回返金を受けています。"
        "本部が確認します。",
        "risk.paid_unknown": "お支払い額と比較できません。本部が確認します。",
        "risk.over_paid": "返金額がお支払い額を超えています。本部が確認します。",
        "timing.on_scan": "承認後すぐに返金されます。",
        "timing.on_scan.approved": "今すぐお客様に返金されます。",
        "timing.after_inspection": "検品と承認の後に返金されます。",
        "timing.after_inspection.approved": "検品の後に返金されます。",
        "timing.after_approval": "この種類の返金はすべて担当者が承認します。",
        "effect.auto_approve": "この返金は店舗のルールを満たしています。",
        "effect.needs_approval": "この返金にはマネージャーの承認が必要です。",
        "effect.manual_review": "この返金は本部が確認します。",
        "effect.reject": "返品ルールによりこの返金はできません。",
        "neutral": "この決定の詳細は本部にあります。",
        "awaiting_inspection": "検品結果を記録してください。返金は検品後に決まります。",
        "decided_by": "{who} が決定しました。",
        "approved_offline": "{staff} がオフラインで支払いました。接続が戻ると本部が確認します。",
    },
}

_SEPARATORS = {"de": (".", ",")}  # language -> (thousands, decimal); the receipts' rule
_EFFECT_KEYS = {RuleEffect.AUTO_APPROVE: "effect.auto_approve",
                RuleEffect.NEEDS_APPROVAL: "effect.needs_approval",
                RuleEffect.MANUAL_REVIEW: "effect.manual_review",
                RuleEffect.REJECT: "effect.reject"}


DECIDED = frozenset({"approved", "rejected"})  # outcomes after which "needs approval" is past


def language_of(language: str) -> str:
    """``language`` if the catalogue has it, else English."""
    return language if language in LABELS else "en"


def label(kind: str, value: str, language: str) -> str:
    """The words for ``value`` of ``kind`` (e.g. ``grade``, ``like_new``) in ``language``."""
    words = LABELS[language_of(language)].get(kind, {})
    return words.get(value) or LABELS["en"].get(kind, {}).get(value) or _spelled(value)


def labels(language: str) -> dict[str, dict[str, str]]:
    """Every kind's labels in ``language``: kind -> value -> words."""
    return {kind: {value: label(kind, value, language) for value in values}
            for kind, values in VALUES.items()}


def format_money(money: Money, language: str) -> str:
    """``1,234.50 EUR`` (``1.234,50 EUR`` in German), in the currency's minor units, half-up:
    the same rule as the printed receipt (``hardware.printing.texts.format_money``)."""
    places = MINOR_UNITS.get(money.currency, 2)
    rounded = money.amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{places}f}"
    thousands, decimal = _SEPARATORS.get(language, (",", "."))
    text = text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)
    return f"{text} {money.currency}"


def rule_sentences(rules: Iterable[DecisionRule], outcome: str, amount: Money | None,
                   language: str) -> list[str]:
    """The staff sentences of a decision's fired rules (see the module rules); at least one."""
    said: list[str] = []
    for rule in rules:
        if rule.effect is RuleEffect.WAIVED:
            continue
        sentence = _sentence(rule, outcome, amount, language)
        if sentence and sentence not in said:
            said.append(sentence)
    if not said:
        key = "awaiting_inspection" if outcome == "awaiting_inspection" else "neutral"
        said.append(SENTENCES[language_of(language)][key])
    return said


def offline_sentence(staff: str, language: str) -> str:
    """What the counter says of a refund a manager paid out while the hub was away."""
    return SENTENCES[language_of(language)]["approved_offline"].format(staff=staff)


def decided_sentence(decided_by: str | None, language: str) -> str | None:
    """Who decided, when a person did (``hq-anna``, ``store:max``); None for the policy."""
    if not decided_by or decided_by.startswith("policy:"):
        return None
    who = decided_by.removeprefix("store:")
    return SENTENCES[language_of(language)]["decided_by"].format(who=who)


def _sentence(rule: DecisionRule, outcome: str, amount: Money | None, language: str) -> str:
    words = SENTENCES[language_of(language)]
    key = _key(rule, outcome)
    template = words.get(key) if key else None
    values = _values(rule, amount, language)
    if template is not None:
        try:
            return template.format_map(values)
        except (KeyError, ValueError):
            pass  # a parameter this hub did not send: say it by its effect instead
    effect_key = _EFFECT_KEYS.get(rule.effect) if rule.effect else None
    if effect_key is not None:
        return words.get(_decided(effect_key, outcome), words[effect_key])
    return ""  # a note or timing this node cannot word: the others say enough


def _decided(key: str, outcome: str) -> str:
    """``key`` in the past once a person decided (``….decided``), where that sentence exists."""
    decided = f"{key}.decided"
    return decided if outcome in DECIDED and decided in SENTENCES["en"] else key


def _key(rule: DecisionRule, outcome: str) -> str | None:
    if rule.code.startswith("tier."):
        return _decided(f"tier.{rule.effect.value}", outcome) if rule.effect else None
    if rule.code.startswith("timing.") and outcome == "approved":
        approved = f"{rule.code}.approved"
        return approved if approved in SENTENCES["en"] else rule.code
    return rule.code


def _values(rule: DecisionRule, amount: Money | None, language: str) -> Mapping[str, str]:
    values = {key: value for key, value in rule.params.items() if key not in ("amount", "paid")}
    if amount is not None:
        values["amount"] = format_money(amount, language)  # the refund, never the base currency
    if rule.level is not None:
        values["level"] = str(rule.level)
    if "grade" in values:
        values["grade"] = label("grade", values["grade"], language)
    return values


def _spelled(value: str) -> str:
    return value.replace("_", " ").strip().capitalize() or "—"
