"""How long a SEP-7 URI may be and still make a QR code a phone camera reads reliably.

The payer page draws its QR code at most 22rem (352 CSS px) wide, quiet zone included. A phone
held 25-40 cm from a laptop screen sees that square as a few hundred camera pixels, a little
out of focus, with sensor noise and the screen's contrast. This renders QR codes of URIs of
growing length (segno, error correction L as the page uses), photographs them in that model
(area sampling to ``--widths`` camera pixels, Gaussian blur, noise, reduced contrast) and
decodes each photograph with ``zbarimg`` (apt-get install zbar-tools). A length is reliable
when every photograph at every width decodes to the exact URI; the result is the longest
reliable length, which ``api/pages/invoice.py`` uses (with a margin) as ``QR_URI_MAX_CHARS``.

    .venv/bin/python bench/qr.py                     # the default model
    .venv/bin/python bench/qr.py --widths 260 360 --blur 1.2 --trials 8
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import string
import subprocess
import tempfile
from pathlib import Path

import segno

ALPHABET = string.ascii_letters + string.digits + "%-_."  # what a URL-encoded XDR holds


def uri_of_length(length: int, rng: random.Random) -> str:
    head = "web+stellar:tx?xdr="
    return head + "".join(rng.choice(ALPHABET) for _ in range(length - len(head)))


def modules(data: str) -> list[list[bool]]:
    """The symbol's dark modules, with the 4-module quiet zone the page draws."""
    code = segno.make(data, error="l", micro=False, boost_error=False)
    return [[bool(v) for v in row] for row in code.matrix_iter(scale=1, border=4)]


def _blur(image: list[list[float]], sigma: float) -> list[list[float]]:
    if sigma <= 0:
        return image
    radius = max(1, math.ceil(3 * sigma))
    kernel = [math.exp(-(i * i) / (2 * sigma * sigma)) for i in range(-radius, radius + 1)]
    total = sum(kernel)
    kernel = [k / total for k in kernel]
    size = len(image)

    def one_way(rows: list[list[float]]) -> list[list[float]]:
        out = []
        for row in rows:
            padded = [row[0]] * radius + row + [row[-1]] * radius
            out.append([sum(k * padded[i + j] for j, k in enumerate(kernel)) for i in range(size)])
        return out

    horizontal = one_way(image)
    columns = one_way([list(col) for col in zip(*horizontal, strict=True)])
    return [list(row) for row in zip(*columns, strict=True)]


def photograph(
    matrix: list[list[bool]], width: int, blur: float, noise: float, rng: random.Random
) -> list[list[int]]:
    """``matrix`` as a ``width`` x ``width`` grey camera image (0 black, 255 white)."""
    n = len(matrix)
    dark, light = 45.0, 210.0  # a screen photographed: neither black nor white
    supersample = 3
    image: list[list[float]] = []
    for y in range(width):
        row = []
        for x in range(width):
            hits = 0
            for sy in range(supersample):
                my = int((y + (sy + 0.5) / supersample) * n / width)
                line = matrix[min(my, n - 1)]
                for sx in range(supersample):
                    mx = int((x + (sx + 0.5) / supersample) * n / width)
                    hits += line[min(mx, n - 1)]
            share = hits / supersample**2
            row.append(light - (light - dark) * share)
        image.append(row)
    blurred = _blur(image, blur)
    return [[max(0, min(255, round(v + rng.gauss(0, noise)))) for v in row] for row in blurred]


def decodes(image: list[list[int]], expected: str, folder: Path) -> bool:
    path = folder / "shot.pgm"
    size = len(image)
    path.write_bytes(f"P5 {size} {size} 255\n".encode() + bytes(v for row in image for v in row))
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0 and done.stdout.decode("utf-8", "replace").rstrip("\n") == expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[300, 400])
    parser.add_argument("--blur", type=float, default=1.0, help="Gaussian sigma, camera px")
    parser.add_argument(
        "--noise", type=float, default=5.0, help="noise after the camera's denoising, grey levels"
    )
    parser.add_argument("--trials", type=int, default=5, help="photographs per length and width")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(range(200, 2001, 100)))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("zbarimg") is None:
        parser.error("zbarimg not found: apt-get install zbar-tools")
    rng = random.Random(args.seed)
    reliable, unbroken = 0, True
    print(f"model: widths {args.widths} camera px, blur sigma {args.blur}, noise {args.noise}")
    print("| URI chars | QR version | modules | module px at each width | decoded |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for length in args.lengths:
            uri = uri_of_length(length, rng)
            code = segno.make(uri, error="l", micro=False, boost_error=False)
            matrix = modules(uri)
            ok = total = 0
            for width in args.widths:
                for _ in range(args.trials):
                    total += 1
                    shot = photograph(matrix, width, args.blur, args.noise, rng)
                    ok += decodes(shot, uri, folder)
            px = ", ".join(f"{w / len(matrix):.1f}" for w in args.widths)
            print(f"| {length} | {code.version} | {len(matrix) - 8} | {px} | {ok}/{total} |")
            unbroken = unbroken and ok == total  # every length up to here decoded every time
            if unbroken:
                reliable = length
    print(f"longest reliable length: {reliable} characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
