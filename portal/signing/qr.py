"""QR codes for the verification links, made for a batch: byte mode, error level M, mask 2.

segno makes the same symbols (tests compare them module by module), but it builds each
symbol's matrix from scratch in Python, which costs about 1 ms, a quarter of a whole
certificate. Here what depends only on the version (function patterns, format and version
information, the order of the data modules with their mask bits) is computed once, so a
symbol costs its Reed-Solomon codewords and one pass over the data modules. Versions 1-10
(up to 213 bytes) are covered; a longer text goes to segno.

After ISO/IEC 18004:2015 and Project Nayuki's QR code generator (MIT).
"""

from __future__ import annotations

import functools

# Error level M, versions 1-10: error correction codewords per block, and blocks.
ECC_PER_BLOCK = (0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26)
BLOCKS = (0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5)
MAX_VERSION = 10
MASK = 2  # dark modules inverted where the column is a multiple of 3
FORMAT_M = 0b00  # the error level's two format bits

EXP = [0] * 512  # GF(256) over x^8 + x^4 + x^3 + x^2 + 1, doubled to skip a modulo
LOG = [0] * 256
_value = 1
for _power in range(255):
    EXP[_power] = EXP[_power + 255] = _value
    LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D


def _raw_modules(version: int) -> int:
    """Modules left for codewords once the function patterns are drawn."""
    result = (16 * version + 128) * version + 64
    if version >= 2:
        aligns = version // 7 + 2
        result -= (25 * aligns - 10) * aligns - 55
        if version >= 7:
            result -= 36
    return result


def data_codewords(version: int) -> int:
    return _raw_modules(version) // 8 - ECC_PER_BLOCK[version] * BLOCKS[version]


@functools.cache
def _generator_logs(degree: int) -> tuple[int, ...]:
    """Logarithms of the Reed-Solomon generator's coefficients (highest power omitted)."""
    coefficients = [1]
    for power in range(degree):
        nxt = [0] * (len(coefficients) + 1)
        for index, coefficient in enumerate(coefficients):
            nxt[index] ^= coefficient
            if coefficient:
                nxt[index + 1] ^= EXP[LOG[coefficient] + power]
        coefficients = nxt
    return tuple(LOG[c] for c in coefficients[1:])


def _ecc(data: list[int], degree: int) -> list[int]:
    logs = _generator_logs(degree)
    remainder = [0] * degree
    for byte in data:
        factor = byte ^ remainder[0]
        remainder = remainder[1:] + [0]
        if factor:
            shift = LOG[factor]
            remainder = [r ^ EXP[shift + g] for r, g in zip(remainder, logs, strict=True)]
    return remainder


