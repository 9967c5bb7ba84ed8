"""The bare page of ``bench.load``: Flask, one 50-row query on the portal's database, a table.

    gunicorn --workers 2 bench.bare:app      (DATABASE_URL as the portal's)

What any Flask page on that database costs at the least — no session, no login, no form,
no translations — so that ``/records`` can be measured against it in the same run: the
same commune's first 50 persons in the list's order, the columns the list shows.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, render_template_string

COMMUNE = os.environ.get("BARE_COMMUNE", "00004")

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Bare</title></head><body>
<table>
<thead><tr><th>Họ và tên</th><th>Giới tính</th><th>Ngày sinh</th><th>Số định danh</th>
<th>Trạng thái</th></tr></thead>
<tbody>
{% for row in rows %}<tr><td><a href="/records/{{ row.id }}">{{ row.full_name }}</a></td>
<td>{{ row.sex }}</td><td>{{ row.birth_date }}</td><td>{{ row.id_number or "" }}</td>
<td>{{ row.status }}</td></tr>
{% endfor %}</tbody></table></body></html>"""

QUERY = sa.text(
    "SELECT p.id, p.full_name, p.sex, p.birth_date, p.id_number, p.status FROM person p "
    "JOIN area a ON a.id = p.commune_id WHERE a.code = :code "
    "ORDER BY p.name_sort, p.id LIMIT 50"
)


def _url() -> str:
    url = os.environ["DATABASE_URL"]
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


app = Flask(__name__)
engine = sa.create_engine(_url())


@app.get("/records")
def records():
    with engine.connect() as conn:
        rows = conn.execute(QUERY, {"code": COMMUNE}).all()
    return render_template_string(PAGE, rows=rows)
