"""The web app in a real browser, as reviewers and a lead use it: login, filter, open a case,
decide it, find the decision in the queue and in ``claimwatch queue show``; refusals (anonymous,
no CSRF token, a reviewer exporting, a locked account); security headers and error pages."""

from __future__ import annotations

import csv
import http.client
import io
import json
import re
from urllib.parse import urlsplit

import openpyxl

from claimwatch.review import queue as review
from claimwatch.review.export import EXPORT_COLUMNS
from claimwatch.review.users import MAX_FAILED_LOGINS, get_user
from tests.helpers import clear_identifiers
from tests.web.conftest import RUN_ID, SCHEME_ID, claimwatch, screenshot


def login(context, site, name: str, password: str | None = None, path: str = "/queue"):
    """Log a user in through the login form; return the page (on ``path``)."""
    page = context.new_page()
    page.goto(site.url + path)
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password or site.users[name][1])
    page.click("#login-form button[type=submit]")
    return page


def raw_get(site, path: str) -> http.client.HTTPResponse:
    """A GET without a cookie and without following redirects."""
    conn = http.client.HTTPConnection(urlsplit(site.url).netloc, timeout=5)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def open_cases(site, **filters) -> review.CasePage:
    store = site.store()
    try:
        return review.list_cases(store, **filters)
    finally:
        store.close()


def test_anonymous_is_sent_to_login_then_back(site, context):
    response = raw_get(site, "/queue?status=all")
    assert response.status == 303
    assert response.getheader("location") == "/login?next=/queue%3Fstatus%3Dall"
    assert raw_get(site, "/workload").status == 303
    top = open_cases(site, limit=1).rows[0]["case_id"]
    page = context.new_page()
    page.goto(f"{site.url}/cases/{top}")
    assert urlsplit(page.url).path == "/login"
    assert page.locator("input[name=username]").count() == 1
    assert page.locator("input[name=password]").get_attribute("type") == "password"
    screenshot(page, "login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", site.users["alice"][1])
    page.click("#login-form button[type=submit]")
    # after login the reviewer lands on the page asked for, not on the queue
    assert urlsplit(page.url).path == f"/cases/{top}"
    assert page.locator("#case-id").inner_text() == top


def test_reviewer_filters_opens_and_decides_a_case(site, context):
    page = login(context, site, "alice")
    assert urlsplit(page.url).path == "/queue"
    everything = open_cases(site)
    assert page.locator(".counts .total").inner_text() == f"{everything.total} dossier(s)"
    # filter on one reason: the results are replaced in place and the URL follows
    page.select_option("#filters select[name=reason]", "ACCOUNT_TAKEOVER")
    page.click("#filters button[type=submit]")
    expected = open_cases(site, reason="ACCOUNT_TAKEOVER")
    assert 0 < expected.total < everything.total
    page.wait_for_url(re.compile(r"reason=ACCOUNT_TAKEOVER"))
    page.locator(".counts .total").filter(has_text=f"{expected.total} dossier(s)").wait_for()
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == min(expected.total, 50)
    for text in rows.locator("td.reasons").all_inner_texts():
        assert "ACCOUNT_TAKEOVER" in text
    # amounts and dates as a French reviewer reads them
    amount = rows.first.locator("td.num").nth(2).inner_text()
    assert re.fullmatch(r"\d{1,3}(\u202f\d{3})*,\d{2}\u00a0€", amount), amount
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", rows.first.locator("td").last.inner_text())
    screenshot(page, "queue")

    top = expected.rows[0]["case_id"]
    link = page.locator("a.case-link").first
    assert link.get_attribute("href") == f"/cases/{top}"
    link.click()
    page.wait_for_url(f"**/cases/{top}")
    assert page.locator("#case-status").get_attribute("data-status") == "new"
    assert page.locator("ol.reasons li").count() == len(expected.rows[0]["reasons"].split(" | "))
    assert page.locator("ol.timeline li.t-iban").count() >= 1  # a takeover changes the IBAN
    assert page.locator("ol.timeline li.t-claim.flagged").count() >= 1
    assert page.locator("table.lines tbody tr").count() == len(expected.rows[0]["claim_ids"].split(";"))
    assert "Consultation" in page.locator("table.audit").inner_text()  # this very view, audited
    screenshot(page, "case")

    form = page.locator("#decision-form")
    assert form.locator("[type=submit]").count() == 1
    assert sorted(
        form.locator("select[name=decision] option").evaluate_all("os => os.map(o => o.value)")
    ) == [
        "",
        "fraud",
        "legitimate",
        "needs_info",
    ]
    form.locator("select[name=decision]").select_option("fraud")
    form.locator("textarea[name=note]").fill("IBAN allemand ouvert la veille, adhérente injoignable.")
    form.locator("[type=submit]").click()
    # back on the filtered queue, the case has left the open cases
    page.wait_for_url(re.compile(r"/queue\?.*reason=ACCOUNT_TAKEOVER"))
    assert f"{top} : décision enregistrée (Clos – fraude)" in page.locator(".flash.ok").inner_text()
    assert page.locator(f"tr[data-case-id='{top}']").count() == 0
    page.goto(f"{site.url}/queue?status=closed_fraud")
    row = page.locator(f"tr[data-case-id='{top}']")
    assert row.locator("td.status").get_attribute("data-status") == "closed_fraud"

    shown = json.loads(claimwatch("queue", "show", top, "--json", "--by", "auditor", "--db", site.db).stdout)
    assert shown["case"]["status"] == "closed_fraud"
    assert shown["case"]["decided_by"] == "alice"
    assert [n["body"] for n in shown["notes"]] == ["IBAN allemand ouvert la veille, adhérente injoignable."]
    trail = [(a["actor"], a["action"]) for a in shown["audit"]]
    assert ("alice", "view") in trail and ("alice", "decide") in trail