@functools.cache
def _layout(version: int) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, int], ...],
                                   tuple[int, ...]]:
    """The symbol with its function patterns, format (and version) information; the data
    modules (row, column) in placement order; and each one's mask bit."""
    size = 4 * version + 17
    grid = [[0] * size for _ in range(size)]
    function = [[False] * size for _ in range(size)]

    def put(row: int, col: int, dark: bool) -> None:
        grid[row][col] = int(dark)
        function[row][col] = True

    for index in range(size):  # timing patterns
        put(6, index, index % 2 == 0)
        put(index, 6, index % 2 == 0)
    for row0, col0 in ((3, 3), (3, size - 4), (size - 4, 3)):  # finders and separators
        for dr in range(-4, 5):
            for dc in range(-4, 5):
                row, col = row0 + dr, col0 + dc
                if 0 <= row < size and 0 <= col < size:
                    put(row, col, max(abs(dr), abs(dc)) not in (2, 4))
    if version >= 2:
        aligns = version // 7 + 2
        step = (version * 4 + aligns * 2 + 1) // (aligns * 2 - 2) * 2
        positions = [6] + [size - 7 - step * i for i in reversed(range(aligns - 1))]
        for row0 in positions:
            for col0 in positions:
                if (row0, col0) in ((6, 6), (6, size - 7), (size - 7, 6)):
                    continue
                for dr in range(-2, 3):
                    for dc in range(-2, 3):
                        put(row0 + dr, col0 + dc, max(abs(dr), abs(dc)) != 1)
    data = FORMAT_M << 3 | MASK
    remainder = data
    for _ in range(10):
        remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
    bits = (data << 10 | remainder) ^ 0x5412
    for i in range(6):
        put(i, 8, bool(bits >> i & 1))
    put(7, 8, bool(bits >> 6 & 1))
    put(8, 8, bool(bits >> 7 & 1))
    put(8, 7, bool(bits >> 8 & 1))
    for i in range(9, 15):
        put(8, 14 - i, bool(bits >> i & 1))
    for i in range(8):
        put(8, size - 1 - i, bool(bits >> i & 1))
    for i in range(8, 15):
        put(size - 15 + i, 8, bool(bits >> i & 1))
    put(size - 8, 8, True)  # the dark module
    if version >= 7:
        remainder = version
        for _ in range(12):
            remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25)
        bits = version << 12 | remainder
        for i in range(18):
            a, b = size - 11 + i % 3, i // 3
            put(b, a, bool(bits >> i & 1))
            put(a, b, bool(bits >> i & 1))
    order = []
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        upward = ((right + 1) & 2) == 0
        for vertical in range(size):
            row = size - 1 - vertical if upward else vertical
            for col in (right, right - 1):
                if not function[row][col]:
                    order.append((row, col))
    # Modules past the last codeword (remainder bits) are light before masking.
    for row, col in order:
        grid[row][col] = int(col % 3 == 0)
    masks = tuple(int(col % 3 == 0) for _, col in order)
    return tuple(tuple(line) for line in grid), tuple(order), masks


def _codewords(data: bytes, version: int) -> list[int]:
    capacity = data_codewords(version)
    count_bits = 8 if version <= 9 else 16
    bits = (0b0100 << count_bits | len(data)) << 8 * len(data) | int.from_bytes(data, "big")
    length = 4 + count_bits + 8 * len(data)
    terminator = min(4, capacity * 8 - length)
    bits <<= terminator
    length += terminator
    # As segno does (and so as the certificates made before): a whole zero codeword when the
    # bits already end on a codeword boundary, where the standard adds none. Decoders stop
    # at the terminator either way.
    padding = 8 - length % 8
    bits <<= padding
    length += padding
    words = list(bits.to_bytes(length // 8, "big"))
    words += [(0xEC, 0x11)[i % 2] for i in range(capacity - len(words))]
    blocks, degree = BLOCKS[version], ECC_PER_BLOCK[version]
    total = _raw_modules(version) // 8
    short_count = blocks - total % blocks
    short_data = total // blocks - degree
    data_blocks, ecc_blocks, start = [], [], 0
    for index in range(blocks):
        end = start + short_data + (index >= short_count)
        data_blocks.append(words[start:end])
        ecc_blocks.append(_ecc(words[start:end], degree))
        start = end
    result = []
    for index in range(short_data + 1):
        result += [block[index] for block in data_blocks if index < len(block)]
    for index in range(degree):
        result += [block[index] for block in ecc_blocks]
    return result


def _segno_matrix(text: str) -> tuple[bytearray, ...]:
    import segno

    return tuple(segno.make_qr(text, error="m", mask=MASK, boost_error=False).matrix)


def qr_matrix(text: str) -> tuple[bytearray, ...]:
    """The modules (1 dark) of the QR code of ``text``, row by row from the top, as segno
    gives them."""
    data = text.encode("utf-8")
    for version in range(1, MAX_VERSION + 1):
        capacity = data_codewords(version) * 8
        length = 4 + (8 if version <= 9 else 16) + 8 * len(data)
        if length <= capacity:
            break
    else:
        return _segno_matrix(text)  # longer than version 10 holds
    length += min(4, capacity - length)
    if length + 8 - length % 8 > capacity:
        return _segno_matrix(text)  # full to the last codeword, where segno's rules differ
    template, order, masks = _layout(version)
    grid = [list(line) for line in template]
    bits = "".join(f"{word:08b}" for word in _codewords(data, version))
    for (row, col), bit, mask in zip(order, bits, masks, strict=False):  # remainder bits: masks
        grid[row][col] = (bit == "1") ^ mask
    return tuple(bytearray(line) for line in grid)
