"""The lists police decisions feed, as the health station and the police see them."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from portal.extensions import db
from portal.worklists import services
from tests.conftest import NEIGHBOUR, OWN


@pytest.fixture
def decided(make_person, make_user):
    police = make_user("police", OWN)
    wrong = make_person(full_name="Nguyen Van Binh", id_number="001090000001")
    right = make_person(full_name="Trần Văn Cường", id_number="001090000002")
    elsewhere = make_person(full_name="Lê Văn Dũng", commune_code=NEIGHBOUR)
    services.review([wrong], services.ReviewAction.REGISTER_IS_RIGHT, "Sai dấu tên", police)
    services.review([right], services.ReviewAction.RECORD_IS_RIGHT, "CSDL ghi sai ngày", police)
    other = make_user("police", NEIGHBOUR)
    services.review([elsewhere], services.ReviewAction.REGISTER_IS_RIGHT, "x", other)
    db.session.commit()
    return wrong, right, elsewhere


def test_the_health_station_sees_its_records_to_correct(client, login_as, decided):
    wrong, right, elsewhere = decided
    login_as("health_station", OWN)
    page = client.get("/worklists/corrections").get_data(as_text=True)
    assert "Nguyen Van Binh" in page and "Sai dấu tên" in page
    assert "Trần Văn Cường" not in page and "Lê Văn Dũng" not in page
    fragment = client.get(
        "/worklists/corrections?q=binh",
        headers={"HX-Request": "true", "HX-Target": "decision-results"},
    )
    assert "<html" not in fragment.get_data(as_text=True)


def test_the_police_see_the_register_updates(client, login_as, decided):
    login_as("police", OWN)
    page = client.get("/worklists/register-updates").get_data(as_text=True)
    assert "Trần Văn Cường" in page and "CSDL ghi sai ngày" in page
    assert "Nguyen Van Binh" not in page


def test_the_lists_export(client, login_as, decided):
    login_as("health_station", OWN)
    csv_text = client.get("/worklists/corrections/export.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeff") and "Nguyen Van Binh" in csv_text
    assert "Lê Văn Dũng" not in csv_text
    xlsx = client.get("/worklists/corrections/export.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][2] == "001090000001"


def test_an_unknown_list_is_not_found(client, login_as):
    login_as("health_station", OWN)
    assert client.get("/worklists/other").status_code == 404


def test_the_correction_list_shrinks_as_records_are_corrected(
    client, login_as, make_person, make_user
):
    """Issue 13 (smaller items): "still to correct" is the correction list's default, so
    the list shrinks as records come to agree with the register; "corrected" and "all"
    show the others."""
    from portal.records.models import PersonStatus
    from portal.records.services import update_person

    police = make_user("police", OWN)
    fixed = make_person(
        full_name="Nguyen Van Binh", id_number="001090000001", status=PersonStatus.MISMATCH
    )
    pending = make_person(
        full_name="Trần Văn Cường", id_number="001090000002", status=PersonStatus.MISMATCH
    )
    services.review([fixed, pending], services.ReviewAction.REGISTER_IS_RIGHT, "Sai", police)
    update_person(
        fixed, {"full_name": "Nguyễn Văn Bình", "status": PersonStatus.MATCHED}, "Sửa theo CSDL"
    )
    db.session.commit()
    login_as("health_station", OWN)
    default = client.get("/worklists/corrections").get_data(as_text=True)
    assert "Còn phải sửa" in default
    assert "Trần Văn Cường" in default and "Nguyễn Văn Bình" not in default
    done = client.get("/worklists/corrections?state=done").get_data(as_text=True)
    assert "Nguyễn Văn Bình" in done and "Trần Văn Cường" not in done
    everyone = client.get("/worklists/corrections?state=all").get_data(as_text=True)
    assert "Nguyễn Văn Bình" in everyone and "Trần Văn Cường" in everyone


def test_a_wrong_filter_or_page_link_still_shows_the_list(client, login_as, decided):
    """Issue 16: the decision lists' search is a WTForms form: an unknown state has its
    Vietnamese message beside the field and the list shows (it was silently replaced); a
    page link the portal did not make gives the first page and says why (it was a bare
    400)."""
    login_as("health_station", OWN)
    response = client.get("/worklists/corrections?state=bogus")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="decision-state-error">Lựa chọn không hợp lệ', page)
    assert "Nguyen Van Binh" in page
    response = client.get("/worklists/corrections?after=not-a-cursor")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Liên kết trang không hợp lệ" in page and "Nguyen Van Binh" in page


def test_a_wrong_live_search_has_its_message_in_the_fragment(client, login_as, decided):
    """Issue 16: the live search (htmx) replaces the results only; a search it cannot read
    brings its Vietnamese message beside the field (out of band), as a whole page does,
    and the results still show."""
    login_as("health_station", OWN)
    response = client.get(
        "/worklists/corrections",
        query_string={"q": "x" * 101, "state": "bogus"},
        headers={"HX-Request": "true", "HX-Target": "decision-results"},
    )
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in fragment
    assert re.search(
        r'<div class="invalid-feedback d-block" id="decision-q-error" hx-swap-oob="true">'
        r"Trường này không được dài quá 100 ký tự",
        fragment,
    )
    assert re.search(
        r'id="decision-state-error" hx-swap-oob="true">Lựa chọn không hợp lệ', fragment
    )
    assert "Nguyen Van Binh" in fragment
    page = client.get("/worklists/corrections?q=" + "x" * 101).get_data(as_text=True)
    assert re.search(r'id="decision-q-error">Trường này không được dài quá 100 ký tự', page)
