"""Small helpers shared by the models of every domain."""

from __future__ import annotations

import enum

import sqlalchemy as sa


def enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR plus a CHECK constraint, storing the values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


def c_collated(length: int) -> sa.types.TypeEngine:
    """ASCII keys must sort bytewise; PostgreSQL's default collation ignores spaces."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")
