"""Draws icon.png (128x128): three graph nodes joined by edges on a rounded square.
Standard library only (zlib + struct); run `python3 scripts/make-icon.py` from client/."""

import math
import struct
import zlib

N = 128
BG = (36, 52, 94)
EDGE = (160, 190, 255)
NODES = [((34, 40), (255, 140, 66)), ((94, 40), (255, 196, 61)), ((64, 94), (102, 221, 170))]


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def cover(d, r):
    """Anti-aliased coverage of a disc/line of radius r at distance d."""
    return max(0.0, min(1.0, r - d + 0.5))


def blend(c, over, a):
    return tuple(round(c[i] * (1 - a) + over[i] * a) for i in range(3))


rows = []
for y in range(N):
    row = bytearray([0])
    for x in range(N):
        px, py = x + 0.5, y + 0.5
        # rounded square mask
        r = 22
        qx, qy = max(r - px, 0, px - (N - r)), max(r - py, 0, py - (N - r))
        alpha = cover(math.hypot(qx, qy), r) if (qx or qy) else 1.0
        c = BG
        edges = [(0, 1), (0, 2), (1, 2)]
        for i, j in edges:
            (ax, ay), (bx, by) = NODES[i][0], NODES[j][0]
            c = blend(c, EDGE, cover(seg_dist(px, py, ax, ay, bx, by), 3.2))
        for (cx, cy), col in NODES:
            d = math.hypot(px - cx, py - cy)
            c = blend(c, (255, 255, 255), cover(d, 17))
            c = blend(c, col, cover(d, 14))
        row += bytes(c) + bytes([round(255 * alpha)])
    rows.append(bytes(row))


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
with open("icon.png", "wb") as fh:
    fh.write(png)
