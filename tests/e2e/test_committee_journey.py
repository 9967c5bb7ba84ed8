"""The commune committee chair's working day in the browser, on the session's demo portal:
preview the confirmation list of a filtered set of persons, sign it with the PIN, see them
confirmed; then, without the certificate, print the minutes (biên bản) for another filtered
set, upload the signed scan, check who will be confirmed, confirm, and see exactly those
persons confirmed; last, sign the confirmed persons' vaccination certificates as a queue
job. axe-core checks every page the chair sees.

Issue 13's items, checked where the chair meets them:
- item 1: printing makes a numbered minutes record of exactly its persons; the awaiting page
  then moves on to another filter; the scan is uploaded to that record, a step shows who
  will be confirmed, and exactly the printed persons are confirmed, nobody else;
- item 12: a wrong PIN for the certificates is refused at their form, in view;
- item 13: the certificates job names and links each certificate, and a person's record
  links their certificate.

Each part filters on a name that finds only matched persons no other journey touches
(tests/e2e/people.py).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.e2e.axe import DEMO_PIN, check_accessibility, log_in_as
from tests.e2e.browser import SCREENSHOTS
from tests.e2e.people import Picked, matched_group

pytestmark = [pytest.mark.e2e, pytest.mark.committing]


def scan_pdf(text: str = "Bien ban da ky") -> bytes:
    """A small one-page PDF: the 'scan' of the signed minutes."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _filter(page, base: str, q: str, expected: int) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/signing")
    page.locator("#signing-filters input[name=q]").fill(q)
    page.locator("#signing-filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"[?&]q="))
    expect(page.locator("#signing-results tr[data-person]")).to_have_count(expected)


def _statuses(page, base: str, persons: list[Picked], status: str) -> None:
    from playwright.sync_api import expect

    for person in persons:
        page.goto(f"{base}/records/{person.id}")
        expect(page.locator(f"#status-{person.id}")).to_have_class(
            re.compile(rf"status-{status}\b")
        )


def _get_pdf(page, href: str) -> bytes:
    from urllib.parse import urljoin

    response = page.request.get(urljoin(page.url, href))
    assert response.ok, (href, response.status)
    assert response.headers["content-type"].startswith("application/pdf")
    body = response.body()
    assert body.startswith(b"%PDF"), body[:20]
    return body


def test_committee_day_sign_minutes_certificates(demo_portal, page):
    from playwright.sync_api import expect

    app, base = demo_portal
    sign_q, to_sign = matched_group(app, size=2, nth=0)
    minutes_q, on_minutes = matched_group(app, size=3, nth=0)
    other_q, others = matched_group(app, size=2, nth=1)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    log_in_as(page, base, "committee.ba_dinh")
    check_accessibility(page, "the committee's first page")
    page.get_by_role("navigation").locator("a[href$='/signing']").first.click()
    page.wait_for_url(re.compile(r"/signing$"))
    check_accessibility(page, "awaiting signature")

    # The confirmation list of two persons: previewed, signed with the PIN.
    _filter(page, base, sign_q, len(to_sign))
    rows = page.locator("#signing-results tr[data-person]")
    assert sorted(int(r.get_attribute("data-person")) for r in rows.all()) == sorted(
        p.id for p in to_sign
    )
    preview = page.locator("#signing-results a[href*='/signing/preview.pdf']")
    assert "q=" in (preview.get_attribute("href") or "")
    _get_pdf(page, preview.get_attribute("href") or "")
    check_accessibility(page, "awaiting signature, filtered")
    page.get_by_test_id("open-sign-dialog").click()
    dialog = page.locator("#sign-dialog")
    dialog.locator("input[name=pin]").fill(DEMO_PIN)
    check_accessibility(page, "the sign dialog")
    dialog.get_by_test_id("sign-submit").click()
    expect(page.get_by_test_id("signed")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("signed")).to_contain_text(str(len(to_sign)))
    expect(page.locator("#signing-results tr[data-person]")).to_have_count(0)
    check_accessibility(page, "the list signed")
    page.screenshot(path=str(SCREENSHOTS / "e2e-committee-signed.png"), full_page=True)
    page.get_by_test_id("signed").locator("a[href*='/signing/documents/']").click()
    page.wait_for_url(re.compile(r"/signing/documents/\d+$"))
    for person in to_sign:
        expect(page.locator("#main")).to_contain_text(person.id_number or "")
    check_accessibility(page, "the signed confirmation list")
    _statuses(page, base, to_sign, "confirmed")
    check_accessibility(page, "a confirmed person's record")

    # Without the certificate: minutes for three persons, printed as a numbered record of
    # exactly those persons (item 1).
    _filter(page, base, minutes_q, len(on_minutes))
    page.get_by_test_id("print-minutes").click()
    page.wait_for_url(re.compile(r"/signing/minutes/\d+$"))
    minutes_url = page.url
    members = page.locator("[data-testid=minutes-members] tr[data-person]")
    expect(members).to_have_count(len(on_minutes))
    assert sorted(int(r.get_attribute("data-person")) for r in members.all()) == sorted(
        p.id for p in on_minutes
    )
    expect(page.get_by_test_id("minutes-state")).to_have_attribute("data-state", "printed")
    _get_pdf(page, page.get_by_test_id("minutes-pdf").get_attribute("href") or "")
    check_accessibility(page, "the minutes, printed")

    # Meanwhile the awaiting page moves on to another name; the chair comes back to the
    # minutes from there, with the signed scan.
    _filter(page, base, other_q, len(others))
    page.get_by_test_id("open-minutes").locator(f"a[href$='{minutes_url[len(base) :]}']").click()
    page.wait_for_url(minutes_url)
    page.locator("input[name=scan]").set_input_files(
        files=[{"name": "bien-ban-da-ky.pdf", "mimeType": "application/pdf", "buffer": scan_pdf()}]
    )
    page.locator("form:has(input[name=scan]) button[type=submit]").click()
    expect(page.get_by_test_id("minutes-state")).to_have_attribute("data-state", "uploaded")

    # The step before anything is written: who will be confirmed (the printed three).
    expect(page.get_by_test_id("confirm-summary")).to_contain_text(str(len(on_minutes)))
    expect(members).to_have_count(len(on_minutes))
    expect(page.locator("[data-testid=minutes-members] tr[data-eligible=true]")).to_have_count(
        len(on_minutes)
    )
    _statuses(page, base, on_minutes, "matched")  # nothing confirmed yet
    page.goto(minutes_url)
    confirm = page.get_by_test_id("minutes-confirm")
    expect(confirm).to_contain_text(str(len(on_minutes)))
    check_accessibility(page, "the minutes, before confirming")
    page.screenshot(path=str(SCREENSHOTS / "e2e-committee-minutes.png"), full_page=True)
    confirm.click()
    page.wait_for_url(re.compile(r"/signing/documents/\d+$"))
    confirmed = page.locator("#main tr[data-person]")
    expect(confirmed).to_have_count(len(on_minutes))
    assert sorted(int(r.get_attribute("data-person")) for r in confirmed.all()) == sorted(
        p.id for p in on_minutes
    )
    check_accessibility(page, "the minutes' confirmation document")
    _statuses(page, base, on_minutes, "confirmed")
    _statuses(page, base, others, "matched")  # the filter of the moment confirmed nobody
    page.goto(minutes_url)
    expect(page.get_by_test_id("minutes-state")).to_have_attribute("data-state", "confirmed")
    _filter(page, base, minutes_q, 0)
    page.goto(base + "/signing")
    left = page.get_by_test_id("awaiting-count").inner_text()
    assert int(re.sub(r"\D", "", left.split("·")[0]) or 0) > 1000, left  # nobody else

    # The certificates of the confirmed persons, as a queue job: a wrong PIN first (item 12).
    section = page.locator("#certificates")
    waiting = int(re.sub(r"\D", "", section.get_by_test_id("certificates-waiting").inner_text()))
    assert waiting >= len(to_sign) + len(on_minutes), waiting
    section.locator("input[name=pin]").fill("000000")
    section.locator("button[type=submit]").click()
    error = page.get_by_test_id("certificates-error")
    expect(error).to_be_visible()
    expect(error).to_be_in_viewport()
    check_accessibility(page, "the certificates form, wrong PIN")
    section.locator("input[name=pin]").fill(DEMO_PIN)
    section.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))

    # Item 13: the job names and links each certificate.
    result = page.get_by_test_id("certificates-result")
    expect(result).to_be_visible(timeout=30_000)
    expect(result).to_contain_text(str(waiting))
    check_accessibility(page, "the certificates job, done")
    page.screenshot(path=str(SCREENSHOTS / "e2e-committee-certificates.png"), full_page=True)
    items = result.locator("li")
    expect(items).to_have_count(waiting)
    names = Counter(
        items.locator("a[href*='/signing/documents/']:not([href$='/file'])").all_inner_texts()
    )
    assert not Counter(p.full_name for p in [*to_sign, *on_minutes]) - names, names
    expect(items.locator("a[href$='/file']")).to_have_count(waiting)  # each with its PDF
    _get_pdf(page, items.first.locator("a[href$='/file']").get_attribute("href") or "")
    # The person's record links their certificate.
    person = on_minutes[0]
    page.goto(f"{base}/records/{person.id}")
    documents = page.get_by_test_id("person-documents")
    certificate = documents.locator("li").filter(has=page.locator("a[href$='/file']"))
    expect(certificate).to_have_count(1)
    _get_pdf(page, certificate.locator("a[href$='/file']").get_attribute("href") or "")
    certificate.locator("a[href*='/signing/documents/']").first.click()
    page.wait_for_url(re.compile(r"/signing/documents/\d+$"))
    expect(page.locator(f"#main tr[data-person='{person.id}']")).to_have_count(1)
    check_accessibility(page, "a person's certificate")
    assert not errors, errors
