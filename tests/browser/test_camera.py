"""The scanner's camera: Chromium's fake camera shows a badge QR code and the scanner checks
the attendee in with no typing (through BarcodeDetector, or the vendored jsQR where the
browser has none, as Chromium on Linux)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, shoot, sign_in

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)

# The QR code (version 1-M) of the text "B-100", module by module, as made by
# `segno.make_qr("B-100", error="m", boost_error=False).matrix`.
BADGE_QR = """
#######...##..#######
#.....#.##.#..#.....#
#.###.#...#...#.###.#
#.###.#....#..#.###.#
#.###.#.#..##.#.###.#
#.....#..#.#..#.....#
#######.#.#.#.#######
..........#..........
#.#.#.#...#.#...#..#.
####....##.#.#.#.#.#.
##.####.##.#.###..#..
#.####...#.###.##....
.##..###.#.#.###.##.#
........#.....#..####
#######...#.#...#....
#.....#..##...#..#.##
#.###.#.###.#.#.#.#.#
#.###.#..###.#.#.#.#.
#.###.#.####.###..#.#
#.....#..#####.###.##
#######.#.##.###..#.#
"""


def y4m_of(matrix: str, path: Path, width: int = 320, height: int = 240, module: int = 8) -> Path:
    """One grey frame with the QR code in the middle (quiet zone included), as YUV4MPEG2."""
    rows = [r for r in matrix.split() if r]
    size = len(rows) * module
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray([235]) * (width * height)  # white paper
    for y, row in enumerate(rows):
        for x, cell in enumerate(row):
            if cell == "#":
                for dy in range(module):
                    start = (top + y * module + dy) * width + left + x * module
                    luma[start:start + module] = bytes([16]) * module
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
                     + b"FRAME\n" + bytes(luma) + chroma + chroma)
    return path


@pytest.fixture
def camera_feed(tmp_path: Path) -> Path:
    return y4m_of(BADGE_QR, tmp_path / "badge.y4m")


def test_scanner_reads_a_badge_from_the_camera(
    seeded: Seeded, new_page: Any, artifacts: Path
) -> None:
    sid = seeded.session(name="Camera Room")
    seeded.attendees([{"external_id": "R-1", "first_name": "Pat", "last_name": "Registered",
                       "badge_id": "B-100", "sessions": [sid]}])
    email, password = seeded.staff("cam@example.com", "scan")
    page = new_page()
    page.goto(f"/staff/scan?session={sid}")
    sign_in(page, email, password)
    page.click("#camera")
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "admitted", timeout=15_000)
    expect(result).to_contain_text("Admitted: Pat Registered")
    shoot(page, artifacts, "scanner-camera")
    [record] = seeded.api("GET", f"/sessions/{sid}/attendance")
    assert [h["action"] for h in record["history"]] == ["checkin"]
    page.click("#camera")  # stop
