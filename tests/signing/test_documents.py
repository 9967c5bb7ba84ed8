"""What makes a certificate cheap to generate must not change what it shows: the QR code
drawn reads as segno's, the fonts' subsets made once give reportlab's own bytes, and
certificates for different persons share their subsets."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from datetime import date
from io import BytesIO
from types import SimpleNamespace

import pytest
import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from portal.auth.models import Role
from portal.core.pdf import FONT_DIR, SubsetCachingTTFont
from portal.extensions import db
from portal.signing import documents
from tests.conftest import OWN

URL = "http://127.0.0.1:5000/verify/"


def test_qr_matrix_is_segnos_for_every_length():
    """The certificate's symbol is segno's at error level M with mask 2 (a hand-written
    encoder until issue 16, compared here with segno's module by module), for every length."""
    for length in range(0, 240):
        text = URL + "".join("aZ9_-/"[(i * 7 + length) % 6] for i in range(length))
        expected = segno.make_qr(text, error="m", mask=2, boost_error=False).matrix
        assert documents.qr_matrix(text) == expected, length


def test_qr_matrix_of_non_ascii_text():
    text = URL + "Trần Văn Đức"
    expected = segno.make_qr(text, error="m", mask=2, boost_error=False).matrix
    assert documents.qr_matrix(text) == expected


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_qr_drawn_as_its_matrix():
    """Rendered, the centre of each module is dark exactly where the matrix says so."""
    from PIL import Image

    code = documents.QrCode(URL + "Abcdefghijklmnopqrstuvwx", size=66 * mm)
    buffer = BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    code.canv = page
    page.translate(72, 72)
    code.draw()
    page.showPage()
    page.save()
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", "72", "-"],
        input=buffer.getvalue(),
        capture_output=True,
        check=True,
    ).stdout
    image = Image.open(BytesIO(png)).convert("L")
    count = len(code.matrix)
    module = code.width / count  # points, and pixels at 72 dpi
    top = image.height - 72 - code.height
    for row, line in enumerate(code.matrix):
        for col, dark in enumerate(line):
            pixel = image.getpixel(
                (int(72 + (col + 0.5) * module), int(top + (row + 0.5) * module))
            )
            assert (pixel < 128) == bool(dark), (row, col)


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("zbarimg") is None,
    reason="poppler-utils or zbar-tools not installed",
)
@pytest.mark.parametrize(
    "text",
    [
        URL + "Abcdefghijklmnopqrstuvwx",
        URL + "Trần Văn Đức",
        "https://tiemchung.example.vn/verify/" + "Zz9" * 8,
        URL + "x" * 300,  # past version 10
    ],
)
def test_qr_decodes_to_its_text(text):
    """Issue 16: the certificate's QR code, drawn at its size and rendered at 150 dpi, reads
    back as its text with a decoder we did not write (zbar)."""
    code = documents.QrCode(text)
    buffer = BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    code.canv = page
    page.translate(72, 72)
    code.draw()
    page.showPage()
    page.save()
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-"],
        input=buffer.getvalue(),
        capture_output=True,
        check=True,
    ).stdout
    # -Sbinary: the bytes as encoded (zbar would otherwise guess a Japanese charset).
    read = subprocess.run(
        ["zbarimg", "--raw", "--quiet", "--nodbus", "-Sbinary", "-"],
        input=png,
        capture_output=True,
        check=True,
    ).stdout
    assert read.decode("utf-8") == text


def test_subset_caching_font_writes_reportlabs_bytes(monkeypatch):
    # registerFont would make a second font of the same face an alias of the first one
    fonts = {"TestStockSerif": TTFont, "TestCachedSerif": SubsetCachingTTFont}
    for name, kind in fonts.items():
        monkeypatch.setitem(
            pdfmetrics._fonts, name, kind(name, str(FONT_DIR / "NotoSerif-Regular.ttf"))
        )
    assert type(pdfmetrics.getFont("TestStockSerif")) is TTFont

    def page(font: str) -> bytes:
        buffer = BytesIO()
        sheet = canvas.Canvas(buffer, pagesize=A4, invariant=1, initialFontName=font)
        sheet.setFont(font, 12)
        sheet.drawString(100, 700, "Chứng nhận tiêm chủng – Nguyễn Thị Hương")
        sheet.showPage()
        sheet.save()
        return buffer.getvalue()

    stock = page("TestStockSerif")
    assert page("TestCachedSerif") == stock
    assert page("TestCachedSerif") == stock  # the second time from the cache


