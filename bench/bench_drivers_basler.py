"""Benchmark: per-shot overhead shotbook adds around grabbing one emulated 640x480 frame.

Two emulated Basler cameras (``PYLON_CAMEMU=2``, set here before pypylon is imported), Mono8,
ROI 640x480, software trigger. Per shot:

* **driver** (baseline): the pypylon calls a hand-written script needs for one triggered
  frame on one camera, written the fast way: set ``ExposureTime`` through the node map (the
  ``camera.ExposureTime.Value`` attribute costs ~80 us more), ``StartGrabbingMax(1)``,
  ``WaitForFrameTriggerReady``, ``ExecuteSoftwareTrigger``, ``RetrieveResult``, one copy of
  the frame from ``GetArrayZeroCopy`` (``GetArray`` copies twice), ``Release``. So the
  overhead is what shotbook adds beyond the cheapest direct use of the same driver.
* **shotbook**: ``ShotRunner.run_shot`` of a compiled shot (one picture) on a
  :class:`~shotbook.device.basler.BaslerCamera` on the other camera: program, arm, collect
  the picture as ``camera.cloud`` (worker threads, checks, exposure read-back, stop).
* **device alone** (to split the overhead): the same camera's ``update_parameters`` and
  ``acquire`` called directly on this thread, without the runner's worker threads.

All run in the same process, in turn shot by shot, and the two cameras swap roles every
run; each run is ``--shots`` shots of each, the figure of a run its median shot time; the
reported figure is the median over ``--runs`` runs, the overhead the difference of the
shotbook and driver medians.

Run: python bench/bench_drivers_basler.py [--runs 7] [--shots 200]   (repository root)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

os.environ.setdefault("PYLON_CAMEMU", "2")

import numpy as np

from shotbook.compile import SequenceCompiler
from shotbook.device import ShotRunner
from shotbook.device.basler import (
    BaslerCamera,
    BaslerCameraCompiler,
    BaslerCameraConfiguration,
)
from shotbook.types import CameraTimeLane, ShotParameters, TimeLanes

ROI = (0, 0, 640, 480)
SERIALS = ("0815-0000", "0815-0001")


def compiled_shot() -> dict[str, Any]:
    config = BaslerCameraConfiguration(
        roi=ROI, sensor_size=(1024, 1040), trigger_source="Software", timeout=2.0
    )
    lanes = TimeLanes(
        ["wait", "image"], ["10 us", "100 us"], {"camera": CameraTimeLane([None, "cloud"])}
    )
    compiler = SequenceCompiler(
        lanes, {"camera": config}, compilers={BaslerCameraConfiguration: BaslerCameraCompiler}
    )
    init = BaslerCameraCompiler("camera", config).compile_initialization_parameters()
    return {"init": init, "shot": compiler.compile_shot(ShotParameters({}, {}))}


def driver_camera(serial: str) -> Any:
    from pypylon import pylon

    factory = pylon.TlFactory.GetInstance()
    info = next(d for d in factory.EnumerateDevices() if d.GetSerialNumber() == serial)
    camera = pylon.InstantCamera(factory.CreateDevice(info))
    camera.Open()
    camera.PixelFormat.Value = "Mono8"
    camera.Width.Value, camera.Height.Value = ROI[2], ROI[3]
    camera.TriggerSelector.Value = "FrameStart"
    camera.TriggerMode.Value = "On"
    camera.TriggerSource.Value = "Software"
    return camera


def driver_shot(camera: Any) -> np.ndarray:
    from pypylon import pylon

    camera.GetNodeMap().GetNode("ExposureTime").SetValue(100.0)
    camera.StartGrabbingMax(1)
    camera.WaitForFrameTriggerReady(2000, pylon.TimeoutHandling_ThrowException)
    camera.ExecuteSoftwareTrigger()
    result = camera.RetrieveResult(2000, pylon.TimeoutHandling_ThrowException)
    try:
        with result.GetArrayZeroCopy() as view:
            return np.array(view, copy=True)
    finally:
        result.Release()


def timed_together(shots: int, *functions: Any) -> tuple[list[float], list[float]]:
    """Median ms per shot of each function, called in turn shot by shot (so that the
    machine's load drifts the same for all), and the mean CPU ms per shot of this process
    (every thread: pylon's and the emulator's too) while each ran."""
    times: list[list[float]] = [[] for _ in functions]
    cpu = [0.0 for _ in functions]
    for _ in range(shots):
        for index, (function, out) in enumerate(zip(functions, times, strict=True)):
            start, cpu_start = time.perf_counter(), time.process_time()
            function()
            out.append(time.perf_counter() - start)
            cpu[index] += time.process_time() - cpu_start
    return [statistics.median(values) * 1e3 for values in times], [c / shots * 1e3 for c in cpu]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shots", type=int, default=200)
    args = parser.parse_args()
    setup = compiled_shot()
    shot = setup["shot"]
    parameters = dict(shot["camera"])
    rows = []
    cpu_rows = []
    for run in range(args.runs):
        # the two emulated cameras swap roles every run (they differ by up to ~1 ms a frame)
        ours_serial, driver_serial = SERIALS if run % 2 == 0 else SERIALS[::-1]
        baseline = driver_camera(driver_serial)
        with (
            BaslerCamera("camera", **{**setup["init"], "serial": ours_serial}) as camera,
            ShotRunner({"camera": camera}) as runner,
        ):

            def device_alone(camera: BaslerCamera = camera) -> list[np.ndarray]:
                camera.update_parameters(**parameters)
                return list(camera.acquire(parameters["picture_names"]))

            assert runner.run_shot(shot)["camera.cloud"].shape == (480, 640)
            assert driver_shot(baseline).shape == (480, 640)
            medians, cpu = timed_together(
                args.shots,
                lambda baseline=baseline: driver_shot(baseline),
                lambda runner=runner: runner.run_shot(shot, 5.0),
                device_alone,
            )
            rows.append(medians)
            cpu_rows.append(cpu)
        baseline.Close()
        baseline.DestroyDevice()
    driver, ours, alone = (statistics.median(column) for column in zip(*rows, strict=True))
    for name, column in zip(
        ("driver", "shotbook", "device alone"), zip(*rows, strict=True), strict=True
    ):
        print(f"runs (median ms per shot): {name}", [f"{v:.3f}" for v in column])
    print(
        f"driver {driver:.3f} ms, shotbook {ours:.3f} ms per shot: overhead "
        f"{ours - driver:.3f} ms (ratio {ours / driver:.2f}); budget <= 0.5 ms; the device "
        f"alone {alone:.3f} ms ({alone - driver:+.3f} ms)"
    )
    driver_cpu, ours_cpu, alone_cpu = (
        statistics.median(column) for column in zip(*cpu_rows, strict=True)
    )
    print(
        f"CPU per shot (this process, all threads; median of the runs' means): driver "
        f"{driver_cpu:.3f} ms, shotbook {ours_cpu:.3f} ms ({ours_cpu - driver_cpu:+.3f} ms), "
        f"device alone {alone_cpu:.3f} ms ({alone_cpu - driver_cpu:+.3f} ms)"
    )


if __name__ == "__main__":
    main()
