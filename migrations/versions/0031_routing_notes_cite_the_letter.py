"""routing notes cite the letter: the national routing rules name letter 9458/BYT-CNTT

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 20:00:00

Migration 0007 wrote the notes of the five national routing rules as "Seed 000: …", naming
a source file of the project, not a document an official knows; the rules page shows them
as they are. The rules come from the Ministry of Health's letter 9458/BYT-CNTT of
05/11/2021 (complaints answered within 48 hours, routed by how precisely the citizen named
the place): each note now names it, in Vietnamese as the page is. 0007 writes the new
notes on a new database; here the notes 0007 wrote before are changed. A note an
administrator has changed since is left as it is. The downgrade puts the old words back.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


# (precision, note 0007 wrote before, note now); the national rules have no province.
NOTES = [
    ('site', 'Seed 000: site and dose details',
     'Công văn 9458/BYT-CNTT: có thông tin cơ sở tiêm và mũi tiêm, chuyển cơ sở tiêm'),
    ('commune', 'Seed 000: the province handles or delegates',
     'Công văn 9458/BYT-CNTT: Sở Y tế xử lý hoặc giao trung tâm y tế, trạm y tế'),
    ('district', 'Seed 000: district health centre, else the province',
     'Công văn 9458/BYT-CNTT: trung tâm y tế cấp huyện, nếu không có thì Sở Y tế'),
    ('province', 'Seed 000: provincial health authority',
     'Công văn 9458/BYT-CNTT: Sở Y tế tỉnh, thành phố'),
    ('none', 'Seed 000: common pool, triaged daily',
     'Công văn 9458/BYT-CNTT: nhóm chung, cơ quan y tế phân loại hằng ngày'),
]

RULE = sa.table('feedback_routing_rule', sa.column('precision', sa.String),
                sa.column('province_id', sa.Integer), sa.column('note', sa.String))


def _replace(pairs):
    for precision, old, new in pairs:
        op.execute(
            RULE.update()
            .where(RULE.c.precision == precision, RULE.c.province_id.is_(None),
                   RULE.c.note == old)
            .values(note=new)
        )


def upgrade():
    _replace(NOTES)


def downgrade():
    _replace([(precision, new, old) for precision, old, new in NOTES])
