"""Panel benchmark: render time on a 2,000-sequence store while a scan runs, and the time
from a shot stored to the panel showing it. Real JupyterLab, headless Chromium.

Playwright only opens the notebook and runs the cells, then DETACHES (with it attached,
websocket traffic is 3-4x slower); the page records its own timestamps (``Date.now()``
when the table, the progress and the image change, and when a bare baseline widget counting
the shots from the manager's events changes) and the kernel records when each shot
was stored (``time.time()`` when its event arrives) and saves them when the measurement
window ends; Playwright reattaches to read the page's.
Same machine, same clock.

    python bench/bench_panel.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ui.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, start_lab  # noqa: E402

SEQUENCES = 2000
WINDOW = 14.0  # seconds from the panel's cell to the end of the measurement
# A person watching the panel has its tab in front; a headless page with no client attached
# counts as a background tab, whose timers Chromium throttles to 1 Hz (a uniform 0-1 s delay).
FOREGROUND_FLAGS = [
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
]

SETUP = """
import sys, json, time, threading
sys.path.insert(0, {repo!r})
from tests.ui.lab import add_scan, make_manager, make_store, tof_lanes, tof_scan
from shotbook.ui import ExperimentPanel
storage, registry, compilers = make_store({store!r}, speed={speed})
with storage.session() as session, session.transaction():
    for i in range({n}):
        path = f"/bulk/{{i // 100:02d}}/seq {{i:04d}}"
        session.sequences.create(path, tof_scan(2, 1), tof_lanes())
add_scan(storage, "/scans/long", points=100, repetitions=10)
manager = make_manager(storage, registry, compilers)
stored = {{}}
def _on(event):
    if getattr(event, "topic", "") == "shot.stored":
        stored[event.index] = time.time()
manager.subscribe(_on)
manager.start_sequence("/scans/long")
time.sleep(1.0)
print("ready", len(storage.session().__enter__().sequences.list()))
"""

# Same-run baseline: the smallest widget showing the shot count, set from the manager's events
# thread as each shot is stored; the panel cannot show a shot sooner than this.
SHOW = """
import anywidget, traitlets
from IPython.display import display
class _Baseline(anywidget.AnyWidget):
    _esm = '''export default {{ render({{ model, el }}) {{
      const shown = () => {{
        el.textContent = `baseline: ${{model.get("count")}} shots`;
        const t = globalThis.shotbookTrace;
        const count = model.get("count");
        if (Array.isArray(t)) t.push({{ kind: "baseline", value: count, t: Date.now() }});
      }};
      model.on("change:count", shown); shown();
    }} }}'''
    count = traitlets.Int(0).tag(sync=True)
baseline = _Baseline()
def _count(event):
    if getattr(event, "topic", "") == "shot.stored":
        baseline.count = event.index + 1
manager.subscribe(_count)
display(baseline)
t_cell = time.time()
panel = ExperimentPanel(storage, manager, poll_interval={poll})
t_built = time.time()
def _finish():  # the measurement window ends: save the kernel's times, stop the scan
    with open({out!r}, "w") as _f:
        json.dump({{"stored": dict(stored), "t_cell": t_cell, "t_built": t_built}}, _f)
    manager.interrupt()
threading.Timer({window}, _finish).start()
panel
"""


def _p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_cell(page, index: int, wait_text: str | None, timeout: float = 120_000) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("text=| Idle", timeout=60_000)
    page.locator(".jp-Cell").nth(index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    if wait_text:
        page.wait_for_selector(f"text={wait_text}", timeout=timeout)


def one_run(workdir: Path, speed: float, poll: float = 1.0) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    lab = start_lab(workdir)
    out = workdir / "times.json"
    cells = [
        SETUP.format(repo=str(REPO), store=str(workdir / "store"), n=SEQUENCES, speed=speed),
        SHOW.format(poll=poll, out=str(out), window=WINDOW),
    ]
    lab.write_notebook("bench.ipynb", cells)
    port = _free_port()
    chromium = subprocess.Popen(
        [str(CHROMIUM), *CHROMIUM_FLAGS, *FOREGROUND_FLAGS, f"--remote-debugging-port={port}",
         f"--user-data-dir={workdir / 'chromium'}", "--window-size=1400,1100", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with sync_playwright() as playwright:
            for _ in range(100):
                try:
                    browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
                    break
                except Exception:
                    time.sleep(0.1)
            page = browser.contexts[0].pages[0]
            page.goto(lab.notebook_url("bench.ipynb"))
            _run_cell(page, 0, "ready")
            page.evaluate("() => { globalThis.shotbookTrace = []; }")
            _run_cell(page, 1, None)
            page.wait_for_selector(".shotbook-browser", timeout=60_000)
            browser.close()  # detach: the page keeps running on its own
            # the kernel writes its times and stops the scan when the window ends; reattaching
            # only to read the page's trace (clicking into a page that draws frames can stall)
            deadline = time.monotonic() + WINDOW + 120
            while not out.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("the kernel did not write its times")
                time.sleep(0.5)
            browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
            page = next(p for c in browser.contexts for p in c.pages if "bench.ipynb" in p.url)
            trace = page.evaluate("() => globalThis.shotbookTrace")
            browser.close()
    finally:
        chromium.terminate()
        chromium.wait(10)
        lab.process.terminate()
        lab.process.wait(15)
    times = json.loads(out.read_text())
    t_cell = times["t_cell"]
    rows = [e["t"] / 1000 for e in trace if e["kind"] == "rows" and e["value"] > SEQUENCES]
    if not rows:
        raise RuntimeError(f"the table never showed {SEQUENCES} rows; trace: {trace[:20]}")
    render = rows[0] - t_cell
    stored = {int(k): v for k, v in times["stored"].items()}
    first_shown = rows[0]

    def latencies_of(kind: str) -> list[float]:
        shown: dict[int, float] = {}
        for event in trace:
            if event["kind"] == kind:
                for index in range(int(event["value"])):
                    shown.setdefault(index, event["t"] / 1000)
        return [
            shown[i] - stored[i] for i in stored if i in shown and stored[i] > first_shown + 0.5
        ]

    latencies = latencies_of("progress")
    baseline = latencies_of("baseline")
    frames = [e for e in trace if e["kind"] == "frame"]
    return {
        "render_s": render,
        "build_s": times["t_built"] - t_cell,
        "latency_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "latency_p90_ms": _p90(latencies) * 1000 if latencies else float("nan"),
        "latency_min_ms": min(latencies) * 1000 if latencies else float("nan"),
        "baseline_ms": statistics.median(baseline) * 1000 if baseline else float("nan"),
        "baseline_p90_ms": _p90(baseline) * 1000 if baseline else float("nan"),
        "shots_measured": len(latencies),
        "shots_per_s": len(stored) / max(1e-9, max(stored.values()) - min(stored.values())),
        "frames": len(frames),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--poll", type=float, default=1.0, help="the panel's poll interval (s)")
    parser.add_argument(
        "--speed", type=float, default=0.3, help="simulated shot duration / real (0.3: ~6 shots/s)"
    )
    args = parser.parse_args()
    results = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            result = one_run(Path(folder), args.speed, args.poll)
        print(f"run {run + 1}: {result}", flush=True)
        results.append(result)
    keys = ("render_s", "build_s", "latency_ms", "latency_p90_ms", "baseline_ms", "baseline_p90_ms")
    for key in keys:
        values = [r[key] for r in results]
        print(f"{key}: median {statistics.median(values):.3f} (runs: {values})")


if __name__ == "__main__":
    main()
