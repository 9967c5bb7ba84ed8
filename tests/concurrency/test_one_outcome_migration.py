"""Issue 15, item 2: migration 0029 makes "one open handover list per person" and "one valid
confirmation per person" unique indexes; 0032 holds certificates to the second. Duplicates
already in the data keep the newest entry; the indexes then refuse a new duplicate; the
downgrade takes them away again."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.committing

WORKLIST = sa.table(
    "worklist",
    sa.column("id"),
    sa.column("kind"),
    sa.column("state"),
    sa.column("area_id"),
    sa.column("title"),
    sa.column("created_at"),
)
MEMBER = sa.table(
    "worklist_member",
    sa.column("id"),
    sa.column("worklist_id"),
    sa.column("person_id"),
    sa.column("snapshot", sa.JSON),
    sa.column("added_at"),
)
DOCUMENT = sa.table(
    "signed_document",
    sa.column("id"),
    sa.column("code"),
    sa.column("kind"),
    sa.column("state"),
    sa.column("area_id"),
    sa.column("title"),
    sa.column("path"),
    sa.column("sha256"),
    sa.column("media_type"),
    sa.column("signed_at"),
    sa.column("member_count"),
)
DOCUMENT_MEMBER = sa.table(
    "signed_document_member",
    sa.column("id"),
    sa.column("document_id"),
    sa.column("person_id"),
    sa.column("snapshot", sa.JSON),
    sa.column("superseded_at"),
)
NOW = datetime(2026, 12, 1, 8, 0)


def _document(document_id: int, kind: str) -> dict:
    """A valid signed document of area 7 with one member."""
    return {
        "id": document_id,
        "code": f"c{document_id}",
        "kind": kind,
        "state": "valid",
        "area_id": 7,
        "title": "t",
        "path": "p",
        "sha256": "0" * 64,
        "media_type": "application/pdf",
        "signed_at": NOW,
        "member_count": 1,
    }


def _seed(connection: sa.Connection) -> None:
    area = sa.table(
        "area",
        sa.column("id"),
        sa.column("code"),
        sa.column("name"),
        sa.column("kind"),
        sa.column("division_type"),
        sa.column("parent_id"),
        sa.column("province_id"),
        sa.column("legacy", sa.Boolean),
    )
    connection.execute(
        sa.insert(area),
        [
            {
                "id": 1,
                "code": "01",
                "name": "Hà Nội",
                "kind": "province",
                "division_type": "thành phố",
                "parent_id": None,
                "province_id": None,
                "legacy": False,
            },
            {
                "id": 7,
                "code": "00004",
                "name": "Ba Đình",
                "kind": "commune",
                "division_type": "phường",
                "parent_id": 1,
                "province_id": 1,
                "legacy": False,
            },
        ],
    )
    for person_id in (1, 2):
        connection.execute(
            sa.text(
                "INSERT INTO person (id, full_name, name_norm, name_folded, name_sort, sex, "
                "birth_date, birth_precision, id_kind, nationality, commune_id, province_id, "
                "status, version, created_at, updated_at) VALUES (:id, 'A', 'a', 'a', 'a', "
                "'male', :birth, 'year', 'none', 'VN', 7, 1, 'confirmed', 1, :now, :now)"
            ),
            {"id": person_id, "birth": datetime(1985, 1, 1).date(), "now": NOW},
        )
    # Person 1 on two open handover lists (10, 11) and an archived one (9); person 2 on a
    # correction list (12) only.
    connection.execute(
        sa.insert(WORKLIST),
        [
            {
                "id": 9,
                "kind": "handover",
                "state": "archived",
                "area_id": 7,
                "title": "t",
                "created_at": NOW,
            },
            {
                "id": 10,
                "kind": "handover",
                "state": "handed_over",
                "area_id": 7,
                "title": "t",
                "created_at": NOW,
            },
            {
                "id": 11,
                "kind": "handover",
                "state": "draft",
                "area_id": 7,
                "title": "t",
                "created_at": NOW,
            },
            {
                "id": 12,
                "kind": "correction",
                "state": "draft",
                "area_id": 7,
                "title": "t",
                "created_at": NOW,
            },
        ],
    )
    connection.execute(
        sa.insert(MEMBER),
        [
            {"id": 100 + w, "worklist_id": w, "person_id": p, "snapshot": {}, "added_at": NOW}
            for w, p in ((9, 1), (10, 1), (11, 1), (12, 2))
        ],
    )
    # Person 1 confirmed by two committee lists (20, 21), with a certificate (22); person 2
    # confirmed by minutes (23) and by a committee list whose entry was superseded (24).
    connection.execute(
        sa.insert(DOCUMENT),
        [
            _document(d, kind)
            for d, kind in (
                (20, "committee_list"),
                (21, "committee_list"),
                (22, "certificate"),
                (23, "minutes"),
                (24, "committee_list"),
            )
        ],
    )
    connection.execute(
        sa.insert(DOCUMENT_MEMBER),
        [
            {
                "id": 200 + d,
                "document_id": d,
                "person_id": p,
                "snapshot": {},
                "superseded_at": superseded,
            }
            for d, p, superseded in (
                (20, 1, None),
                (21, 1, None),
                (22, 1, None),
                (24, 2, NOW),
                (23, 2, None),
            )
        ],
    )


def _entries(engine: sa.Engine, documents=None) -> dict[int, tuple[str | None, bool]]:
    """Each document's member: (its basis, whether it is superseded)."""
    query = sa.select(
        DOCUMENT_MEMBER.c.document_id, sa.column("basis"), DOCUMENT_MEMBER.c.superseded_at
    ).select_from(DOCUMENT_MEMBER)
    if documents is not None:
        query = query.where(DOCUMENT_MEMBER.c.document_id.in_(documents))
    with engine.connect() as connection:
        return {
            d: (basis, superseded is not None) for d, basis, superseded in connection.execute(query)
        }


