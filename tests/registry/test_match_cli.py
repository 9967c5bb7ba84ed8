from portal.extensions import db
from portal.registry.models import MatchResult
from tests.conftest import NEIGHBOUR, OWN


def test_match_command_checks_the_named_commune_then_only_changes(app, make_person):
    make_person(id_number=None)
    make_person(id_number=None, commune_code=NEIGHBOUR)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["registry", "match", "--commune", OWN])
    assert first.exit_code == 0, first.output
    assert "đã kiểm tra 1 — Không có số định danh 1" in first.output
    assert "missing_id" not in first.output
    assert db.session.query(MatchResult).count() == 1
    again = runner.invoke(args=["registry", "match", "--commune", OWN])
    assert "không có gì thay đổi kể từ lần kiểm tra trước" in again.output
    full = runner.invoke(args=["registry", "match", "--full"])
    assert full.exit_code == 0 and db.session.query(MatchResult).count() == 2


def test_match_command_names_an_unknown_commune(app):
    result = app.test_cli_runner().invoke(args=["registry", "match", "--commune", "99999"])
    assert result.exit_code == 2 and "99999" in result.output
