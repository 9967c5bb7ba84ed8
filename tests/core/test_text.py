from portal.core.text import fold, sort_key


def test_fold_removes_tones_modifiers_case_and_extra_spaces():
    assert fold("  Nguyễn   Văn  Ánh ") == "nguyen van anh"
    assert fold("ĐỖ Đức") == "do duc"
    assert fold("Trương Thị Ửng") == "truong thi ung"
    assert fold(None) == ""


def test_sort_key_follows_the_vietnamese_alphabet_given_name_first():
    names = ["Lê Văn Đạt", "Trần Thị Ân", "Phạm Ăn", "Vũ Dũng", "Hồ An", "Lý Bình", "Mai Anh"]
    assert sorted(names, key=sort_key) == [
        "Hồ An",
        "Mai Anh",
        "Phạm Ăn",
        "Trần Thị Ân",
        "Lý Bình",
        "Vũ Dũng",
        "Lê Văn Đạt",
    ]


def test_same_letters_sort_by_family_name_then_tone():
    assert sorted(["Lê Lệ", "Lê Lê", "Bùi Lê"], key=sort_key) == ["Bùi Lê", "Lê Lê", "Lê Lệ"]


def test_sort_key_is_plain_ascii_so_both_databases_order_it_alike():
    assert sort_key("Nguyễn Thị Ánh Tuyết").isascii()


def test_sort_key_is_the_same_whatever_was_keyed_before():
    # Each word's key is worked out once and kept: the keys of whole names must not change.
    expected = {
        "Nguyễn Thị Ánh Tuyết": "ZafIZ RKafIR ZLM ARL 00003000540000040",
        "Lê Lệ": "PI PI 0005",
        "Đặng 2 An": "AR GBRK 2 0500000",
    }
    for _ in range(2):
        assert {name: sort_key(name) for name in expected} == expected
        assert sort_key("Lệ Lê") == "PI PI 0500"


def test_collation_key_orders_names_in_the_vietnamese_alphabet():
    from portal.core.text import collation_key

    names = [
        "Phường Giảng Võ",
        "Phường Ô Chợ Dừa",
        "Phường Đống Đa",
        "Phường Dịch Vọng",
        "Phường Ba Đình",
        "Phường Ơ Môn",
        "Phường Ngọc Hà",
        "Phường Âu Cơ",
        "Phường An",
    ]
    assert sorted(names, key=collation_key) == [
        "Phường An",
        "Phường Âu Cơ",
        "Phường Ba Đình",
        "Phường Dịch Vọng",
        "Phường Đống Đa",
        "Phường Giảng Võ",
        "Phường Ngọc Hà",
        "Phường Ô Chợ Dừa",
        "Phường Ơ Môn",
    ]
    # Tones break ties only after the letters.
    assert sorted(["Xã Hà", "Xã Ha", "Xã Hạ"], key=collation_key) == ["Xã Ha", "Xã Hà", "Xã Hạ"]
