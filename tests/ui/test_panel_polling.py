"""Item 10 of issue 18: the panel learns of changes from the store's change count and sends
only the rows that changed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shotbook.ui import ExperimentPanel, SequenceBrowser
from shotbook.ui._panel_tree import StoreListing

from .conftest import Lab
from .lab import add_scan

CREATE_ELSEWHERE = """
import sys
from tests.ui.lab import add_scan, open_store
storage, _, _ = open_store(sys.argv[1])
add_scan(storage, "/elsewhere/new")
storage.close()
"""


def test_an_unchanged_store_is_read_with_its_change_count_only(lab: Lab) -> None:
    for i in range(30):
        add_scan(lab.storage, f"/bulk/seq {i:02d}")
    browser = SequenceBrowser()
    listing = StoreListing(lab.storage, browser)
    listing.apply(listing.read(full=True), "")
    rows_sent = browser.rows
    assert len(rows_sent) == 33  # 31 sequences, /bulk and /scans

    nothing = listing.read()
    assert nothing.paths is None  # not the whole list again
    assert nothing.stats == []  # and nothing runs
    listing.apply(nothing, "")
    assert browser.rows is rows_sent
    assert browser.row_updates == {}

    add_scan(lab.storage, "/bulk/seq 99")
    changed = listing.read()
    assert changed.paths is not None  # the count moved: the list is read again
    listing.apply(changed, "")
    assert browser.rows is rows_sent  # ... but only the new row is sent
    assert list(browser.row_updates) == ["/bulk/seq 99"]
    assert [row["path"] for row in browser.current_rows()].count("/bulk/seq 99") == 1


def test_a_sequence_created_by_another_process_appears(lab: Lab, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    panel = ExperimentPanel(lab.storage, None, poll_interval=0.2)
    try:
        assert panel.browser.row("/elsewhere/new") is None
        store = str(lab.storage.config.root)
        subprocess.run(
            [sys.executable, "-c", CREATE_ELSEWHERE, store], check=True, cwd=root, timeout=120
        )
        deadline = time.monotonic() + 60  # generous: the machine is shared
        row: dict[str, Any] | None = None
        while row is None and time.monotonic() < deadline:
            panel.flush()
            row = panel.browser.row("/elsewhere/new")
            time.sleep(0.05)  # waiting on a condition, not timing it
        assert row is not None
        assert row["state"] == "draft"
    finally:
        panel.close()
