"""Realistic synthetic people for the demo and the benchmarks.

The register (the population database extract) holds the truth; the
vaccination records carry the mix of errors letters 9438/BYT-CNTT and 2262/BYT-CNTT describe:
no ID number, a malformed one, a name, birth date or sex that differs from
the register, foreigners (never checked against it) and year-only birth dates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from faker.providers.person.vi_VN import Provider as VietnameseNames

from portal.core.text import fold, norm, sort_key

# Weighted like the real population (Nguyễn is about four names in ten).
LAST_NAMES = [
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 4),
    ("Phan", 4), ("Vũ", 4), ("Võ", 3), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2),
    ("Ngô", 2), ("Dương", 1), ("Lý", 1), ("Đinh", 1), ("Trịnh", 1), ("Mai", 1), ("Đào", 1),
]  # fmt: skip
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công", "Xuân", "Trọng", "Thế"]
MIDDLE_FEMALE = ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Hồng", "Kim"]
FIRST_MALE = sorted(
    set(VietnameseNames.first_names_male)
    | {"An", "Bình", "Cường", "Dũng", "Đạt", "Giang", "Hải", "Hiếu", "Hùng", "Khoa", "Long",
       "Mạnh", "Nghĩa", "Phúc", "Quân", "Sơn", "Thắng", "Toàn", "Trung", "Tuấn", "Việt", "Vinh"}
)  # fmt: skip
FIRST_FEMALE = sorted(
    set(VietnameseNames.first_names_female)
    | {"Anh", "Châu", "Diệp", "Dung", "Hà", "Hằng", "Hoa", "Huệ", "Hương", "Lan", "Linh",
       "Loan", "My", "Nga", "Ngân", "Nhung", "Oanh", "Phượng", "Quyên", "Thảo", "Trang", "Yến"}
)  # fmt: skip
FOREIGN = [
    ("KR", "Kim Min Jun"), ("CN", "Wang Wei"), ("US", "John Smith"), ("JP", "Sato Haruto"),
    ("FR", "Marie Dubois"), ("LA", "Souk Phommachanh"), ("KH", "Sok Dara"),
]  # fmt: skip
# Codes of the vaccine table (migration 0019): Vaxzevria, Comirnaty, Spikevax, Vero Cell,
# Sputnik V, Hayat-Vax, Abdala.
VACCINES = [
    "EU/1/21/1529", "EU/1/20/1528", "EU/1/20/1507", "BBIBP-CorV", "Sputnik-V",
    "Hayat-Vax", "Abdala",
]  # fmt: skip
STREETS = ["Phố", "Ngõ", "Đường", "Ngách", "Tổ"]
BIRTH_PROVINCES = ["001", "001", "001", "001", "030", "031", "034", "036", "038", "040", "079"]


@dataclass
class Mix:
    """Shares of the error kinds, as fractions of all persons."""

    missing_id: float = 0.05
    malformed_id: float = 0.03
    differs: float = 0.08
    foreign: float = 0.01
    year_only: float = 0.06
    not_in_register: float = 0.01


def cccd(rng: random.Random, sex: str, born: date, used: set[str]) -> str:
    """A 12-digit personal ID number consistent with sex and birth year."""
    century = (born.year // 100) - 19  # 1900s -> 0, 2000s -> 1, ...
    sex_digit = century * 2 + (1 if sex == "female" else 0)
    while True:
        number = (
            f"{rng.choice(BIRTH_PROVINCES)}{sex_digit}{born.year % 100:02d}"
            f"{rng.randrange(1_000_000):06d}"
        )
        if number not in used:
            used.add(number)
            return number


def vietnamese_name(rng: random.Random, sex: str) -> str:
    last = rng.choices([n for n, _ in LAST_NAMES], weights=[w for _, w in LAST_NAMES])[0]
    if sex == "male":
        return f"{last} {rng.choice(MIDDLE_MALE)} {rng.choice(FIRST_MALE)}"
    return f"{last} {rng.choice(MIDDLE_FEMALE)} {rng.choice(FIRST_FEMALE)}"


def _typo(rng: random.Random, name: str) -> str:
    """A plausible data-entry error: lost diacritics, a wrong letter, a swapped word."""
    kind = rng.randrange(3)
    if kind == 0:
        return fold(name).title()
    words = name.split(" ")
    if kind == 1:
        i = rng.randrange(len(words))
        word = words[i]
        if len(word) > 1:
            j = rng.randrange(1, len(word))
            words[i] = word[:j] + rng.choice("aeinthu") + word[j + 1 :]
        return " ".join(words)
    return " ".join([words[0], *reversed(words[1:])]) if len(words) > 2 else name + "h"


@dataclass
class Generated:
    persons: list[dict]
    doses: list[dict]
    register: list[dict]


def generate(
    rng: random.Random,
    count: int,
    commune_id: int,
    province_id: int,
    site_ids: list[int],
    used_ids: set[str],
    mix: Mix | None = None,
    first_person_id: int | None = None,
    address_suffix: str = "",
) -> Generated:
    """Rows ready for a bulk insert. With ``first_person_id`` the doses carry person ids."""
    mix = mix or Mix()
    persons: list[dict] = []
    doses: list[dict] = []
    register: list[dict] = []
    for n in range(count):
        sex = rng.choice(("male", "female"))
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 72))
        true_name = vietnamese_name(rng, sex)
        nationality = "VN"
        record: dict[str, Any] = {
            "full_name": true_name,
            "sex": sex,
            "birth_date": born,
            "birth_precision": "day",
            "id_number": None,
            "id_kind": "none",
            "nationality": nationality,
            "phone": f"0{rng.choice('39875')}{rng.randrange(10**8):08d}",
            "commune_id": commune_id,
            "province_id": province_id,
            "address": f"{rng.randrange(1, 300)} {rng.choice(STREETS)} {rng.randrange(1, 60)}"
            + address_suffix,
            "status": "unverified",
            "version": 1,
        }
        roll = rng.random()
        if roll < mix.foreign:
            nationality, foreign_name = rng.choice(FOREIGN)
            record.update(
                full_name=foreign_name,
                nationality=nationality,
                id_number=f"{nationality}{rng.randrange(10**7):07d}",
                id_kind="passport",
            )
        else:
            number = cccd(rng, sex, born, used_ids)
            truth = {
                "id_number": number,
                "full_name": true_name,
                "name_norm": norm(true_name),
                "name_folded": fold(true_name),
                "sex": sex,
                "birth_date": born,
                "birth_precision": "day",
            }
            roll -= mix.foreign
            if roll < mix.missing_id:
                pass  # the person is in the register, the record lost the number
            elif roll < mix.missing_id + mix.malformed_id:
                broken = rng.choice(
                    [
                        number[:-1],
                        number + "7",
                        number[:5] + "O" + number[6:],
                        "999" + number[3:],
                        number[:9] + "-" + number[9:],
                    ]
                )
                record.update(id_number=broken, id_kind="cccd")
            else:
                record.update(id_number=number, id_kind="cccd")
                roll -= mix.missing_id + mix.malformed_id
                if roll < mix.differs:
                    what = rng.randrange(4)
                    if what == 0:
                        record["full_name"] = _typo(rng, true_name)
                    elif what == 1 and born.day <= 12 and born.day != born.month:
                        record["birth_date"] = born.replace(day=born.month, month=born.day)
                    elif what == 2:
                        year = born.year + rng.choice((-1, 1))
                        # 29 February has no twin in a common year: the 28th stands in.
                        twin = 28 if born.month == 2 and born.day == 29 else born.day
                        record["birth_date"] = born.replace(day=twin, year=year)
                    else:
                        record["sex"] = "female" if sex == "male" else "male"
                elif roll < mix.differs + mix.not_in_register:
                    truth = {}
            if rng.random() < mix.year_only:
                record["birth_date"] = date(record["birth_date"].year, 1, 1)
                record["birth_precision"] = "year"
            if truth:
                register.append(truth)
        record["name_norm"] = norm(record["full_name"])
        record["name_folded"] = fold(record["full_name"])
        record["name_sort"] = sort_key(record["full_name"])
        if first_person_id is not None:
            record["id"] = first_person_id + n
        persons.append(record)
        day = date(2021, 7, 1) + timedelta(days=rng.randrange(120))
        home_site = site_ids[0] if site_ids else None
        for dose_number in range(1, rng.choice((1, 2, 2, 2, 3, 3)) + 1):
            doses.append(
                {
                    "person_index": n,
                    "dose_number": dose_number,
                    "vaccine": rng.choice(VACCINES),
                    "lot": f"{rng.choice('ABCDEFK')}{rng.randrange(1000, 9999)}",
                    "vaccinated_on": day,
                    "site_id": home_site
                    if rng.random() < 0.7 or not site_ids
                    else rng.choice(site_ids),
                }
            )
            day += timedelta(days=rng.randrange(28, 120))
    return Generated(persons, doses, register)
