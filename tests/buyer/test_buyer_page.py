"""The buyer's return page on a phone, against a real hub, broker and store agent."""

from __future__ import annotations

import subprocess

import httpx
from playwright.sync_api import expect

from tests.buyer.conftest import ORDER, POSTCODE, Running
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.http_calls import http_post
from tests.support.procs import BIN, wait_for

PHONE = {"width": 390, "height": 844}


def _scan(running: Running, code: str) -> dict[str, object]:
    answer = http_post(f"{running.edge.url}/api/scans", json={"code": code}, timeout=5)
    answer.raise_for_status()
    return dict(answer.json())


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_wrong_postcode_reveals_nothing_right_one_gives_a_code_the_counter_scans(
        running: Running) -> None:
    with chromium_page(**PHONE) as page:
        page.goto(f"{running.hub.url}/returns")
        page.fill("#order-id", ORDER)
        page.fill("#postcode", "10001")  # a real postcode, not this order's
        page.click("#find-button")
        page.wait_for_selector("#message:not([hidden])")
        wrong = page.inner_text("#message")
        assert "no order matches" in wrong
        assert page.is_hidden("#choose")
        html = page.content()
        assert "MUG-01" not in html and "Tremont" not in html

        page.fill("#order-id", "113-9999999-9999999")  # unknown order: the same answer
        with page.expect_response("**/api/buyer/lookup") as answer:
            page.click("#find-button")
        assert answer.value.status == 404
        expect(page.locator("#message")).to_have_text(wrong)
        assert page.is_hidden("#choose")

        page.fill("#order-id", ORDER)
        page.fill("#postcode", f" {POSTCODE} ")
        page.click("#find-button")
        page.wait_for_selector("#choose:not([hidden])")
        stores = page.locator("#stores li").all_inner_texts()
        assert "Tremont" in stores[0] and any("Main St" in s for s in stores)
        assert not any("Court St" in s for s in stores)  # does not take returns
        assert page.locator("input[name=item]").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator("input[name=item][value=LAMP-9]").uncheck()
        page.click("#book-button")
        page.wait_for_selector("#done:not([hidden])")
        code = page.inner_text("#code").strip()
        assert code.startswith("BR-")
        assert page.get_attribute("#qr", "src").startswith("data:image/svg+xml")
        assert page.evaluate("document.querySelector('#qr').naturalWidth") > 0

    scan = wait_for(lambda: (s := _scan(running, code))["match"] == "expected_return" and s,
                    30, "the counter to know the return code")
    expected = scan["expected_return"]
    assert isinstance(expected, dict)
    assert expected["total"] == {"amount": "25.00", "currency": "USD"}

    # The desk follows it: expected until the counter records the return, then received there.
    token = subprocess.run([str(BIN / "acorn-hub"), "token", "create", "--name", "desk-1",
                            "--role", "viewer"], env=running.hub.env, capture_output=True,
                           text=True, check=True).stdout.strip().splitlines()[-1]
    desk = httpx.Client(base_url=running.hub.url, timeout=5,
                        headers={"Authorization": f"Bearer {token}"})
    with desk:
        (booked,) = desk.get("/api/buyer-returns").json()
        assert (booked["code"], booked["status"], booked["store_id"]) == (
            code, "expected", "store-a")
        recorded = http_post(f"{running.edge.url}/api/returns", timeout=5, json={
            "channel": "amazon_mfn", "rma_id": code, "reason": "no longer needed",
            "items": expected["items"]})
        assert recorded.status_code == 201, recorded.text
        received = wait_for(lambda: (r := desk.get("/api/buyer-returns", params={
            "status": "received"}).json()) and r[0], 30, "the hub to hear of the return")
        assert (received["code"], received["received_store"], received["return_id"],
                received["elsewhere"]) == (code, "store-a", recorded.json()["return_id"], False)
        assert desk.get("/api/buyer-returns", params={"status": "expected"}).json() == []


def test_a_window_closed_item_says_why_and_a_booked_item_cannot_be_booked_again(
        running: Running) -> None:
    url = f"{running.hub.url}/api/buyer"
    old = http_post(f"{url}/lookup", json={"order_id": "113-0000000-0000001",
                                             "postcode": POSTCODE}).json()
    (item,) = old["items"]
    assert item["returnable"] is False and "return window" in item["reasons"][0]
    body = {"order_id": ORDER, "postcode": POSTCODE, "store_id": "store-a",
            "items": [{"sku": "LAMP-9", "quantity": 1}]}
    assert http_post(f"{url}/returns", json=body).status_code == 201
    again = http_post(f"{url}/returns", json=body)
    assert again.status_code == 409 and "already returned" in again.text
    far = http_post(f"{url}/returns", json={**body, "store_id": "store-no",
                                             "items": [{"sku": "MUG-01", "quantity": 1}]})
    assert far.status_code == 422
    wrong = http_post(f"{url}/returns", json={**body, "postcode": "10001"})
    assert wrong.status_code == 404 and "MUG" not in wrong.text
    for bad in ({"order_id": ORDER}, {**body, "items": [{"sku": "MUG-01", "quantity": 0}]},
                {**body, "postcode": "x" * 21}, {**body, "request_id": "no spaces allowed"}):
        answer = http_post(f"{url}/returns", json=bad)
        assert answer.status_code == 422 and answer.json()["detail"][0]["field"], answer.text
    assert http_post(f"{url}/lookup", content=b"[1, 2").status_code in (400, 422)


def test_the_rate_limit_answers_429(running: Running) -> None:
    """The default limit (10 per client per window), through the real server."""
    url = f"{running.hub.url}/api/buyer/lookup"
    answers = [http_post(url, json={"order_id": ORDER, "postcode": f"0{n:04d}"})
               for n in range(11)]
    assert [a.status_code for a in answers] == [404] * 10 + [429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    right = http_post(url, json={"order_id": ORDER, "postcode": POSTCODE})
    assert right.status_code == 429  # even the right postcode waits: no guessing past it
