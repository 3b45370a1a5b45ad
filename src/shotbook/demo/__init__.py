"""The demo lab: the simulated time-of-flight scan of ``shotbook demo``, public for notebooks.

::

    from shotbook.demo import build_demo_experiment, create_demo_sequence, fit_demo_temperature

    experiment = build_demo_experiment(Path("demo-data"), seed=0)  # simulated lab + analysis
    path = create_demo_sequence(experiment, points=8, repetitions=3, seed=0)
    experiment.get_local_experiment_manager().run_sequence(path)
    fit = fit_demo_temperature(experiment, path)                   # a TemperatureFit

The pieces (globals, scan, time lanes, per-shot analysis) are separate functions, so a lab
can start from them.
"""

from ._lab import (
    DEMO_EXPOSURE,
    build_demo_experiment,
    cloud_analysis,
    create_demo_sequence,
    demo_time_lanes,
    fit_demo_temperature,
)
from ._scan import demo_globals, demo_scan

__all__ = [
    "DEMO_EXPOSURE",
    "build_demo_experiment",
    "cloud_analysis",
    "create_demo_sequence",
    "demo_globals",
    "demo_scan",
    "demo_time_lanes",
    "fit_demo_temperature",
]
