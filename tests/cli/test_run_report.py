"""`shotbook run MODULE:EXPERIMENT SEQUENCE --report FILE`: a headless run always reports (#23).

The lab is a small experiment module written for the test: the simulated lab whose camera
crashes at its ``CRASH_AT``-th acquisition (never when unset), the demo's cloud fit, and a
per-shot analysis that fails on every second repetition.
"""

from __future__ import annotations

import base64
import re
import textwrap
import uuid
from pathlib import Path

import pytest

from shotbook.cli import main
from shotbook.extension import Experiment
from shotbook.session import DuckDBConfig

from ..analysis.real_run import PATH, tof_with_repetitions

LAB = textwrap.dedent(
    '''
    """A lab for the report tests: the simulated lab, with a camera that can crash."""

    import os
    from typing import ClassVar

    from shotbook.cli._demo import cloud_analysis
    from shotbook.device.remote import register_device_class
    from shotbook.device.sim import (
        AtomCloudModel,
        SimulatedCamera,
        SimulatedCameraCompiler,
        SimulatedCameraConfiguration,
        register_sim_types,
        simulated_lab,
    )
    from shotbook.extension import DeviceExtension, Experiment
    from shotbook.session import DuckDBConfig

    CRASH_AT = int(os.environ.get("REPORT_TEST_CRASH_AT", "-1"))


    class CrashingCamera(SimulatedCamera):
        acquisitions: ClassVar[int] = 0

        def acquire(self, picture_names):
            CrashingCamera.acquisitions += 1
            if CrashingCamera.acquisitions - 1 == CRASH_AT:
                raise RuntimeError("sensor overheated")
            return super().acquire(picture_names)


    def _register(registry):
        register_sim_types(registry)
        register_device_class(registry, "tests.crashing_camera", CrashingCamera)


    def flaky(data, parameters):
        if parameters["repetition"] == 1:
            raise ValueError("no cloud in this picture")
        return {"width": 1.0 + parameters["repetition"]}


    experiment = Experiment(DuckDBConfig(os.environ["REPORT_TEST_STORE"]))
    experiment.setup_default_extensions()
    experiment.register_device_extension(
        DeviceExtension(
            label="crashing camera",
            configuration_type=SimulatedCameraConfiguration,
            configuration_factory=lambda: simulated_lab()["camera"],
            register_types=_register,
            compiler_type=SimulatedCameraCompiler,
            device_type=CrashingCamera,
        )
    )
    model = AtomCloudModel()
    experiment.add_shot_analysis(
        "cloud", cloud_analysis(model.effective_pixel_size, model.counts_per_atom)
    )
    experiment.add_shot_analysis("flaky", flaky)
    '''
)


def make_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: int | None) -> str:
    """Write the lab module and its store with the sequence PATH; return MODULE:EXPERIMENT."""
    from shotbook.cli._demo import demo_time_lanes
    from shotbook.cli._demo_scan import demo_globals
    from shotbook.device.sim import simulated_lab

    store = tmp_path / "store"
    setup = Experiment(DuckDBConfig(store))
    setup.setup_default_extensions()
    with setup.storage_session() as session:
        session.set_global_parameters(demo_globals())
        for name, configuration in simulated_lab(seed=0).items():
            session.default_device_configurations[name] = configuration
        session.sequences.create(PATH, tof_with_repetitions(3, 2), demo_time_lanes())
    setup.close()
    module = f"report_lab_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(LAB, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPORT_TEST_STORE", str(store))
    if crash_at is not None:
        monkeypatch.setenv("REPORT_TEST_CRASH_AT", str(crash_at))
    return f"{module}:experiment"


def images_in(html: str) -> list[bytes]:
    found = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [base64.b64decode(data) for data in found]


def test_a_device_crashing_at_shot_k_still_gives_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = make_lab(tmp_path, monkeypatch, crash_at=3)
    report = tmp_path / "out" / "report.html"
    status = main(["run", reference, PATH, "--report", str(report), "--no-progress"])
    assert status == 1
    html = report.read_text(encoding="utf-8")
    failure = html.index('class="failure"')
    # the failure comes first, with the shot, the device, the parameters and the error
    assert failure < html.index("<h2>")
    block = html[failure : html.index("</div>", failure)]
    assert "The sequence crashed" in block
    assert "<th>shot</th><td>3</td>" in block
    assert "camera" in block
    assert "time_of_flight = 4" in block
    assert "repetition = 1" in block
    assert "sensor overheated" in block
    # the shots that ran are analysed: 3 stored, the flaky fit failed on one of them
    assert "crashed</span> after 3 / 6 shots" in html
    assert "analysis <b>flaky</b> failed on 1 of 3 shots (shots 1)" in html
    assert "analysis.cloud.sigma_x" in html
    assert "(1 shots without a value)" in html  # the failed flaky shot counted, skipped
    pictures = images_in(html)
    assert len(pictures) >= 4  # first/last atoms and background, and the plots
    assert all(picture.startswith(b"\x89PNG\r\n\x1a\n") for picture in pictures)
    # self-contained: no script and nothing fetched
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    out = capsys.readouterr().out
    assert "crashed after 3 / 6 shots" in out
    assert "report: " in out


def test_a_finished_run_reports_and_exits_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = make_lab(tmp_path, monkeypatch, crash_at=None)
    report = tmp_path / "report.html"
    assert main(["run", reference, PATH, "--report", str(report), "--no-progress"]) == 0
    html = report.read_text(encoding="utf-8")
    assert "The sequence ran to its end." in html
    assert 'class="failure"' not in html
    assert "finished</span> after 6 / 6 shots" in html
    assert "analysis <b>flaky</b> failed on 3 of 6 shots (shots 1, 3, 5)" in html
    assert "analysis <b>cloud</b> ran on all 6 shots" in html
    assert "Per value of <b>time_of_flight</b>" in html


def test_a_run_that_cannot_start_still_writes_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = make_lab(tmp_path, monkeypatch, crash_at=None)
    report = tmp_path / "report.html"
    assert main(["run", reference, "/no/such sequence", "--report", str(report)]) == 1
    html = report.read_text(encoding="utf-8")
    assert "The run could not start" in html or "The sequence failed" in html
    assert "/no/such sequence" in html
    assert main(["run", "no_module_here:experiment", PATH, "--report", str(report)]) == 1
    html = report.read_text(encoding="utf-8")
    assert "The run could not start" in html
    assert "no module &#x27;no_module_here&#x27;" in html