def _certificate(name: str, code: str) -> bytes:
    province = SimpleNamespace(name="Tỉnh Cao Bằng", division_type="tỉnh")
    commune = SimpleNamespace(name="Xã Đức Long", division_type="Xã", province=province)
    heading = documents.commune_heading(commune, "Số: 7/CN-UBND", date(2026, 1, 5))
    person = {
        "full_name": name,
        "sex": "male",
        "birth_date": "1985-11-20",
        "birth_precision": "day",
        "id_number": "004085000123",
    }
    doses = [
        {
            "dose_number": 1,
            "vaccinated_on_text": "01/08/2021",
            "vaccine": "Vero Cell",
            "lot": "V1",
            "site": "Trạm Y tế Xã Đức Long",
        }
    ]
    return documents.certificate(
        heading,
        person,
        doses,
        URL + code,
        code,
        "Nông Thị Ảnh",
        ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
    ).content


def _font_programs(content: bytes) -> list[bytes]:
    numbers = re.findall(rb"/FontFile2 (\d+) 0 R", content)
    programs = []
    for number in numbers:
        match = re.search(rb"\n" + number + rb" 0 obj\n<<(.*?)>>\nstream\n", content, re.S)
        assert match is not None
        length = int(re.search(rb"/Length (\d+)", match.group(1)).group(1))
        programs.append(zlib.decompress(content[match.end() : match.end() + length]))
    return programs


def test_certificates_for_different_persons_share_font_subsets():
    first = _certificate("Hoàng Văn Thụ", "Code0001")
    second = _certificate("Lý Thị Ngọc Yến", "Code0002")
    programs = _font_programs(first)
    assert len(programs) == 2  # regular and bold
    assert _font_programs(second) == programs
    if shutil.which("pdftotext"):
        for content, name in ((first, "Hoàng Văn Thụ"), (second, "Lý Thị Ngọc Yến")):
            text = subprocess.run(
                ["pdftotext", "-enc", "UTF-8", "-", "-"],
                input=content,
                capture_output=True,
                check=True,
            ).stdout.decode()
            assert name in text and "Nông Thị Ảnh" in text
            assert "UBND TỈNH CAO BẰNG" in text and "Trạm Y tế Xã Đức Long" in text


def test_a_letter_outside_the_alphabet_still_shows():
    content = _certificate("Nguyễn Văn Ñam Œ", "Code0003")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
        ).stdout.decode()
        assert "Nguyễn Văn Ñam Œ" in text


def _text(content: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_preview_is_marked_and_the_signed_list_is_not(
    client, login_as, give_certificate, awaiting, tmp_path
):
    """Issue 13 (smaller ones): the preview PDF says "BẢN XEM TRƯỚC" on every page; the
    signed document never does (and passes pdfsig)."""
    from portal.signing import services
    from tests.signing.conftest import PIN

    user = login_as(Role.COMMITTEE, OWN, display_name="Trần Văn Đức")
    give_certificate(user)
    preview = client.get("/signing/preview.pdf")
    assert "BẢN XEM TRƯỚC" in _text(preview.data, tmp_path)
    document = services.sign_committee_list(user, PIN)
    db.session.commit()
    signed = services.stored_content(document)
    assert "BẢN XEM TRƯỚC" not in _text(signed, tmp_path)
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert "Signature is Valid" in pdfsig.stdout, pdfsig.stdout


def test_passport_list_wraps_between_words(app, make_site, tmp_path):
    """Issue 13 (smaller ones): the daily passport list's cells wrapped mid-word ("Mũ/i");
    lines now break between words only."""
    site = make_site(OWN)
    persons = [
        {
            "full_name": "Nguyễn Thị Thanh Hương",
            "sex": "female",
            "birth_date": "1990-02-03",
            "birth_precision": "day",
            "id_number": "001190000001",
            "dose_number": 3,
            "vaccine": "Pfizer-BioNTech (Comirnaty)",
            "lot": "FA1234",
        }
    ]
    built = documents.site_daily_list(
        site, date(2021, 9, 1), persons, "Lê Thị Mai", "Thủ trưởng", "Số: 1/DS-CSTC"
    )
    words = _text(built.content, tmp_path).split()
    for word in ("Mũi", "tính", "Pfizer-BioNTech", "(Comirnaty)", "001190000001"):
        assert word in words, words