def test_post_without_csrf_token_is_refused(site, context):
    page = login(context, site, "alice")
    case = open_cases(site, limit=1).rows[0]
    url = f"{site.url}/cases/{case['case_id']}/decide"
    for form in ({"decision": "legitimate"}, {"decision": "legitimate", "csrf_token": "forged"}):
        response = page.request.post(url, form=form, max_redirects=0)
        assert response.status == 403
        body = response.text()
        assert "Erreur 403" in body and "Traceback" not in body
    assert page.request.post(f"{site.url}/logout", max_redirects=0).status == 403
    # the same request with the page's token goes through: the token is what was missing
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    ok = page.request.post(url, form={"decision": "needs_info", "csrf_token": token}, max_redirects=0)
    assert ok.status == 303
    store = site.store()
    try:
        after = review.get_case(store, case["case_id"], actor="auditor")["case"]
    finally:
        store.close()
    assert after["status"] == "needs_info" and after["decided_by"] == "alice"
    # a login form posted without the token is refused too (login CSRF)
    anonymous = context.browser.new_context()
    try:
        refused = anonymous.request.post(
            f"{site.url}/login",
            form={"username": "alice", "password": site.users["alice"][1]},
            max_redirects=0,
        )
        assert refused.status == 403
    finally:
        anonymous.close()


