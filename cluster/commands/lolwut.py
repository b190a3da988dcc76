"""LOLWUT [VERSION <v>] [...]: Redis 7.0.15's lolwut.c, lolwut5.c and lolwut6.c.

Which art (lolwutCommand): the version is REDIS_VERSION ("7.0.15") or, with VERSION <v>,
"<(unsigned int)v>.0.0"; "5.x" draws Schotter (lolwut5), "6.x" the skyline (lolwut6),
anything else (7.0.15 itself: the default) is the "unstable" one-liner "Redis ver. 7.0.15".
The reply is a verbatim string (txt).

The art is Redis's pixel for pixel: the same canvas, the same Bresenham lines and braille
/ ANSI rendering, C's float (binary32) arithmetic where lolwut5 uses floats (`_f32`), and
glibc's rand() (the TYPE_3 additive feedback generator, `GlibcRand`), which Redis seeds
per process with time^pid^usec. Here each LOLWUT seeds a fresh generator from the node's
random source, so the random parts differ from run to run as Redis's differ from process
to process, and a given seed draws exactly what Redis draws after srand(seed).
"""
from __future__ import annotations

import math
import struct

from cluster import REDIS_VERSION
from cluster.commands.args import NOT_INT, string2ll
from cluster.execution.table import command
from cluster.resp.reply import ReplyError, Verbatim

_pack_f = struct.Struct("f")


def _f32(value: float) -> float:
    """Round a double to C's float (binary32), as a float variable holds it."""
    return _pack_f.unpack(_pack_f.pack(value))[0]


class GlibcRand:
    """glibc's rand()/srand(): random_r.c's TYPE_3 generator (degree 31, separation 3)."""

    RAND_MAX = 2147483647

    def __init__(self, seed: int):
        seed &= 0xFFFFFFFF
        if seed == 0:
            seed = 1
        word = seed - (1 << 32) if seed >= 1 << 31 else seed     # int32_t word = seed
        state = [word]
        for _ in range(1, 31):
            hi = int(word / 127773)          # C division truncates toward zero
            lo = word - hi * 127773
            word = 16807 * lo - 2836 * hi
            if word < 0:
                word += 2147483647
            state.append(word)
        self._r = [v & 0xFFFFFFFF for v in state]
        self._f = 3                          # fptr = &state[SEP_3]
        self._b = 0                          # rptr = &state[0]
        for _ in range(310):                 # kc * 10 outputs discarded
            self.rand()

    def rand(self) -> int:
        r = self._r
        f, b = self._f, self._b
        val = (r[f] + r[b]) & 0xFFFFFFFF
        r[f] = val
        self._f = 0 if f == 30 else f + 1
        self._b = 0 if b == 30 else b + 1
        return val >> 1


