"""The edit distance matching uses on SQLite (portal.core.sql.levenshtein, rapidfuzz's) against
the textbook dynamic-programming table, and, in the suite's database, against the
database's own levenshtein() (fuzzystrmatch on PostgreSQL, the same function on SQLite)."""

import random

import pytest
import sqlalchemy as sa

from portal.core.sql import levenshtein
from portal.extensions import db

LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐ  "


def table_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def pairs(count: int, seed: int = 7) -> list[tuple[str, str]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        a = "".join(rnd.choice(LETTERS) for _ in range(rnd.randint(0, 70)))
        if rnd.random() < 0.5:  # near misses, as in typos
            chars = list(a)
            for _ in range(rnd.randint(0, 3)):
                if chars:
                    chars[rnd.randrange(len(chars))] = rnd.choice(LETTERS)
            if chars and rnd.random() < 0.5:
                del chars[rnd.randrange(len(chars))]
            b = "".join(chars)
        else:
            b = "".join(rnd.choice(LETTERS) for _ in range(rnd.randint(0, 70)))
        out.append((a, b))
    return out


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("kitten", "sitting", 3),
        ("nguyen van an", "nguyen van anh", 1),
        ("nguyen vna an", "nguyen van an", 2),
        ("Trần", "Tran", 1),
        ("a" * 80, "a" * 79 + "b", 1),  # longer than 64 characters
    ],
)
def test_known_distances(a, b, expected):
    assert levenshtein(a, b) == expected
    assert levenshtein(b, a) == expected


def test_none_gives_none():
    assert levenshtein(None, "a") is None
    assert levenshtein("a", None) is None


def test_equals_the_dynamic_programming_table():
    for a, b in pairs(3000):
        assert levenshtein(a, b) == table_distance(a, b), (a, b)


def test_equals_the_databases_levenshtein(app):
    # fuzzystrmatch refuses strings over 255 characters; the pairs stay below.
    sample = pairs(200, seed=11)
    query = sa.text("SELECT levenshtein(:a, :b)")
    for a, b in sample:
        assert db.session.scalar(query, {"a": a, "b": b}) == levenshtein(a, b), (a, b)
