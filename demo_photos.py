"""The demo products' photos, drawn when the demo loads: a soft background, a simple shape of the goods and the
product's name, as a small JPEG that the site's photo upload (inventory.photos) checks and re-encodes."""

import io
import math

from PIL import Image, ImageDraw, ImageFont

SIZE = 480
WHITE = (255, 255, 255)
INK = (51, 51, 51)
LEAF = (67, 140, 74)


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))


def _shade(colour, factor: float) -> tuple[int, int, int]:
    """`colour` darker (factor < 1) or lighter (factor > 1)."""
    if factor <= 1:
        return tuple(int(c * factor) for c in colour)
    return tuple(int(c + (255 - c) * (factor - 1)) for c in colour)


# Each shape draws the goods in the square above the name band, centred on (240, 190).


def _pod(draw, start, bend, end, width, colour):
    """A curved pod tapering to a point (a chili, a banana): along the curve from `start` through `bend` to `end`."""
    left, right = [], []
    steps = 24
    for i in range(steps + 1):
        t = i / steps
        x = (1 - t) ** 2 * start[0] + 2 * (1 - t) * t * bend[0] + t**2 * end[0]
        y = (1 - t) ** 2 * start[1] + 2 * (1 - t) * t * bend[1] + t**2 * end[1]
        dx = 2 * (1 - t) * (bend[0] - start[0]) + 2 * t * (end[0] - bend[0])
        dy = 2 * (1 - t) * (bend[1] - start[1]) + 2 * t * (end[1] - bend[1])
        length = math.hypot(dx, dy) or 1
        half = width / 2 * (1 - t**2) + 1
        left.append((x - dy / length * half, y + dx / length * half))
        right.append((x + dy / length * half, y - dx / length * half))
    draw.polygon(left + right[::-1], fill=colour)


def _chili(draw, colour):
    for dx, dy in ((-80, 10), (0, -20), (80, 10)):
        _pod(draw, (200 + dx, 90 + dy), (300 + dx, 170 + dy), (230 + dx, 300 + dy), 40, colour)
        draw.ellipse((186 + dx, 72 + dy, 216 + dx, 102 + dy), fill=_shade(LEAF, 0.7))


def _round(draw, colour):
    draw.ellipse((120, 70, 360, 310), fill=colour)
    draw.ellipse((170, 110, 220, 160), fill=_shade(colour, 1.35))
    draw.ellipse((225, 55, 255, 95), fill=LEAF)


def _oval(draw, colour):
    draw.ellipse((95, 95, 385, 285), fill=colour)
    draw.ellipse((150, 130, 210, 170), fill=_shade(colour, 1.3))


def _star(draw, colour):
    points = []
    for i in range(10):
        radius = 130 if i % 2 == 0 else 62
        angle = math.radians(-90 + 36 * i)
        points.append((240 + radius * math.cos(angle), 190 + radius * math.sin(angle)))
    draw.polygon(points, fill=colour, outline=_shade(colour, 0.8), width=4)
    draw.ellipse((222, 172, 258, 208), fill=_shade(colour, 1.4))


def _onions(draw, colour):
    for cx, cy in ((180, 220), (300, 220), (240, 150)):
        draw.ellipse((cx - 60, cy - 55, cx + 60, cy + 65), fill=colour, outline=_shade(colour, 0.75), width=3)
        draw.polygon([(cx - 12, cy - 50), (cx + 12, cy - 50), (cx, cy - 85)], fill=_shade(colour, 0.75))


def _sack(draw, colour):
    draw.rounded_rectangle((130, 90, 350, 320), radius=40, fill=colour, outline=_shade(colour, 0.7), width=4)
    draw.polygon([(150, 95), (330, 95), (280, 60), (200, 60)], fill=_shade(colour, 0.9))
    draw.line((200, 92, 280, 92), fill=_shade(colour, 0.5), width=8)
    draw.ellipse((205, 175, 275, 245), outline=_shade(colour, 0.6), width=6)


def _eggs(draw, colour):
    for cx, cy in ((175, 215), (305, 215), (240, 140)):
        draw.ellipse((cx - 55, cy - 72, cx + 55, cy + 72), fill=colour, outline=_shade(colour, 0.8), width=3)


def _cob(draw, colour):
    draw.ellipse((175, 45, 305, 315), fill=colour)
    for y in range(70, 300, 26):
        draw.line((185, y, 295, y), fill=_shade(colour, 0.8), width=3)
    draw.polygon([(175, 250), (120, 320), (230, 300)], fill=LEAF)
    draw.polygon([(305, 250), (360, 320), (250, 300)], fill=LEAF)


def _bunch(draw, colour):
    for i in range(7):
        x = 150 + i * 30
        draw.arc((x - 160, 40, x + 40, 330), 300, 60, fill=colour, width=12)
    draw.rectangle((200, 170, 280, 195), fill=(196, 160, 98))


def _jar(draw, colour):
    draw.rounded_rectangle((150, 110, 330, 310), radius=30, fill=colour)
    draw.rounded_rectangle((140, 75, 340, 120), radius=12, fill=_shade(colour, 0.6))
    draw.rounded_rectangle((180, 170, 300, 250), radius=10, fill=WHITE)


