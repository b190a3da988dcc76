"""The x86-64 `long double` (x87 80-bit extended) arithmetic behind INCRBYFLOAT.

Redis parses both operands with `strtold`, adds them in long double and stores the sum
printed with `%.17Lf` minus trailing zeros. Python has no long double, so values here are
exact `Fraction`s rounded the way the hardware rounds: a 64-bit significand, exponents
down to 2**-16382 (subnormals to 2**-16445), overflow at 2**16384, ties to even. Parsing
and printing are exact too (glibc's strtold and printf are correctly rounded), so replies
match Redis digit for digit, e.g. 0.1 + 0.2 -> "0.3", 1e20 -> "100000000000000000000".
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

MAX_CHARS = 5 * 1024            # Redis's MAX_LONG_DOUBLE_CHARS: longer input is invalid
_SIG_BITS = 64
_MIN_EXP = -16382               # exponent of the smallest normal value
_QUANTUM_MIN = _MIN_EXP - (_SIG_BITS - 1)   # exponent of the smallest subnormal: -16445
_OVERFLOW_BITS = 16384          # |value| >= 2**16384 is infinite
_CHUNK = 4000                   # stay below Python's int<->str digit limit (4300)

_DEC = re.compile(rb"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?)([0-9]+))?")
_HEX = re.compile(rb"([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))"
                  rb"(?:[pP]([+-]?)([0-9]+))?")
_INF = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
ZERO = Fraction(0)


def round_ld(value: Fraction) -> Fraction | None:
    """`value` rounded to the nearest long double (ties to even); None if it overflows."""
    num, den = value.numerator, value.denominator
    if num == 0:
        return value
    neg = num < 0
    if neg:
        num = -num
    exp = num.bit_length() - den.bit_length()       # 2**exp <= num/den < 2**(exp+2)
    if (num < den << exp) if exp >= 0 else (num << -exp < den):
        exp -= 1
    quantum = max(exp - (_SIG_BITS - 1), _QUANTUM_MIN)
    if quantum >= 0:
        mant, rem = divmod(num, den << quantum)
        twice, unit = rem << 1, den << quantum
    else:
        mant, rem = divmod(num << -quantum, den)
        twice, unit = rem << 1, den
    if twice > unit or (twice == unit and mant & 1):
        mant += 1
    if mant and mant.bit_length() + quantum > _OVERFLOW_BITS:
        return None
    result = Fraction(mant << quantum) if quantum >= 0 else Fraction(mant, 1 << -quantum)
    return -result if neg else result


def _digits_to_int(digits: bytes) -> int:
    if len(digits) <= _CHUNK:
        return int(digits)
    value = 0
    for i in range(0, len(digits), _CHUNK):
        part = digits[i:i + _CHUNK]
        value = value * 10 ** len(part) + int(part)
    return value


def _int_to_digits(value: int) -> bytes:
    if value < 10 ** _CHUNK:
        return b"%d" % value
    high, low = divmod(value, 10 ** _CHUNK)
    return _int_to_digits(high) + b"%0*d" % (_CHUNK, low)


def _exponent(sign: bytes, digits: bytes | None) -> int | None:
    """The exponent's value, or None when it is too long to matter (over/underflow)."""
    if not digits:
        return 0
    digits = digits.lstrip(b"0")
    if len(digits) > 9:
        return None
    value = int(digits) if digits else 0
    return -value if sign == b"-" else value


def parse(raw: bytes) -> Fraction | float | None:
    """Redis's string2ld: the long double `raw` spells, or None if it is not a valid float.

    Accepts what strtold accepts for the whole string (decimal, hex, inf/infinity, a sign),
    rejects leading/trailing space, nan, and results that overflow or underflow to zero.
    Infinity comes back as a float (math.inf / -math.inf).
    """
    if not raw or len(raw) >= MAX_CHARS:
        return None
    m = _DEC.fullmatch(raw)
    if m is not None:
        sign, ip, fp, only_fp, esign, edigits = m.groups()
        if only_fp is not None:
            ip, fp = b"", only_fp
        fp = fp or b""
        mant = (ip + fp).lstrip(b"0")
        if not mant:
            return Fraction(0)
        exp = _exponent(esign, edigits)
        if exp is None:
            return None                     # out of range either way (ERANGE)
        stripped = mant.rstrip(b"0")
        exp10 = exp - len(fp) + (len(mant) - len(stripped))
        order = len(stripped) + exp10       # 10**(order-1) <= |value| < 10**order
        if order - 1 >= 4933 or order < -4952:
            return None
        n = _digits_to_int(stripped)
        exact = Fraction(n * 10 ** exp10) if exp10 >= 0 else Fraction(n, 10 ** -exp10)
        neg = sign == b"-"
    else:
        m = _HEX.fullmatch(raw)
        if m is None:
            m = _INF.fullmatch(raw)
            if m is None:
                return None
            return -math.inf if m.group(1) == b"-" else math.inf
        sign, ip, fp, only_fp, esign, edigits = m.groups()
        if only_fp is not None:
            ip, fp = b"", only_fp
        fp = fp or b""
        n = int((ip + fp) or b"0", 16)
        if n == 0:
            return Fraction(0)
        exp = _exponent(esign, edigits)
        if exp is None:
            return None
        exp2 = exp - 4 * len(fp)
        top = n.bit_length() + exp2         # 2**(top-1) <= |value| < 2**top
        if top > _OVERFLOW_BITS + 1 or top < _QUANTUM_MIN - 2:
            return None
        exact = Fraction(n << exp2) if exp2 >= 0 else Fraction(n, 1 << -exp2)
        neg = sign == b"-"
    value = round_ld(exact)
    if value is None or value == 0:         # HUGE_VAL or underflow to zero: ERANGE
        return None
    return -value if neg else value


def add(a: Fraction | float, b: Fraction | float) -> Fraction | None:
    """a + b in long double; None if the sum is infinite or NaN."""
    if a.__class__ is float or b.__class__ is float:
        return None                         # an infinity was involved: inf or nan
    return round_ld(a + b)


def format_human(value: Fraction) -> bytes:
    """`%.17Lf` with trailing zeros (and a bare '.') removed; "-0" becomes "0"."""
    num = value.numerator * 10 ** 17
    den = value.denominator
    neg = num < 0
    if neg:
        num = -num
    scaled, rem = divmod(num, den)
    if (rem << 1) > den or ((rem << 1) == den and scaled & 1):
        scaled += 1
    if scaled == 0:
        return b"0"
    whole, frac = divmod(scaled, 10 ** 17)
    text = _int_to_digits(whole)
    if frac:
        text += b"." + (b"%017d" % frac).rstrip(b"0")
    return b"-" + text if neg else text
