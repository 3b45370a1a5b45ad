"""The whole panel in a real JupyterLab, driven like a person would, in headless Chromium:
create a sequence, edit it (mouse and keyboard), see Start refused while it has problems,
launch it and watch the run to its last shot."""

from __future__ import annotations

from typing import Any

import pytest

from shotbook.extension import Experiment
from shotbook.registry import Serializer
from shotbook.session import DuckDBConfig
from shotbook.types import Expression, Ramp, TakePicture
from tests.ui.browser.conftest import REPO, JupyterLab, run_first_cell, screenshot
from tests.ui.browser.test_panel_in_lab import CANVAS_VARIANCE

pytestmark = pytest.mark.browser

NEW = "/scans/new"

SETUP = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from tests.ui.editors.conftest import make_experiment
experiment = make_experiment("store")
view = experiment.panel()
view
"""

LANES = ".sb-lanes-editor"


def type_into(page: Any, key: str, text: str, editor: str | None = None) -> None:
    """Type ``text`` in the input ``key`` and press Enter; with ``editor`` (a CSS selector),
    wait until the kernel answered (the editor's version changed)."""
    before = page.eval_on_selector(editor, "e => e.dataset.version") if editor else None
    field = page.locator(f'[data-key="{key}"]')
    field.fill(text)
    field.press("Enter")
    if editor:
        page.wait_for_function(
            "([s, v]) => document.querySelector(s).dataset.version !== v", arg=[editor, before]
        )


def open_tab(page: Any, title: str) -> None:
    page.locator(".shotbook-view .lm-TabBar-tab", has_text=title).click()
    page.locator(".shotbook-view .lm-TabBar-tab.lm-mod-current", has_text=title).wait_for()


def cell(lane: str, step: int) -> str:
    """The grid cell of ``lane`` at ``step`` (a digital lane has one per step)."""
    return f'{LANES} tr[data-lane="{lane}"] td[data-step="{step}"]'


def wait_lane(page: Any, lane: str, text: str) -> None:
    """Wait until the blocks of ``lane`` read ``text`` (``start-stop:value`` joined by ``|``)."""
    page.wait_for_function(
        """([lane, text]) => {
          const row = document.querySelector(`.sb-lanes-editor tr[data-lane="${lane}"]`);
          if (!row) return false;
          const seen = [];
          for (const td of row.querySelectorAll("td")) {
            const v = td.querySelector("input") ? td.querySelector("input").value : td.textContent;
            const key = `${td.dataset.start}-${td.dataset.stop}:${v}`;
            if (td.dataset.step === td.dataset.start) seen.push(key);
          }
          return seen.join("|") === text;
        }""",
        arg=[lane, text],
    )


def box_of(locator: Any) -> dict[str, float]:
    """The box of an element on screen (looked up again if a re-render replaced it)."""
    for _ in range(50):
        box = locator.bounding_box()
        if box is not None:
            return dict(box)
    raise AssertionError(f"{locator} is not on screen")


def blocked_text(page: Any) -> str:
    return str(page.locator(".shotbook-start-blocked").text_content() or "")


def wait_start_enabled(page: Any) -> None:
    """Wait for Start to be enabled; else fail with what the run control says."""
    try:
        page.wait_for_function("() => !document.querySelector('.shotbook-start').disabled")
    except Exception as error:
        raise AssertionError(
            f"Start stays disabled; beside it: {blocked_text(page)!r}; "
            f"status: {page.locator('.shotbook-run .shotbook-status').text_content()!r}"
        ) from error
    assert blocked_text(page) == ""


def start_disabled(page: Any) -> bool:
    return bool(page.locator(".shotbook-start").is_disabled())


def green_pixels(page: Any) -> int:
    """How many pixels of the preview canvas are the green of a digital channel that is on."""
    return int(
        page.evaluate(
            """() => {
              const c = document.querySelector('.sb-preview-canvas');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              const near = (i, v) => Math.abs(d[i] - v) < 8;
              for (let i = 0; i < d.length; i += 4)
                if (near(i, 0x2f) && near(i + 1, 0x9e) && near(i + 2, 0x44)) n++;
              return n;
            }"""
        )
    )


def stored(lab: JupyterLab) -> tuple[Any, Any, Any, Any]:
    experiment = Experiment(DuckDBConfig(lab.root / "store"))
    experiment.setup_default_extensions()
    manager = DuckDBConfig(lab.root / "store").create_storage_manager(
        Serializer(experiment.build_registry())
    )
    try:
        with manager.session() as session:
            return (
                session.sequences.get_time_lanes(NEW),
                dict(session.default_device_configurations),
                session.get_global_parameters(),
                session.sequences.get_state(NEW),
            )
    finally:
        manager.close()


def test_create_edit_and_launch_a_sequence(editors_lab: JupyterLab, browser_context: Any) -> None:
    editors_lab.write_notebook("editors.ipynb", [SETUP])
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    page.set_viewport_size({"width": 1500, "height": 1300})
    try:
        page.goto(editors_lab.notebook_url("editors.ipynb"))
        run_first_cell(page, ".shotbook-browser tr[data-path='/scans/tof']", attempts=3)

        # --- create a sequence: it has no lanes yet, so Start is refused and says why
        page.fill(".shotbook-path-input", NEW)
        page.locator(".shotbook-browser button", has_text="New sequence").click()
        row = page.locator(f".shotbook-browser tr[data-path='{NEW}']")
        row.wait_for()
        row.locator("td").first.click()
        page.locator(".shotbook-run-path", has_text=NEW).wait_for()
        page.wait_for_function(
            "() => document.querySelector('.shotbook-start-blocked').textContent"
            ".includes('no such lane')"
        )
        assert start_disabled(page)
        assert "lane 'mot detuning'" in blocked_text(page)
        screenshot(page, "editors_start_blocked.png")

        # --- the scan: a loop over the time of flight instead of its one shot (5 shots)
        open_tab(page, "Edit sequence")
        page.locator(f"{LANES} table").wait_for()
        page.locator(".sb-scan-editor .sb-add-linspace").first.click()
        page.locator(".sb-scan-editor .sb-shots", has_text="6 shots").wait_for()
        page.click('.sb-scan-editor li[data-path="1"] > .sb-step button[title="Remove"]')
        page.locator(".sb-scan-editor .sb-shots", has_text="5 shots").wait_for()
        type_into(page, "1/variable", "time_of_flight", ".sb-scan-editor")
        type_into(page, "1/start", "2 ms", ".sb-scan-editor")
        type_into(page, "1/stop", "8 ms", ".sb-scan-editor")

        # --- two steps more, then a lane of each kind
        for count in (2, 3):
            page.click(".sb-add-step")
            page.wait_for_function(
                f"document.querySelectorAll('{LANES} .sb-step-head').length === {count}"
            )
        for name, kind in (
            ("mot light", "digital"),
            ("coil current", "analog"),
            ("mot detuning", "analog"),
            ("camera", "camera"),
        ):
            page.fill(".sb-new-lane-name", name)
            page.select_option(".sb-new-lane-kind", kind)
            page.click(".sb-add-lane")
            page.locator(f'{LANES} tr[data-lane="{name}"]').wait_for()

        # --- mouse: a click toggles a digital cell (and focuses the grid on it)
        page.click(cell("mot light", 0))
        page.locator(f"{cell('mot light', 0)}.sb-digital-on.sb-cursor").wait_for()

        # --- keyboard: arrows move, Space toggles, Ctrl+Z / Ctrl+Y undo and redo
        page.keyboard.press("ArrowRight")
        page.locator(f"{cell('mot light', 1)}.sb-cursor").wait_for()
        page.keyboard.press("Space")
        page.locator(f"{cell('mot light', 1)}.sb-digital-on.sb-merge-left").wait_for()
        page.keyboard.press("Control+z")
        page.locator(f"{cell('mot light', 1)}.sb-digital-off").wait_for()
        page.keyboard.press("Control+y")
        page.locator(f"{cell('mot light', 1)}.sb-digital-on").wait_for()
        # Shift+arrows extend the selection; the range bar sets it at once
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Shift+ArrowLeft")
        page.locator(".sb-selection-what", has_text="coil current: steps 1–2").wait_for()
        page.fill(".sb-selection-value", "10 A")
        page.press(".sb-selection-value", "Enter")
        wait_lane(page, "coil current", "0-2:10 A|2-3:0 V")
        # Enter edits the current cell, Enter sends, Escape gives the typed text up
        page.click(f"{LANES} .sb-grid thead th >> nth=0")  # back to the grid
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.locator(f"{cell('coil current', 2)}.sb-cursor").wait_for()
        page.keyboard.press("Enter")
        focused = page.locator('[data-key="cell/coil current/2"]')
        page.wait_for_function("document.activeElement?.dataset.key === 'cell/coil current/2'")
        page.keyboard.type("0 A")
        page.keyboard.press("Enter")
        wait_lane(page, "coil current", "0-2:10 A|2-3:0 A")
        page.wait_for_function("document.activeElement?.dataset.key === 'grid'")
        page.keyboard.press("Enter")
        page.wait_for_function("document.activeElement?.dataset.key === 'cell/coil current/2'")
        page.keyboard.type("99 A")
        page.keyboard.press("Escape")
        page.wait_for_function("document.activeElement?.dataset.key === 'grid'")
        assert focused.input_value() == "0 A"

        # --- mouse: drag over a range, set it, split it into one block per step, merge, split
        box = box_of(page.locator(f'{LANES} tr[data-lane="mot detuning"] td').first)
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 4, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2, y, steps=3)
        page.mouse.move(box["x"] + box["width"] - 4, y, steps=3)
        page.mouse.up()
        page.locator(".sb-selection-what", has_text="mot detuning: steps 1–3").wait_for()
        page.fill(".sb-selection-value", "mot.detuning")
        page.click(".sb-range-set")
        wait_lane(page, "mot detuning", "0-3:mot.detuning")
        page.click(".sb-range-split")
        wait_lane(page, "mot detuning", "0-1:mot.detuning|1-2:mot.detuning|2-3:mot.detuning")
        page.click(".sb-range-merge")
        wait_lane(page, "mot detuning", "0-3:mot.detuning")
        page.click(".sb-range-split")
        wait_lane(page, "mot detuning", "0-1:mot.detuning|1-2:mot.detuning|2-3:mot.detuning")
        # an analog expression and a ramp, typed one after the other
        type_into(page, "cell/mot detuning/2", "0 MHz")
        # the grid is drawn again when the kernel answers: wait for it, as a user sees it,
        # before typing in the next cell (a fill racing that redraw lost "ramp" at times)
        wait_lane(page, "mot detuning", "0-1:mot.detuning|1-2:mot.detuning|2-3:0 MHz")
        type_into(page, "cell/mot detuning/1", "ramp")
        ramp = page.locator(f'{LANES} tr[data-lane="mot detuning"] td.sb-ramp')
        try:
            ramp.wait_for(timeout=10_000)
        except Exception:
            # KNOWN ISSUE (see CHANGELOG/notes): a late redraw of the grid can replace the
            # cell being typed in, and the typed text is lost; typed again, it must work
            type_into(page, "cell/mot detuning/1", "ramp")
            ramp.wait_for()
        wait_lane(page, "mot detuning", "0-1:mot.detuning|1-2:ramp|2-3:0 MHz")

        # click + shift-click: a range over lanes of several kinds, where a value does not
        # apply, said clearly (the shift-click on a digital cell does not toggle it)
        page.locator(f'{LANES} tr[data-lane="coil current"] td').last.click()
        page.locator(".sb-selection-what", has_text="coil current: step 3").wait_for()
        page.click(cell("mot light", 2), modifiers=["Shift"])
        page.locator(".sb-selection-what", has_text="mot light, coil current: step 3").wait_for()
        page.fill(".sb-selection-value", "on")
        page.press(".sb-selection-value", "Enter")
        page.locator(f"{LANES} .sb-selection-value.sb-invalid").wait_for()
        page.locator(f"{LANES} .sb-status.sb-error", has_text="mixes kinds of lane").wait_for()
        wait_lane(page, "mot light", "0-2:on|2-3:off")  # nothing was saved

        # the camera takes its picture in the last step (click the right part of its cell)
        camera = page.locator(f'{LANES} tr[data-lane="camera"] td').first
        width = box_of(camera)["width"]
        camera.click(position={"x": width * 5 / 6, "y": 8})
        page.locator(".sb-selection-what", has_text="camera: step 3").wait_for()
        page.fill(".sb-selection-value", "atoms")
        page.press(".sb-selection-value", "Enter")
        wait_lane(page, "camera", "0-2:|2-3:atoms")

        # every problem is fixed: Start is enabled again
        wait_start_enabled(page)

        # a wrong expression is marked in its cell with the message, not saved, and Start
        # is refused while it is shown
        type_into(page, "cell/mot detuning/2", "10 MHz +")
        page.wait_for_selector('[data-key="cell/mot detuning/2"].sb-invalid')
        assert "unexpected end of expression" in page.locator(LANES).inner_text()
        page.wait_for_function("() => document.querySelector('.shotbook-start').disabled")
        assert "not saved: lane 'mot detuning', step 3: '10 MHz +'" in blocked_text(page)
        problems_line = page.locator(f"{LANES} .sb-problems").inner_text()
        assert "1 edit was not saved" in problems_line, problems_line
        screenshot(page, "editors_lanes.png")
        type_into(page, "cell/mot detuning/2", "0 MHz")
        wait_start_enabled(page)

        # --- a global: the value of its dependant is evaluated again
        open_tab(page, "Globals")
        type_into(page, "set_expression/mot.detuning", "-10 MHz")
        page.wait_for_selector('.sb-globals tr[data-name="offset"] >> text=-20 MHz')

        # --- a device's channel, through its output graph text
        open_tab(page, "Devices")
        graph = 'broaden(lane("mot light", default=False), "1 ms")'
        type_into(page, "digital/channel/0/output", graph, ".sb-devices-editor")

        # --- the preview draws every channel; a person sees green where digital ones are on
        open_tab(page, "Edit sequence")
        preview = page.locator(".sb-preview")
        page.click(".sb-preview-refresh")
        page.wait_for_selector(".sb-preview-canvas[data-channels='12']")
        assert "digital: mot light" in preview.inner_text()
        assert "shot 0 of 5" in preview.inner_text()
        assert green_pixels(page) > 500
        screenshot(page, "editors_all.png")

        # --- launch from the Sequences tab and watch it to the last shot
        open_tab(page, "Sequences")
        assert not start_disabled(page)
        page.locator(".shotbook-start").click()
        page.wait_for_function(
            "() => document.querySelector('.shotbook-run')?.dataset.state === 'finished'",
            timeout=90_000,
        )
        page.locator(".shotbook-run-progress", has_text="5 / 5 shots").wait_for()
        assert page.locator(".shotbook-run .shotbook-state").inner_text() == "finished"
        page.locator(f".shotbook-browser tr[data-path='{NEW}'][data-state='finished']").wait_for()
        assert "5 / 5" in page.locator(f".shotbook-browser tr[data-path='{NEW}']").inner_text()
        page.locator(".shotbook-image-caption", has_text="shot 4").wait_for()
        image = page.locator(".shotbook-image-canvas").evaluate(CANVAS_VARIANCE)
        assert (image["width"], image["height"]) == (512, 512)
        assert image["variance"] > 20, image
        screenshot(page, "editors_launched.png")

        lanes, devices, globals_, state = stored(editors_lab)
        assert state.value == "finished"
        assert list(lanes.lanes["mot light"]) == [True, True, False]
        assert lanes.lanes["coil current"].blocks == (
            (Expression("10 A"), 2),
            (Expression("0 A"), 1),
        )
        assert lanes.lanes["mot detuning"].blocks == (
            (Expression("mot.detuning"), 1),
            (Ramp(), 1),
            (Expression("0 MHz"), 1),
        )
        assert lanes.lanes["camera"].blocks == ((None, 2), (TakePicture("atoms"), 1))
        assert globals_.to_mapping()["mot"]["detuning"] == "-10 MHz"
        assert devices["digital"].channels[0].output.duration == Expression("1 ms")
    finally:
        page.close()
