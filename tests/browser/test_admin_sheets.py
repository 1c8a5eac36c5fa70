"""Admin, in bulk: download the sessions as CSV, edit the file, upload it, see the preview
(row, action, changes, errors) and apply it; a file with a problem cannot be applied; the
Attendees tab uploads attendees and finds them; the Reports tab downloads both reports."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, shoot, sign_in
from tests.browser.test_accessibility import audit

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    return path


def test_sessions_in_bulk_preview_then_apply(seeded: Seeded, new_page: Any, artifacts: Path,
                                             tmp_path: Path) -> None:
    keynote = seeded.session(name="Keynote", external_id="S-1", capacity=100)
    email, password = seeded.staff("boss@example.com", "admin")
    admin = new_page(width=1200, height=1400)
    admin.goto("/admin")
    sign_in(admin, email, password)
    expect(admin.locator("#session-table")).to_contain_text("Keynote")
    admin.click("#sessions-bulk summary")
    with admin.expect_download() as dl:
        admin.click("#sessions-download-csv")
    rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["id", "external_id", "name"] and rows[1][0] == keynote

    # a mistake first: nothing can be applied
    bad = [header, [("lots" if h == "capacity" else v) for h, v in zip(header, rows[1],
                                                                          strict=True)]]
    admin.set_input_files("#sessions-file", str(write_csv(tmp_path / "bad.csv", bad)))
    admin.click("#sessions-preview-button")
    expect(admin.locator("#sessions-bulk-msg")).to_contain_text("1 problem")
    expect(admin.locator("#sessions-preview tr[data-row='2']")).to_contain_text(
        "capacity: 'lots' is not a whole number")
    expect(admin.locator("#sessions-apply")).to_be_disabled()

    edited = [dict(zip(header, rows[1], strict=True))]
    edited[0]["capacity"] = "120"
    edited.append({h: "" for h in header} | {"name": "Closing panel", "date": "2026-05-05",
                                              "start_time": "4:30pm", "capacity": "60"})
    good = write_csv(tmp_path / "sessions.csv", [header] + [[r[h] for h in header]
                                                            for r in edited])
    admin.set_input_files("#sessions-file", str(good))
    admin.click("#sessions-preview-button")
    expect(admin.locator("#sessions-bulk-msg")).to_have_text(
        "1 to create, 1 to update, 0 unchanged.")
    preview = admin.locator("#sessions-preview")
    expect(preview.locator("tr[data-row='2']")).to_contain_text("update")
    expect(preview.locator("tr[data-row='2']")).to_contain_text("capacity: 100 → 120")
    expect(preview.locator("tr[data-row='3']")).to_contain_text("create")
    expect(preview.locator("tr[data-row='3']")).to_contain_text("name: — → Closing panel")
    shoot(admin, artifacts, "admin-bulk-preview")
    assert seeded.api("GET", f"/sessions/{keynote}")["capacity"] == 100  # only a preview

    admin.click("#sessions-apply")
    expect(admin.locator("#sessions-applied")).to_have_text(
        "Applied: 1 created, 1 updated, 0 unchanged.")
    expect(admin.locator("#session-table")).to_contain_text("Closing panel")
    assert seeded.api("GET", f"/sessions/{keynote}")["capacity"] == 120
    made = next(s for s in seeded.api("GET", "/sessions")["data"]
                if s["name"] == "Closing panel")
    assert (made["date"], made["start_time"], made["capacity"]) == (
        "2026-05-05", "16:30:00", 60)


def test_attendees_and_reports_tabs(seeded: Seeded, new_page: Any, tmp_path: Path) -> None:
    keynote = seeded.session(name="Keynote")
    seeded.attendees([{"external_id": "E1", "first_name": "Ada", "last_name": "Lovelace",
                       "badge_id": "B-1", "sessions": [keynote]}])
    seeded.api("POST", f"/sessions/{keynote}/attendance/checkin", {"badge_id": "B-1"})
    email, password = seeded.staff("boss@example.com", "admin")
    admin = new_page(width=1200, height=1400)
    admin.goto("/admin#attendees")
    sign_in(admin, email, password)
    expect(admin.locator("#attendee-table")).to_contain_text("Ada Lovelace")

    admin.click("#attendees-bulk summary")
    upload = write_csv(tmp_path / "attendees.csv", [
        ["external_id", "first_name", "last_name", "email", "sessions"],
        ["E2", "Grace", "Hopper", "grace@example.com", keynote]])
    admin.set_input_files("#attendees-file", str(upload))
    admin.click("#attendees-preview-button")
    expect(admin.locator("#attendees-preview tr[data-row='2']")).to_contain_text("create")
    admin.click("#attendees-apply")
    expect(admin.locator("#attendees-applied")).to_contain_text("1 created")
    admin.fill("#attendee-search", "hopper")
    admin.click("#attendee-search-form button[type=submit]")
    expect(admin.locator("#attendee-count")).to_have_text("1–1 of 1 attendee")
    expect(admin.locator("#attendee-table")).to_contain_text("grace@example.com")
    assert seeded.api("GET", f"/sessions/{keynote}/counts")["registered"] == 2

    admin.click("#tab-reports")
    admin.select_option("#report-session", keynote)
    with admin.expect_download() as dl:
        admin.click("#report-attendance")
    assert dl.value.suggested_filename == f"attendance-{keynote}.csv"
    lines = Path(dl.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("session_id,session_name") and len(lines) == 3
    admin.select_option("#report-format", "xlsx")
    with admin.expect_download() as dl:
        admin.click("#report-scans")
    assert dl.value.suggested_filename == f"scans-{keynote}.xlsx"
    assert Path(dl.value.path()).read_bytes().startswith(b"PK")


def test_the_new_admin_parts_fit_a_phone(seeded: Seeded, new_page: Any, tmp_path: Path) -> None:
    seeded.session(name="A session with a rather long name to wrap on a small phone")
    seeded.attendees([{"external_id": "E1", "first_name": "Ada", "email": "ada@example.com"}])
    email, password = seeded.staff("boss@example.com", "admin")
    phone = new_page(width=360, height=740)
    phone.goto("/admin")
    sign_in(phone, email, password)
    phone.click("#sessions-bulk summary")
    bad = write_csv(tmp_path / "bad.csv", [["id", "capacity", "colour"], ["nosuch", "x", "red"]])
    phone.set_input_files("#sessions-file", str(bad))
    phone.click("#sessions-preview-button")
    expect(phone.locator("#sessions-preview")).to_contain_text("'colour' is not a column")
    audit(phone, "/admin sessions bulk actions")
    for tab, ready in (("attendees", "#attendee-table"), ("reports", "#reports")):
        phone.click(f"#tab-{tab}")
        phone.wait_for_selector(ready)
        audit(phone, f"/admin {tab}")
