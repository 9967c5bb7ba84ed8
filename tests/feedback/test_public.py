"""The citizen's side: the form, its checks, the tracking code, the status page."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.auth.models import Role
from portal.extensions import db
from portal.feedback.models import Attachment, Feedback, RateHit, UnitKind
from tests.conftest import CAO_BANG, HANOI, NEIGHBOUR, OWN, csrf_token
from tests.feedback.conftest import EXE, FORM, JPEG, PDF, PNG, post


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Feedback))


def test_the_form_is_public_and_in_vietnamese(client):
    page = client.get("/feedback/new")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Họ và tên" in text and 'name="csrf_token"' in text


def test_a_valid_report_gives_a_tracking_code(client, area):
    response = post(client)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    feedback = db.session.scalars(sa.select(Feedback)).one()
    assert feedback.code in page
    assert feedback.phone == "0912345678"
    assert (feedback.unit_kind, feedback.unit_area_id) == (UnitKind.PROVINCE, area(HANOI).id)


def test_the_form_needs_its_csrf_token(client):
    response = client.post("/feedback/new", data=FORM)
    assert response.status_code == 400
    assert count() == 0


def test_place_pick_lists_narrow_as_a_page_and_as_a_fragment(client, make_site):
    site = make_site(OWN, name="Điểm tiêm Ba Đình")
    make_site(NEIGHBOUR, name="Điểm tiêm Ngọc Hà")
    page = client.get(f"/feedback/places?province={HANOI}&commune={OWN}")
    assert "<html" in page.get_data(as_text=True)
    fragment = client.get(
        f"/feedback/places?province={HANOI}&commune={OWN}",
        headers={"HX-Request": "true", "HX-Target": "places"},
    )
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and 'id="places"' in text
    assert site.code in text and "Điểm tiêm Ngọc Hà" not in text
    assert "Phường Ngọc Hà" in text  # the communes of the province


@pytest.mark.parametrize(
    "changes, field, message",
    [
        # The messages of records.rules, as at every entry point (issue 13, item 19).
        ({"id_number": "00119001234A"}, "id_number", "chỉ được gồm chữ số"),
        ({"id_number": "999190012345"}, "id_number", "không phải mã tỉnh"),
        ({"full_name": "Trần Thị B1nh"}, "full_name", "chỉ gồm chữ cái"),
        ({"birth_date": "31/02/1990"}, "birth_date", "không phải là ngày có thật"),
        ({"id_number": "12345"}, "id_number", "12 chữ số"),
        # yyyy-mm-dd is read, as the import and the API read it; a year alone is not enough.
        ({"birth_date": "1990"}, "birth_date", "dd/mm/yyyy"),
        ({"phone": "abc"}, "phone", "số điện thoại"),
        ({"full_name": ""}, "full_name", "họ và tên"),
        ({"description": "ngắn"}, "description", "10"),
        ({"province": "99"}, "province", "không tồn tại"),
        ({"commune": "99999"}, "commune", "không tồn tại"),
        ({"province": CAO_BANG, "commune": OWN}, "commune", "không thuộc"),
        ({"site": "KHONG-CO"}, "site", "không tồn tại"),
    ],
)
def test_bad_input_gets_a_clear_vietnamese_message(client, changes, field, message):
    response = post(client, **changes)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert f'data-testid="error-{field}"' in text
    assert message.lower() in text.lower()
    assert count() == 0


def test_a_submission_replayed_ten_times_is_one_report(client):
    first = post(client)
    assert first.status_code == 303
    for _ in range(10):
        again = post(client)
        assert again.status_code == 303
    assert count() == 1
    page = client.get("/feedback/received").get_data(as_text=True)
    assert "đã được tiếp nhận trước đó" in page


@pytest.mark.parametrize("name, data", [("giay.jpg", JPEG), ("anh.png", PNG), ("ban-sao.pdf", PDF)])
def test_photos_and_pdfs_are_attached(client, name, data):
    assert post(client, attachment=(io.BytesIO(data), name)).status_code == 303
    attachment = db.session.scalars(sa.select(Attachment)).one()
    assert attachment.data == data and attachment.filename == name


@pytest.mark.parametrize(
    "name, data",
    [
        ("giay.jpg", EXE),  # a program named .jpg
        ("giay.exe", EXE),
        ("anh.pdf", PNG),  # the name and the content disagree
        ("rong.png", b""),
    ],
)
def test_fake_attachments_are_refused(client, name, data):
    response = post(client, attachment=(io.BytesIO(data), name))
    assert response.status_code == 422
    assert 'data-testid="error-attachment"' in response.get_data(as_text=True)
    assert count() == 0


def test_oversized_attachments_are_refused(app, client, monkeypatch):
    # A small limit keeps the test's upload in memory; the check is the same at 5 MB.
    monkeypatch.setitem(app.config, "FEEDBACK_ATTACHMENT_MAX_BYTES", 2048)
    response = post(client, attachment=(io.BytesIO(JPEG + b"\x00" * 2048), "to.jpg"))
    assert response.status_code == 422
    assert "quá lớn" in response.get_data(as_text=True)
    assert count() == 0
    assert (
        post(client, attachment=(io.BytesIO(JPEG + b"\x00" * 1024), "vua.jpg")).status_code == 303
    )


def test_a_body_beyond_the_request_limit_gets_a_page_not_a_500(app, client):
    too_long = str(app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        "/feedback/new",
        data=b"--x--",
        headers={"Content-Type": "multipart/form-data; boundary=x", "Content-Length": too_long},
    )
    # 413 when the server reads the declared length; the test body is shorter than it
    # declares, which werkzeug answers with 400. Either way a page, never a 500.
    assert response.status_code in (400, 413)
    assert "<html" in response.get_data(as_text=True)


def test_rate_limit_per_client(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_RATE_LIMIT", 3)
    for n in range(3):
        assert post(client, description=f"Phản ánh thứ {n} về mũi tiêm.").status_code == 303
    refused = post(client, description="Phản ánh thứ tư về mũi tiêm.")
    assert refused.status_code == 429
    assert 'data-testid="rate-limited"' in refused.get_data(as_text=True)
    assert count() == 3
    # Another client address is counted on its own.
    other = client.post(
        "/feedback/new",
        data={**FORM, "csrf_token": csrf_token(client, "/feedback/new")},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other.status_code == 303


def _file(client) -> str:
    post(client)
    return db.session.scalars(sa.select(Feedback)).one().code


def test_status_needs_the_phone_or_the_birth_date(app, client):
    code = _file(client)
    fresh = app.test_client()  # another browser: has not filed it
    page = fresh.get(f"/feedback/{code}").get_data(as_text=True)
    assert "Mũi 2" not in page and 'data-testid="status"' not in page
    token = csrf_token(fresh, f"/feedback/{code}")
    ok = fresh.post(f"/feedback/{code}", data={"phone": "+84912345678", "csrf_token": token})
    assert ok.status_code == 303
    shown = fresh.get(f"/feedback/{code}").get_data(as_text=True)
    assert 'data-testid="status"' in shown and "Đã tiếp nhận" in shown
    other = app.test_client()
    token = csrf_token(other, f"/feedback/{code}")
    by_birth = other.post(
        f"/feedback/{code}", data={"birth_date": "17/05/1990", "csrf_token": token}
    )
    assert by_birth.status_code == 303


def test_a_phone_outside_ascii_for_an_unknown_code_is_a_mismatch_not_a_500(app):
    """Issue 14 (the fuzz test): the dummy comparison for an unknown code compared a str
    with a character outside ASCII, which compare_digest refuses (TypeError, a 500)."""
    browser = app.test_client()
    token = csrf_token(browser, "/feedback/PA2222222222")
    response = browser.post(
        "/feedback/PA2222222222", data={"phone": "０９１２３４５６７８é", "csrf_token": token}
    )
    assert response.status_code == 422


SIGNED_TOKEN = re.compile(r"[\w-]{30,}\.[\w-]{4,}\.[\w-]{20,}")
NONCE = re.compile(r'nonce="[\w-]+"')


def test_wrong_details_and_unknown_codes_get_the_same_answer(app, client):
    code = _file(client)
    answers = []
    for target, data in [
        (code, {"phone": "0900000000"}),
        (code, {"birth_date": "01/01/1990"}),
        ("PA2222222222", {"phone": "0900000000"}),
    ]:
        browser = app.test_client()
        token = csrf_token(browser, f"/feedback/{target}")
        response = browser.post(f"/feedback/{target}", data={**data, "csrf_token": token})
        text = response.get_data(as_text=True)
        assert response.status_code == 422
        assert 'data-testid="mismatch"' in text
        assert "Trần Thị Bình" not in text and "Mũi 2" not in text
        assert 'data-testid="status"' not in text
        # Every CSRF token (the page's own, signed with the time, may differ from the one
        # fetched if a second has passed) is the same placeholder; so is the page's
        # Content-Security-Policy nonce, new for every response (issue 14, item 14).
        text = NONCE.sub('nonce="NONCE"', text)
        answers.append(SIGNED_TOKEN.sub("TOKEN", text.replace(target, "CODE")))
    assert answers[0] == answers[2]  # a wrong phone tells nothing more than a wrong code


def test_status_lookups_are_rate_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_STATUS_RATE_LIMIT", 2)
    code = _file(client)
    browser = app.test_client()
    token = csrf_token(browser, f"/feedback/{code}")
    for _ in range(2):
        browser.post(f"/feedback/{code}", data={"phone": "0900000000", "csrf_token": token})
    right = browser.post(f"/feedback/{code}", data={"phone": "0912345678", "csrf_token": token})
    assert right.status_code == 429


def test_only_accepted_complaints_count_towards_the_address_limit(app, client, monkeypatch):
    """Issue 13, item 20: refused forms do not use up the address's complaints (many
    citizens share a mobile network's address); they have their own, more generous
    counter, which slows repeated failures down without blocking valid complaints."""
    monkeypatch.setitem(app.config, "FEEDBACK_RATE_LIMIT", 3)
    monkeypatch.setitem(app.config, "FEEDBACK_FAILURE_LIMIT", 5)
    for _ in range(5):
        assert post(client, birth_date="31/02/1990").status_code == 422
    too_many = post(client, birth_date="31/02/1990")
    assert too_many.status_code == 429
    assert 'data-testid="too-many-failures"' in too_many.get_data(as_text=True)
    assert "chờ 10 phút" in too_many.get_data(as_text=True)
    for n in range(3):  # valid complaints still go through
        assert post(client, description=f"Phản ánh thứ {n} về mũi tiêm.").status_code == 303
    replay = post(client, description="Phản ánh thứ 0 về mũi tiêm.")
    assert replay.status_code == 303  # the first again, not a new complaint
    refused = post(client, description="Phản ánh thứ tư về mũi tiêm.")
    assert refused.status_code == 429
    assert 'data-testid="rate-limited"' in refused.get_data(as_text=True)
    assert count() == 3
    counters = dict(db.session.execute(sa.select(RateHit.key, RateHit.count)).all())
    assert counters == {"feedback:127.0.0.1": 3, "feedback-refused:127.0.0.1": 6}


def test_status_look_ups_are_limited_per_code_and_count_only_failures(app, client, monkeypatch):
    """Issue 13, item 20: failed look-ups of one tracking code are limited whatever the
    address they come from; citizens reading their own status are not counted. Since
    issue 14, item 10 the limit counts wrong answers and then asks for both details (or a
    wait) instead of refusing everyone for the rest of the hour."""
    monkeypatch.setitem(app.config, "FEEDBACK_STATUS_CODE_MAX_WRONG", 2)
    code = _file(client)
    for n in range(5):  # the owner looks again and again: never refused
        browser = app.test_client()
        token = csrf_token(browser, f"/feedback/{code}")
        assert (
            browser.post(
                f"/feedback/{code}", data={"phone": "0912345678", "csrf_token": token}
            ).status_code
            == 303
        ), n
    for n in range(2):
        browser = app.test_client()
        token = csrf_token(browser, f"/feedback/{code}")
        assert (
            browser.post(
                f"/feedback/{code}",
                data={"birth_date": f"0{n + 1}/01/1990", "csrf_token": token},
                environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
            ).status_code
            == 422
        )
    guess = app.test_client()
    token = csrf_token(guess, f"/feedback/{code}")
    refused = guess.post(
        f"/feedback/{code}",
        data={"phone": "0912345678", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert refused.status_code == 429
    # Another code from the same addresses is not affected.
    other = guess.post(
        "/feedback/PA2222222222",
        data={"phone": "0912345678", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 422


def test_the_status_is_asked_for_again_after_a_few_minutes(app, client, monkeypatch):
    """Issue 13, item 21: on a shared phone the status does not stay open for the whole
    browser session: after FEEDBACK_STATUS_REVEAL_MINUTES the phone or birth date is asked
    again."""
    monkeypatch.setitem(app.config, "FEEDBACK_STATUS_REVEAL_MINUTES", 10)
    with time_machine.travel(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), tick=False):
        code = _file(client)
        assert 'data-testid="status"' in client.get(f"/feedback/{code}").get_data(as_text=True)
    with time_machine.travel(datetime(2026, 3, 2, 1, 9, tzinfo=UTC), tick=False):
        assert 'data-testid="status"' in client.get(f"/feedback/{code}").get_data(as_text=True)
    with time_machine.travel(datetime(2026, 3, 2, 1, 11, tzinfo=UTC), tick=False):
        page = client.get(f"/feedback/{code}").get_data(as_text=True)
        assert 'data-testid="status"' not in page and 'name="phone"' in page
        token = csrf_token(client, f"/feedback/{code}")
        client.post(f"/feedback/{code}", data={"phone": "0912345678", "csrf_token": token})
        assert 'data-testid="status"' in client.get(f"/feedback/{code}").get_data(as_text=True)


def test_the_citizen_reads_who_answers_by_when_and_whether_it_is_late(
    app, client, make_site, make_user, area
):
    """Issue 13, item 21: the received page names the unit and the deadline in Vietnam
    time; the form says that a site with dose details goes straight to the site; the
    status of an overdue complaint says it is late and that it was escalated; the common
    pool is explained, not named "Kho chung"."""
    from portal.feedback import services

    form = client.get("/feedback/new").get_data(as_text=True)
    assert "phản ánh sẽ được gửi thẳng đến cơ sở tiêm đó" in form
    site = make_site(OWN, name="Điểm tiêm Ba Đình")
    make_user(Role.VACCINATION_SITE, OWN, site=site)
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
    with time_machine.travel(t0, tick=False):
        assert (
            post(client, site=site.code, dose_number="2", vaccinated_on="01/09/2021").status_code
            == 303
        )
        received = client.get("/feedback/received").get_data(as_text=True)
    assert 'data-testid="unit">Điểm tiêm Ba Đình<' in received
    assert "04/03/2026 08:00 (giờ Việt Nam)" in received
    code = db.session.scalars(sa.select(Feedback.code)).one()
    with time_machine.travel(t0 + timedelta(minutes=5), tick=False):
        page = client.get(f"/feedback/{code}").get_data(as_text=True)
    assert "Đang chờ Điểm tiêm Ba Đình trả lời, hạn trả lời 04/03/2026 08:00" in page
    assert "còn 47 giờ 55 phút" in page
    with time_machine.travel(t0 + timedelta(hours=51, minutes=1), tick=False):
        services.escalate_overdue()
        db.session.commit()
        browser = app.test_client()
        token = csrf_token(browser, f"/feedback/{code}")
        browser.post(f"/feedback/{code}", data={"phone": "0912345678", "csrf_token": token})
        late = browser.get(f"/feedback/{code}").get_data(as_text=True)
    assert "chưa được trả lời đúng hạn" in late and "quá hạn 3 giờ 1 phút" in late
    assert "chuyển thêm lên Trạm Y tế Phường Ba Đình, Sở Y tế Thành phố Hà Nội" in late

    pool = app.test_client()
    post(pool, province="", commune="", description="Không nhớ nơi tiêm, hồ sơ bị thiếu.")
    pool_page = pool.get("/feedback/received").get_data(as_text=True)
    assert "Kho chung" not in pool_page
    assert "cơ quan y tế xem các phản ánh chưa rõ nơi tiêm" in pool_page


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("17/05/1990", 303),
        ("1990-05-17", 303),
        ("17-05-1990", 303),
        ("31/02/1990", "“31/02/1990” không phải là ngày có thật"),
        ("1990", "dd/mm/yyyy"),
        ("17/05/2990", "ở tương lai"),
    ],
)
def test_status_birth_date_follows_the_field_rules(app, client, typed, expected):
    """Issue 13, item 19 (wave 2): the status page's date of birth follows the one set of
    field rules (``records.rules.birth_date``), as the complaint form does: dd/mm/yyyy and
    yyyy-mm-dd are read, a date the calendar lacks is said to be one, with the rule's
    message. It used WTForms' own date field ("Not a valid date value")."""
    code = _file(client)
    other = app.test_client()
    token = csrf_token(other, f"/feedback/{code}")
    response = other.post(f"/feedback/{code}", data={"birth_date": typed, "csrf_token": token})
    if expected == 303:
        assert response.status_code == 303, response.get_data(as_text=True)[:300]
        return
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert expected in body and "Not a valid" not in body
    assert 'aria-invalid="true"' in body or "is-invalid" in body
