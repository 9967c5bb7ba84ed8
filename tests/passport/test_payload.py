"""The payload: ICAO 9303 names, partial birth dates, the vaccination entry, the UVCI;
every payload validated against the published schema."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from portal.passport import icao, payload, uvci, valuesets
from portal.passport.payload import Dose, Holder, NotIssuable, Product, Reason

ISSUER = "Cục Y tế dự phòng - Bộ Y tế"
PRODUCTS = {
    "EU/1/21/1529": Product("EU/1/21/1529", "29061000087103", "ORG-100001699"),
    "EU/1/20/1528": Product("EU/1/20/1528", "1119349007", "ORG-100030215"),
    "EU/1/20/1525": Product("EU/1/20/1525", "29061000087103", "ORG-100001417"),
    "BBIBP-CorV": Product("BBIBP-CorV", "1157024006", "ORG-100020693"),
}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Nguyễn Thị Ngọc Ánh", "NGUYEN<THI<NGOC<ANH"),
        ("Đặng Văn Hưởng", "DANG<VAN<HUONG"),
        ("Bế Thị Lường", "BE<THI<LUONG"),
        ("Trương Ưu Đàm", "TRUONG<UU<DAM"),
        ("Lê Quý Đôn", "LE<QUY<DON"),
        ("Hồ Xuân Hương", "HO<XUAN<HUONG"),
        ("Võ Nguyên Giáp", "VO<NGUYEN<GIAP"),
        ("Ngô Bảo Châu", "NGO<BAO<CHAU"),
        ("Tôn Nữ Thị Ninh", "TON<NU<THI<NINH"),
        ("Âu Dương Lân", "AU<DUONG<LAN"),
        ("Ông Ích Khiêm", "ONG<ICH<KHIEM"),
        ("Lý  Thường   Kiệt ", "LY<THUONG<KIET"),  # runs of spaces: one filler
        ("Müller-Lüdenscheidt", "MUELLER<LUEDENSCHEIDT"),  # Doc 9303's Ü → UE
        ("Ørsted", "OERSTED"),
        ("O'Brien", "OBRIEN"),
    ],
)
def test_icao_9303_transliteration(name, expected):
    assert icao.transliterate(name) == expected


def test_every_vietnamese_letter_transliterates_to_its_base_letter():
    """The whole Vietnamese alphabet with its tones: each letter gives one letter A-Z."""
    bases = {
        "A": "aàáảãạăằắẳẵặâầấẩẫậ",
        "E": "eèéẻẽẹêềếểễệ",
        "I": "iìíỉĩị",
        "O": "oòóỏõọôồốổỗộơờớởỡợ",
        "U": "uùúủũụưừứửữự",
        "Y": "yỳýỷỹỵ",
        "D": "dđ",
    }
    for base, letters in bases.items():
        for letter in letters + letters.upper():
            assert icao.transliterate(letter) == base, letter


@pytest.mark.parametrize("name", ["王小明", "Nguyễn Văn 2", "Иван Петров"])
def test_characters_outside_the_table_are_refused(name):
    with pytest.raises(icao.NotTransliterable):
        icao.transliterate(name)


def test_uvci_check_character_as_the_reference_implementation_computes_it():
    # eu-dcc-schema/examples/Luhn-Mod-N/luhn_mod_n.py run on these gives Z and H (its
    # docstring's "S" for the second predates a change of the character set).
    assert uvci.check_character("URN:UVCI:01:NL:187/37512422923") == "Z"
    assert uvci.check_character("URN:UVCI:01:NL:MY/INPUT/STRING") == "H"
    assert uvci.is_valid("URN:UVCI:01:NL:187/37512422923#Z")
    assert not uvci.is_valid("URN:UVCI:01:NL:187/37512422923#Y")
    assert not uvci.is_valid("URN:UVCI:01:NL:187/37512422932#Z")  # two digits swapped


def test_new_uvcis_are_valid_and_distinct():
    made = {uvci.new() for _ in range(200)}
    assert len(made) == 200
    for one in made:
        assert one.startswith("URN:UVCI:01:VN:YTDP/")
        assert uvci.is_valid(one), one
        assert len(one) <= 80


def _two_doses(product="EU/1/21/1529"):
    return [Dose(1, product, date(2021, 8, 2)), Dose(2, product, date(2021, 10, 25))]


def test_payload_of_a_vietnamese_citizen():
    holder = Holder("Phạm Thị Ngọc Ánh", date(1944, 5, 17), "day", "VN")
    ci = uvci.new()
    built = payload.build(holder, _two_doses(), PRODUCTS, ISSUER, ci)
    assert built == {
        "ver": "1.3.0",
        "nam": {"fn": "Phạm", "fnt": "PHAM", "gn": "Thị Ngọc Ánh", "gnt": "THI<NGOC<ANH"},
        "dob": "1944-05-17",
        "v": [
            {
                "tg": "840539006",
                "vp": "29061000087103",
                "mp": "EU/1/21/1529",
                "ma": "ORG-100001699",
                "dn": 2,
                "sd": 2,
                "dt": "2021-10-25",
                "co": "VN",
                "is": ISSUER,
                "ci": ci,
            }
        ],
    }
    assert valuesets.schema_errors(built) == []


@pytest.mark.parametrize(
    "precision, expected", [("year", "1944"), ("month", "1944-05"), ("day", "1944-05-01")]
)
def test_partial_birth_dates(precision, expected):
    holder = Holder("Bế Thị Lường", date(1944, 5, 1), precision, "VN")
    built = payload.build(holder, _two_doses(), PRODUCTS, ISSUER, uvci.new())
    assert built["dob"] == expected
    assert valuesets.schema_errors(built) == []


def test_a_foreigner_family_name_last():
    holder = Holder("Marie Dubois", date(1990, 1, 2), "day", "FR")
    built = payload.build(holder, _two_doses("EU/1/20/1528"), PRODUCTS, ISSUER, uvci.new())
    assert built["nam"] == {"fn": "Dubois", "fnt": "DUBOIS", "gn": "Marie", "gnt": "MARIE"}


@pytest.mark.parametrize(
    "doses, dn, sd",
    [
        ([Dose(1, "EU/1/20/1525", date(2021, 9, 1))], 1, 1),
        (
            [Dose(1, "EU/1/20/1525", date(2021, 9, 1)), Dose(2, "EU/1/20/1528", date(2022, 1, 5))],
            2,
            1,
        ),  # a booster after a one-dose series: 2/1
        (_two_doses() + [Dose(3, "EU/1/20/1528", date(2022, 1, 5))], 3, 3),
    ],
)
def test_dose_numbers_as_the_guidelines_write_boosters(doses, dn, sd):
    holder = Holder("Lê Văn Tám", date(1950, 1, 1), "year", "VN")
    entry = payload.build(holder, doses, PRODUCTS, ISSUER, uvci.new())["v"][0]
    assert (entry["dn"], entry["sd"]) == (dn, sd)
    assert entry["mp"] == doses[-1].product_code
    assert entry["dt"] == doses[-1].vaccinated_on.isoformat()


@pytest.mark.parametrize(
    "holder, doses, reason",
    [
        (Holder("Lê Văn Tám", date(1950, 1, 1), "day", "VN"), [], Reason.NO_DOSE),
        (
            Holder("Lê Văn Tám", date(1950, 1, 1), "day", "VN"),
            [Dose(1, "BBIBP-CorV", date(2021, 9, 1))],
            Reason.INCOMPLETE,
        ),
        (
            Holder("Lê Văn Tám", date(1950, 1, 1), "day", "VN"),
            [Dose(1, "Nanocovax", date(2021, 9, 1)), Dose(2, "Nanocovax", date(2021, 10, 1))],
            Reason.UNKNOWN_PRODUCT,
        ),
        (Holder("王小明", date(1950, 1, 1), "day", "CN"), _two_doses(), Reason.NAME_NOT_LATIN),
        (Holder("Lê Văn Tám", date(1899, 1, 1), "day", "VN"), _two_doses(), Reason.BIRTH_DATE),
    ],
)
def test_not_issuable_with_a_reason(holder, doses, reason):
    with pytest.raises(NotIssuable) as raised:
        payload.build(holder, doses, PRODUCTS, ISSUER, uvci.new())
    assert raised.value.reason == reason


def test_the_schema_refuses_what_it_should():
    """The schema check is live: payloads the published schema refuses are refused."""
    holder = Holder("Lê Văn Tám", date(1950, 1, 1), "day", "VN")
    good = payload.build(holder, _two_doses(), PRODUCTS, ISSUER, uvci.new())
    for path, value in [
        (("nam", "fnt"), "LE VAN"),  # a space: not [A-Z<]
        (("dob",), "1950-1-1"),
        (("v", 0, "dn"), 0),
        (("v", 0, "co"), "vn"),
        (("ver",), "1.3"),
    ]:
        bad = copy.deepcopy(good)
        target = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert valuesets.schema_errors(bad), path
    too_long = copy.deepcopy(good)
    too_long["v"][0]["ci"] = "URN:UVCI:01:VN:" + "A" * 80
    assert valuesets.schema_errors(too_long)
