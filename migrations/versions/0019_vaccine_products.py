"""vaccine products: a reference table of vaccines with stable codes; doses store the code

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 09:00:00

Doses and complaints named vaccines in free text ("Pfizer-BioNTech", "Pfizer-BioNTech
(Comirnaty)", "AstraZeneca" …), so the dashboard counted one vaccine as two. The products
get a table keyed by the code of the EU Digital COVID Certificate value set
vaccine-medicinal-product, with the vaccine type (vaccine-prophylaxis) and the marketing
authorisation holder or manufacturer (vaccine-mah-manf) that Vietnam's vaccine passport
shows (Decision 5772/QĐ-BYT). The code values are copied from
github.com/ehn-dcc-development/eu-dcc-valuesets (vaccine-medicinal-product.json,
vaccine-prophylaxis.json, vaccine-mah-manf.json, and vaccine-encoding-instructions.json
for which type and holder go with which product; value sets of 2022-2023). Every product
used in Vietnam's campaign has a code there, so no national code is needed (Nanocovax was
never authorised for use and is left out).

Each distinct vaccine text already stored is mapped to its code (folded: case, diacritics
and spacing ignored). The dose update goes through the dashboard's triggers, which move
the counts from the old text to the code; the emptied counters are removed. Texts that
match no product are left as they are (the screens show them as written) and listed by
``flask db upgrade``'s log. The downgrade writes back the names the portal used before.
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# (code, Vietnamese name, value-set product name, vaccine-prophylaxis, vaccine-mah-manf,
#  holder's name as the value set writes it, other spellings)
PRODUCTS = [
    ("EU/1/20/1528", "Comirnaty (Pfizer-BioNTech)", "Comirnaty", "1119349007",
     "ORG-100030215", "Biontech Manufacturing GmbH",
     "Pfizer-BioNTech (Comirnaty)|Pfizer-BioNTech|Pfizer BioNTech|Pfizer/BioNTech|Pfizer|"
     "BioNTech|BNT162b2|Vắc xin Pfizer"),
    ("EU/1/20/1507", "Spikevax (Moderna)", "Spikevax", "1119349007",
     "ORG-100031184", "Moderna Biotech Spain S.L.",
     "Moderna (Spikevax)|Moderna|COVID-19 Vaccine Moderna|mRNA-1273|Vắc xin Moderna"),
    ("EU/1/21/1529", "Vaxzevria (AstraZeneca)", "Vaxzevria", "29061000087103",
     "ORG-100001699", "AstraZeneca AB",
     "AstraZeneca (Vaxzevria)|AstraZeneca|Astra Zeneca|Astra-Zeneca|AZD1222|"
     "Vắc xin AstraZeneca"),
    ("Covishield", "Covishield (AstraZeneca - Viện Huyết thanh Ấn Độ)", "Covishield",
     "29061000087103", "ORG-100001981", "Serum Institute Of India Private Limited",
     "ChAdOx1_nCoV-19|Covishield (Serum Institute of India)"),
    ("Sputnik-V", "Sputnik V (Gam-COVID-Vac)", "Sputnik-V", "29061000087103",
     "Gamaleya-Research-Institute", "Gamaleya Research Institute",
     "Sputnik V|SputnikV|Gam-COVID-Vac|Gam COVID Vac"),
    ("BBIBP-CorV", "Vero Cell (Sinopharm BBIBP-CorV)", "BBIBP-CorV", "1157024006",
     "ORG-100020693", "China Sinopharm International Corp. - Beijing location",
     "Vero Cell (Sinopharm)|Vero Cell|VeroCell|Sinopharm|Sinopharm Vero Cell|"
     "Sinopharm BBIBP-CorV|BBIBP|Vắc xin Vero Cell"),
    ("Abdala", "Abdala", "Abdala", "28531000087107",
     "CIGB", "Center for Genetic Engineering and Biotechnology",
     "CIGB-66|Abdala (CIGB-66)"),
    ("Hayat-Vax", "Hayat-Vax", "Hayat-Vax", "1157024006",
     "ORG-100023050", "Gulf Pharmaceutical Industries",
     "Hayat Vax|HayatVax"),
    ("EU/1/20/1525", "Jcovden (Janssen)", "Jcovden", "29061000087103",
     "ORG-100001417", "Janssen-Cilag International",
     "Janssen|COVID-19 Vaccine Janssen|Johnson & Johnson|Johnson and Johnson|J&J|"
     "Ad26.COV2.S"),
    ("Covaxin", "Covaxin (Bharat Biotech)", "Covaxin", "1157024006",
     "Bharat-Biotech", "Bharat Biotech",
     "BBV152"),
]
# What the portal wrote before this migration, for the downgrade.
OLD_NAMES = {
    "EU/1/20/1528": "Pfizer-BioNTech (Comirnaty)",
    "EU/1/21/1529": "AstraZeneca (Vaxzevria)",
    "EU/1/20/1507": "Moderna (Spikevax)",
    "BBIBP-CorV": "Vero Cell (Sinopharm)",
    "Sputnik-V": "Sputnik V",
    "Hayat-Vax": "Hayat-Vax",
    "Abdala": "Abdala",
    "EU/1/20/1525": "Janssen",
    "Covishield": "Covishield",
    "Covaxin": "Covaxin",
}


def _fold(value):
    """portal.core.text.fold as of this migration (a migration keeps its own copy)."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "d"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def _spellings():
    found = {}
    for code, name, product, *_rest, aliases in PRODUCTS:
        for text in (code, name, product):
            found[_fold(text)] = code
    for code, *_rest, aliases in PRODUCTS:
        for text in aliases.split("|"):
            found.setdefault(_fold(text), code)
    return found