def _refused(engine: sa.Engine, statement: str, **values) -> None:
    """The unique indexes refuse ``statement``."""
    with engine.connect() as connection:
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(sa.text(statement), values)
        connection.rollback()


def _revalidate(member_id: int) -> str:
    return f"UPDATE signed_document_member SET superseded_at = NULL WHERE id = {member_id}"


def test_migration_0029_keeps_the_newest_of_duplicates_then_refuses_new_ones(migrations):
    with migrations.engine.begin() as connection:
        _seed(connection)
    migrations.upgrade("0029")
    with migrations.engine.connect() as connection:
        members = dict(
            connection.execute(
                sa.select(MEMBER.c.worklist_id, sa.column("open_handover")).select_from(MEMBER)
            ).all()
        )
    assert {w: bool(v) if v is not None else None for w, v in members.items()} == {
        9: None,
        10: None,
        11: True,
        12: None,
    }
    assert _entries(migrations.engine) == {
        20: ("confirmation", True),
        21: ("confirmation", False),
        22: (None, False),
        23: ("confirmation", False),
        24: ("confirmation", True),
    }
    _refused(
        migrations.engine,
        "UPDATE worklist_member SET open_handover = :yes WHERE id = 110",
        yes=True,
    )
    _refused(migrations.engine, _revalidate(220))
    migrations.downgrade("0028")
    with migrations.engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("worklist_member")}
    assert "open_handover" not in columns


def _seed_certificates(connection: sa.Connection) -> None:
    """Besides ``_seed``'s certificate of person 1 (22): a newer one of person 1 (25), made
    by a second batch at once, and person 2's only one (26)."""
    connection.execute(sa.insert(DOCUMENT), [_document(d, "certificate") for d in (25, 26)])
    connection.execute(
        sa.insert(DOCUMENT_MEMBER),
        [
            {"id": 200 + d, "document_id": d, "person_id": p, "snapshot": {}}
            for d, p in ((25, 1), (26, 2))
        ],
    )


def test_migration_0032_keeps_the_newest_certificate_then_refuses_a_second(migrations):
    with migrations.engine.begin() as connection:
        _seed(connection)
        _seed_certificates(connection)
    migrations.upgrade("0032")
    certificates = (22, 25, 26)
    assert _entries(migrations.engine, certificates) == {
        22: ("certificate", True),
        25: ("certificate", False),
        26: ("certificate", False),
    }
    _refused(migrations.engine, _revalidate(222))
    migrations.downgrade("-1")
    assert _entries(migrations.engine, certificates) == {
        22: (None, True),
        25: (None, False),
        26: (None, False),
    }