def test_reviewer_cannot_export_or_see_workload_lead_can(site, context, browser, generated_inbox):
    page = login(context, site, "alice")
    assert page.locator("#export-form").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(
        f"{site.url}/export", form={"csrf_token": token, "fmt": "csv"}, max_redirects=0
    )
    assert refused.status == 403
    assert page.goto(f"{site.url}/workload").status == 403
    assert "Erreur 403" in page.content()

    # a reviewer takes two unassigned cases at once
    page.goto(f"{site.url}/queue?assignee=-")
    boxes = page.locator("input.case-select")
    picked = [boxes.nth(i).get_attribute("value") for i in range(2)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.locator("#selected-count").inner_text() == "(2)"
    page.click("#bulk-assign")
    assert "2 dossier(s) attribué(s) à alice" in page.locator(".flash.ok").inner_text()
    mine = {r["case_id"] for r in open_cases(site, assignee="alice").rows}
    assert set(picked) <= mine

    lead_context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    try:
        lead = login(lead_context, site, "lea", path="/queue?reason=MULE_ACCOUNT")
        assert urlsplit(lead.url).query == "reason=MULE_ACCOUNT"
        with lead.expect_download() as download:
            lead.click("#export-form button[value=csv]")
        text = open(download.value.path(), encoding="utf-8").read()
        rows = list(csv.reader(io.StringIO(text)))
        assert tuple(rows[0][: len(EXPORT_COLUMNS)]) == EXPORT_COLUMNS
        assert len(rows) - 1 == open_cases(site, reason="MULE_ACCOUNT").total
        assert all("MULE_ACCOUNT" in r[rows[0].index("reason_codes")] for r in rows[1:])
        lowered = text.lower()
        assert not [v for v in clear_identifiers(generated_inbox) if v.lower() in lowered]
        store = site.store()
        try:
            exports = review.audit(store, action="export", actor="lea")
        finally:
            store.close()
        assert exports and exports[-1]["row_count"] == len(rows) - 1
        with lead.expect_download() as download:
            lead.click("#export-form button[value=xlsx]")
        assert download.value.suggested_filename.endswith(".xlsx")
        workbook = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
        assert "cases" in workbook.sheetnames and "cases" in workbook["cases"].tables
        assert workbook["cases"].max_row - 1 == len(rows) - 1

        # the lead moves one of alice's cases to bruno, with a reason that reaches the audit log
        lead.goto(f"{site.url}/workload")
        alice_row = lead.locator("table.workload tr[data-assignee=alice]")
        assert alice_row.locator("td").nth(1).inner_text() == str(len(mine))
        screenshot(lead, "workload")
        lead.select_option("#from", "alice")
        lead.select_option("#to", "bruno")
        lead.fill("#count", "1")
        lead.fill("#reason", "congés d'alice")
        lead.click("#reassign-form button[type=submit]")
        assert "1 dossier(s) réattribué(s) à bruno" in lead.locator(".flash.ok").inner_text()
        store = site.store()
        try:
            moved = [a for a in review.audit(store, action="assign", actor="lea")]
        finally:
            store.close()
        assert moved[-1]["details"]["reason"] == "congés d'alice"
        assert moved[-1]["details"]["previous_assignee"] == "alice" and moved[-1]["details"]["to"] == "bruno"
        # alice may still decide bruno's case, but only a lead reassigns it, even by posting the form
        page.goto(f"{site.url}/cases/{moved[-1]['case_id']}")
        assert page.locator("#decision-form").count() == 1
        assert page.locator("#assign-form").count() == 0
        forced = page.request.post(
            f"{site.url}/cases/{moved[-1]['case_id']}/assign",
            form={"to": "alice", "csrf_token": token},
            max_redirects=0,
        )
        assert forced.status == 403
    finally:
        lead_context.close()


def test_repeated_bad_passwords_lock_the_account(site, context):
    page = context.new_page()
    page.goto(site.url + "/login")
    for _ in range(MAX_FAILED_LOGINS):
        page.fill("input[name=username]", "marc")
        page.fill("input[name=password]", "not-marcs-password")
        with page.expect_response(
            lambda r: r.url.endswith("/login") and r.request.method == "POST"
        ) as answer:
            page.click("#login-form button[type=submit]")
        assert answer.value.status == 401
        assert "compte verrouillé" in page.locator(".flash.error").inner_text()
    # the right password no longer opens the account
    page.fill("input[name=password]", site.users["marc"][1])
    page.click("#login-form button[type=submit]")
    assert urlsplit(page.url).path == "/login"
    assert page.goto(site.url + "/queue").url.startswith(site.url + "/login")
    store = site.store()
    try:
        assert get_user(store, "marc")["locked_until"] is not None
        refused = review.audit(store, actor="marc", action="login_refused")
    finally:
        store.close()
    assert len(refused) == 1


def test_headers_cookie_error_pages_and_reports(site, context):
    page = login(context, site, "bruno")
    case_id = open_cases(site, limit=1).rows[0]["case_id"]
    response = page.goto(f"{site.url}/cases/{case_id}")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    (cookie,) = [c for c in context.cookies() if c["name"] == "claimwatch_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert (site.settings.resolved_web_secret_file.stat().st_mode & 0o777) == 0o600

    missing = page.goto(f"{site.url}/cases/CASE-9999999")
    assert missing.status == 404 and "Erreur 404" in page.content()
    for path in (
        "/reports/..%2Fclaimwatch.duckdb",
        "/reports/report_x.html",
        "/reports/claimwatch.duckdb.key",
    ):
        assert page.goto(site.url + path).status == 404
    assert page.goto(f"{site.url}/cases/CASE-0000001/decide").status == 405  # GET never changes state

    page.goto(f"{site.url}/runs")
    link = page.locator(f"a[href='/reports/report_{RUN_ID}.html']")
    assert link.count() == 1
    assert page.locator("table.runs tbody tr").first.locator("td").nth(2).inner_text() == "01/12/2026 03:00"
    screenshot(page, "runs")
    link.click()
    page.wait_for_url(f"**/reports/report_{RUN_ID}.html")
    assert f"claimwatch run {RUN_ID}" in page.locator("h1").inner_text()
    assert "Traceback" not in site.log.read_text()


def test_a_whole_scheme_is_decided_at_once(site, context):
    members = open_cases(site, scheme=SCHEME_ID).rows
    assert len(members) == 2
    first, other = members[0]["case_id"], members[1]["case_id"]
    page = login(context, site, "bruno", path=f"/cases/{first}")
    panel = page.locator("#scheme-form").locator("..")
    assert panel.locator(f"a[href='/cases/{other}']").count() == 1  # the scheme's other member
    page.once("dialog", lambda dialog: dialog.accept())  # "decide every open case of the scheme?"
    page.select_option("#scheme-decision", "legitimate")
    page.fill("#scheme-note", "Même foyer, changement de banque déclaré par courrier.")
    page.click("#scheme-form button[type=submit]")
    assert f"Réseau {SCHEME_ID} : 2 dossier(s) décidé(s)." in page.locator(".flash.ok").inner_text()
    closed = open_cases(site, scheme=SCHEME_ID, status="closed").rows
    assert {r["case_id"] for r in closed} == {first, other}
    assert {(r["status"], r["decided_by"]) for r in closed} == {("closed_legitimate", "bruno")}


def test_users_add_refuses_a_taken_name_in_one_line(site):
    result = claimwatch(
        "users",
        "add",
        "alice",
        "--role",
        "lead",
        "--password-stdin",
        "--db",
        site.db,
        stdin="another-password-123\n",
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: user alice exists already"
    assert "another-password-123" not in result.stdout + result.stderr
    store = site.store()
    try:
        assert get_user(store, "alice")["role"] == "reviewer"  # unchanged
    finally:
        store.close()