def _rename(table, column, mapping):
    """UPDATE table SET column = new WHERE column = old, for each pair."""
    statement = sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old")
    for old, new in sorted(mapping.items()):
        if old != new:
            op.execute(statement.bindparams(old=old, new=new))


def upgrade():
    vaccine = op.create_table(
        'vaccine',
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('product', sa.String(length=80), nullable=False),
        sa.Column('prophylaxis_code', sa.String(length=20), nullable=False),
        sa.Column('manufacturer_code', sa.String(length=40), nullable=False),
        sa.Column('manufacturer', sa.String(length=200), nullable=False),
        sa.Column('aliases', sa.String(length=500), nullable=False),
        sa.Column('position', sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_vaccine')),
        sa.UniqueConstraint('name', name=op.f('uq_vaccine_name')),
    )
    op.bulk_insert(vaccine, [
        {"code": code, "name": name, "product": product, "prophylaxis_code": prophylaxis,
         "manufacturer_code": holder, "manufacturer": holder_name, "aliases": aliases,
         "position": position}
        for position, (code, name, product, prophylaxis, holder, holder_name, aliases)
        in enumerate(PRODUCTS, start=1)
    ])
    spellings = _spellings()
    bind = op.get_bind()
    unknown = set()
    for table in ("dose", "feedback"):
        texts = [t for (t,) in bind.execute(sa.text(
            f"SELECT DISTINCT vaccine FROM {table} WHERE vaccine IS NOT NULL"))]
        mapping = {}
        for text in texts:
            code = spellings.get(_fold(text))
            if code is None:
                unknown.add(text)
            else:
                mapping[text] = code
        _rename(table, "vaccine", mapping)
    # The triggers moved every count to the code; the old texts' counters are now 0.
    op.execute("DELETE FROM dose_tally WHERE n = 0")
    if unknown:
        print("0019: vaccine names left as written (no product matches):",
              ", ".join(sorted(unknown)))


def downgrade():
    _rename("dose", "vaccine", OLD_NAMES)
    _rename("feedback", "vaccine", OLD_NAMES)
    op.execute("DELETE FROM dose_tally WHERE n = 0")
    op.drop_table('vaccine')