# -- the canvas (lolwut.c) -----------------------------------------------------------------
class Canvas:
    def __init__(self, width: int, height: int, bgcolor: int):
        self.width = width
        self.height = height
        self.pixels = bytearray([bgcolor]) * (width * height)

    def draw_pixel(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get_pixel(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def draw_line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        """lwDrawLine: Bresenham."""
        dx = abs(x2 - x1)
        dy = abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.draw_pixel(x1, y1, color)
            if x1 == x2 and y1 == y2:
                break
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def draw_square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        """lwDrawSquare: the four corners on a circle, the first at 45 degrees + angle."""
        size = _f32(size / 1.4142135623)
        size = _f32(_c_round(size))
        k = _f32(math.pi / 4 + angle)
        px, py = [], []
        for _ in range(4):
            px.append(int(_c_round(math.sin(k) * size + x)))
            py.append(int(_c_round(math.cos(k) * size + y)))
            k = _f32(k + math.pi / 2)
        for j in range(4):
            self.draw_line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color)


def _c_round(value: float) -> float:
    """C's round(): halves away from zero."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _trunc(value: float) -> int:
    """A float converted to int in C: toward zero."""
    return int(value)


# -- LOLWUT 5: Schotter (lolwut5.c) --------------------------------------------------------
def draw_schotter(rng: GlibcRand, console_cols: int, squares_per_row: int,
                  squares_per_col: int) -> Canvas:
    canvas_width = console_cols * 2
    padding = 2 if canvas_width > 4 else 0
    square_side = _f32(_f32(canvas_width - padding * 2) / _f32(squares_per_row))
    canvas_height = _trunc(_f32(_f32(square_side * squares_per_col) + padding * 2))
    canvas = Canvas(canvas_width, canvas_height, 0)
    half = _f32(square_side / 2)
    rand_max = _f32(GlibcRand.RAND_MAX)
    spc = _f32(squares_per_col)
    for y in range(squares_per_col):
        for x in range(squares_per_row):
            sx = _trunc(_f32(_f32(_f32(x * square_side) + half) + padding))
            sy = _trunc(_f32(_f32(_f32(y * square_side) + half) + padding))
            angle = 0.0
            if y > 1:
                r1 = _f32(_f32(_f32(_f32(rng.rand()) / rand_max) / spc) * y)
                r2 = _f32(_f32(_f32(_f32(rng.rand()) / rand_max) / spc) * y)
                r3 = _f32(_f32(_f32(_f32(rng.rand()) / rand_max) / spc) * y)
                if rng.rand() % 2:
                    r1 = -r1
                if rng.rand() % 2:
                    r2 = -r2
                if rng.rand() % 2:
                    r3 = -r3
                angle = r1
                sx = _trunc(_f32(sx + _f32(_f32(r2 * square_side) / 3)))
                sy = _trunc(_f32(sy + _f32(_f32(r3 * square_side) / 3)))
            canvas.draw_square(sx, sy, square_side, angle, 1)
    return canvas


def render_braille(canvas: Canvas) -> bytes:
    """lolwut5's renderCanvas: 2x4 pixels per braille character (U+2800 + dot bits)."""
    out = []
    get = canvas.get_pixel
    for y in range(0, canvas.height, 4):
        row = []
        for x in range(0, canvas.width, 2):
            byte = (get(x, y) | get(x, y + 1) << 1 | get(x, y + 2) << 2
                    | get(x + 1, y) << 3 | get(x + 1, y + 1) << 4 | get(x + 1, y + 2) << 5
                    | get(x, y + 3) << 6 | get(x + 1, y + 3) << 7)
            row.append(chr(0x2800 + byte))
        out.append("".join(row))
        if y != canvas.height - 1:
            out.append("\n")
    return "".join(out).encode()


def lolwut5(rng: GlibcRand, args: list[bytes]) -> bytes:
    values = [66, 8, 12]        # columns, squares per row, squares per column
    for i, raw in enumerate(args[:3]):
        n = string2ll(raw)
        if n is None:
            raise ReplyError(NOT_INT)
        values[i] = n
    cols = min(max(values[0], 1), 1000)
    per_row = min(max(values[1], 1), 200)
    per_col = min(max(values[2], 1), 200)
    canvas = draw_schotter(rng, cols, per_row, per_col)
    return (render_braille(canvas) + b"\nGeorg Nees - schotter, plotter on paper, 1968. "
            b"Redis ver. " + REDIS_VERSION.encode() + b"\n")


# -- LOLWUT 6: the skyline (lolwut6.c) -----------------------------------------------------
_COLORS = (b"\033[0;30;40m \033[0m", b"\033[0;90;100m \033[0m", b"\033[0;37;47m \033[0m",
           b"\033[0;97;107m \033[0m")


def render_ansi(canvas: Canvas) -> bytes:
    out = []
    width = canvas.width
    pixels = canvas.pixels
    for y in range(canvas.height):
        row = pixels[y * width:(y + 1) * width]
        out.append(b"".join(_COLORS[c] if c < 4 else _COLORS[0] for c in row))
        if y != canvas.height - 1:
            out.append(b"\n")
    return b"".join(out)


def _skyscraper(rng: GlibcRand, canvas: Canvas, xoff: int, width: int, height: int,
                windows: bool, color: int) -> None:
    """generateSkyscraper."""
    starty = canvas.height - 1
    endy = starty - height + 1
    for y in range(starty, endy - 1, -1):
        for x in range(xoff, xoff + width):
            if y == endy and (x <= xoff + 1 or x >= xoff + width - 2):
                continue            # the roof is four pixels less wide
            c = color
            if windows and xoff + 1 < x < xoff + width - 2 and endy + 1 < y < starty - 1:
                relx = x - (xoff + 1)
                rely = y - (endy + 1)
                if (relx // 2) % 2 and rely % 2:
                    while True:
                        c = 1 + rng.rand() % 2
                        if c != color:
                            break
                    if relx % 2:
                        c = canvas.get_pixel(x - 1, y)
            canvas.draw_pixel(x, y, c)


def draw_skyline(rng: GlibcRand, canvas: Canvas) -> None:
    """generateSkyline: two rows of background buildings, then the windowed foreground."""
    h = canvas.height
    for color in (2, 1):
        offset = -10
        while offset < canvas.width:
            offset += rng.rand() % 8
            xoff = offset
            width = 10 + rng.rand() % 9
            if color == 2:
                height = h // 2 + (rng.rand() % h) // 2
            else:
                height = h // 2 + (rng.rand() % h) // 3
            _skyscraper(rng, canvas, xoff, width, height, False, color)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:
        offset += rng.rand() % 8
        xoff = offset
        width = 5 + rng.rand() % 14
        if width % 4:
            width += width % 3
        height = h // 3 + (rng.rand() % h) // 2
        _skyscraper(rng, canvas, xoff, width, height, True, 0)
        offset += width + 5


def lolwut6(rng: GlibcRand, args: list[bytes]) -> bytes:
    values = [80, 20]           # columns, rows
    for i, raw in enumerate(args[:2]):
        n = string2ll(raw)
        if n is None:
            raise ReplyError(NOT_INT)
        values[i] = n
    cols = min(max(values[0], 1), 1000)
    rows = min(max(values[1], 1), 1000)
    canvas = Canvas(cols, rows, 3)
    draw_skyline(rng, canvas)
    return (render_ansi(canvas) + b"\nDedicated to the 8 bit game developers of past and "
            b"present.\nOriginal 8 bit image from Plaguemon by hikikomori. Redis ver. "
            + REDIS_VERSION.encode() + b"\n")


def lolwut(argv: list[bytes], seed: int) -> bytes:
    """The text LOLWUT answers for `argv`, glibc's rand() seeded with `seed`."""
    version = REDIS_VERSION
    args = argv[1:]
    if len(argv) >= 3 and argv[1].lower() == b"version":
        ver = string2ll(argv[2])
        if ver is None:
            raise ReplyError(NOT_INT)
        version = "%d.0.0" % (ver & 0xFFFFFFFF)
        args = argv[3:]
    if (version[:2] == "5." and version[2] != "9") or version[:3] == "4.9":
        return lolwut5(GlibcRand(seed), args)
    if (version[:2] == "6." and version[2] != "9") or version[:3] == "5.9":
        return lolwut6(GlibcRand(seed), args)
    return b"Redis ver. " + REDIS_VERSION.encode() + b"\n"


@command("lolwut", -1, "readonly fast", group="server", since="5.0.0",
         summary="Display some computer art and the Redis version")
def lolwut_(client, argv):
    return Verbatim(lolwut(argv, client.node.rng.getrandbits(32)))