def _bottle(draw, colour):
    for x, height in ((170, 230), (310, 170)):
        top = 310 - height
        draw.rounded_rectangle((x - 50, top + 70, x + 50, 310), radius=22, fill=colour)
        draw.rectangle((x - 18, top + 20, x + 18, top + 80), fill=colour)
        draw.rectangle((x - 22, top, x + 22, top + 24), fill=_shade(colour, 0.6))
        draw.rectangle((x - 40, top + 130, x + 40, top + 170), fill=WHITE)


def _bananas(draw, colour):
    for i in range(4):
        _pod(draw, (300, 80), (130 + i * 30, 120 + i * 40), (230 + i * 45, 300), 56, _shade(colour, 1 - i * 0.07))
    draw.rounded_rectangle((285, 55, 325, 95), radius=8, fill=(120, 100, 40))


def _seedling(draw, colour):
    draw.polygon([(170, 220), (310, 220), (290, 320), (190, 320)], fill=(176, 104, 64))
    draw.line((240, 220, 240, 110), fill=LEAF, width=10)
    draw.ellipse((150, 100, 240, 150), fill=colour)
    draw.ellipse((240, 70, 330, 120), fill=colour)
    draw.ellipse((175, 160, 240, 200), fill=colour)


def _box(draw, colour):
    draw.rectangle((110, 140, 370, 320), fill=colour)
    draw.rectangle((95, 110, 385, 160), fill=_shade(colour, 0.85))
    draw.rectangle((225, 110, 255, 320), fill=(200, 40, 60))
    draw.ellipse((190, 70, 240, 120), outline=(200, 40, 60), width=10)
    draw.ellipse((240, 70, 290, 120), outline=(200, 40, 60), width=10)


def _shirt(draw, colour):
    body = [(175, 70), (305, 70), (385, 120), (350, 175), (320, 160), (320, 320), (160, 320), (160, 160), (130, 175)]
    draw.polygon(body + [(95, 120)], fill=colour, outline=_shade(colour, 0.7), width=3)
    draw.polygon([(210, 70), (270, 70), (240, 110)], fill=WHITE)
    for y in (140, 185, 230, 275):
        draw.ellipse((234, y, 246, y + 12), fill=_shade(colour, 0.6))


def _dress(draw, colour):
    draw.polygon([(195, 55), (285, 55), (320, 120), (365, 320), (115, 320), (160, 120)], fill=colour)
    for y in range(130, 320, 40):
        draw.line((150, y, 330, y), fill=_shade(colour, 1.3), width=6)
    draw.ellipse((215, 45, 265, 85), fill=WHITE)


def _scarf(draw, colour):
    draw.polygon([(80, 90), (400, 90), (240, 320)], fill=colour, outline=_shade(colour, 0.7), width=4)
    draw.line((120, 120, 360, 120), fill=_shade(colour, 1.35), width=8)


def _bag(draw, colour):
    draw.arc((170, 40, 310, 180), 180, 360, fill=_shade(colour, 0.6), width=16)
    draw.rounded_rectangle((120, 110, 360, 320), radius=18, fill=colour)
    draw.rectangle((120, 190, 360, 210), fill=_shade(colour, 1.3))


def _apron(draw, colour):
    draw.polygon(
        [(190, 70), (290, 70), (300, 150), (360, 160), (340, 320), (140, 320), (120, 160), (180, 150)], fill=colour
    )
    draw.line((190, 70, 170, 40), fill=_shade(colour, 0.6), width=8)
    draw.line((290, 70, 310, 40), fill=_shade(colour, 0.6), width=8)
    draw.rectangle((195, 220, 285, 280), outline=_shade(colour, 1.4), width=6)


SHAPES = {
    "chili": _chili,
    "round": _round,
    "oval": _oval,
    "star": _star,
    "onions": _onions,
    "sack": _sack,
    "eggs": _eggs,
    "cob": _cob,
    "bunch": _bunch,
    "jar": _jar,
    "bottle": _bottle,
    "bananas": _bananas,
    "seedling": _seedling,
    "box": _box,
    "shirt": _shirt,
    "dress": _dress,
    "scarf": _scarf,
    "bag": _bag,
    "apron": _apron,
}


def _name_lines(draw, name: str) -> tuple[list[str], ImageFont.ImageFont]:
    """The name in one line if it fits, else in two; the font as large as fits."""
    words = name.split()
    splits = [[name]] + [[" ".join(words[:i]), " ".join(words[i:])] for i in range(1, len(words))]
    for size in (42, 38, 34, 30, 26):
        font = ImageFont.load_default(size=size)
        for lines in splits:
            if len(lines) * (size + 6) <= 84 and all(draw.textlength(line, font=font) <= 410 for line in lines):
                return lines, font
    return [name], ImageFont.load_default(size=22)


def product_photo(name: str, background: str, shape: str, colour: str) -> bytes:
    """A 480 px square JPEG: `shape` (one of SHAPES) in `colour` on `background`, the name below."""
    image = Image.new("RGB", (SIZE, SIZE), _rgb(background))
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 10, 420, 370), fill=_shade(_rgb(background), 1.35))
    SHAPES[shape](draw, _rgb(colour))
    draw.rounded_rectangle((24, 362, 456, 456), radius=20, fill=WHITE)
    lines, font = _name_lines(draw, name)
    step = font.size + 6
    top = 409 - step * (len(lines) - 1) / 2
    for i, line in enumerate(lines):
        draw.text((240, top + i * step), line, font=font, fill=INK, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
