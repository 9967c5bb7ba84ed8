"""The vaccine table against the published EU DCC value sets (portal/passport/standards)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.passport import payload, valuesets
from portal.records.models import Vaccine


def test_the_stored_files_are_the_published_releases():
    assert valuesets.schema_version() == "1.3.3"
    assert valuesets.schema()["$id"] == "https://id.uvci.eu/DCC.combined-schema.json"
    assert "Apache License" in (valuesets.STANDARDS / "LICENSE.eu-dcc-schema").read_text()
    readme = (valuesets.STANDARDS / "README.md").read_text()
    assert "ce3aa131e5356b0a0a13d268483648cca76820d0" in readme
    assert "4f1e82ffc66947214fc0f3afb70156bae066b920" in readme
    for name in (
        valuesets.DISEASE,
        valuesets.PROPHYLAXIS,
        valuesets.PRODUCT,
        valuesets.HOLDER,
        valuesets.ENCODING,
    ):
        data = json.loads((valuesets.STANDARDS / f"{name}.json").read_text())
        assert data["valueSetValues"], name


def test_every_vaccine_of_the_table_maps_to_codes_of_the_value_sets(app):
    """Each row's mp, vp and ma are active codes of the value sets, paired as the encoding
    instructions pair them: a dose of any vaccine the portal knows can be issued."""
    rows = db.session.scalars(sa.select(Vaccine)).all()
    assert len(rows) >= 10
    for row in rows:
        entry = {
            "tg": valuesets.COVID_19,
            "mp": row.code,
            "vp": row.prophylaxis_code,
            "ma": row.manufacturer_code,
        }
        assert valuesets.code_errors(entry) == [], row.code
        assert valuesets.values(valuesets.PRODUCT)[row.code]["display"] == row.product
        assert payload.series_doses(row.code) in (1, 2)


@pytest.mark.parametrize(
    "entry, wrong",
    [
        ({"mp": "EU/1/20/1528", "vp": "1119349007", "ma": "ORG-100031184"}, "mp/ma"),
        ({"mp": "EU/1/20/1528", "vp": "1157024006", "ma": "ORG-100030215"}, "vp"),
        ({"mp": "Nanocovax", "vp": "1119349007", "ma": "ORG-100030215"}, "mp"),
        ({"mp": "NVX-CoV2373", "vp": "1162643001", "ma": "ORG-100032020"}, "inactive"),
    ],
)
def test_codes_outside_the_value_sets_are_found(entry, wrong):
    errors = valuesets.code_errors({"tg": valuesets.COVID_19, **entry})
    assert any(wrong in error for error in errors), errors
