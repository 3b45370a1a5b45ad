"""Running sequences: the runner, the experiment managers and the experiment server.

A manager runs one sequence at a time on its own thread: static checks (the sequence
stays DRAFT if they fail), PREPARING, devices opened, RUNNING, shots compiled ahead and run
in order, per-shot analyses, shots stored without holding the next one up, devices closed,
then FINISHED / INTERRUPTED / CRASHED.

* :class:`LocalExperimentManager` runs in this process; :class:`ExperimentServer` /
  :func:`serve_experiment` serve it over ZeroMQ; :class:`RemoteExperimentManager` is its
  client. All follow the :class:`ExperimentManager` protocol.
* :class:`ShotRetryConfig` retries shots on chosen errors; per-shot analyses add
  ``analysis.<name>`` columns.
* Events (:class:`SequenceStateChanged`, :class:`ShotStored`, ...) are small dataclasses with
  ``to_dict()`` / :func:`event_from_dict`.

Example::

    from shotbook.control import LocalExperimentManager, ShotRetryConfig

    manager = LocalExperimentManager(
        storage_manager, registry, compilers=compilers,
        shot_retry_config=ShotRetryConfig((TimeoutError,), number_of_attempts=3),
        analyses={"atoms": lambda data, parameters: float(data["camera.cloud"].sum())},
    )
    summary = manager.run_sequence("/scans/time of flight")
"""

# Experiment managers: what runs sequences, in this process or through an experiment server.
from ._config import (
    LocalExperimentManagerConfiguration,
    RemoteExperimentManagerConfiguration,
    register_control_types,
)
from ._manager import ExperimentManager, LocalExperimentManager, wait_with_progress
from ._remote import RemoteExperimentManager

# isort: split
# The experiment server: a manager served over ZeroMQ to notebooks on other computers.
from ._server import ExperimentServer, serve_experiment

# isort: split
# What a run does besides running shots: retries and per-shot analyses.
from ._analysis import AnalysisFunction, AnalysisResults, ShotAnalyses
from ._retry import ShotRetryConfig

# isort: split
# How a run goes: its progress, its summary and the problems met on the way.
from ._problems import ShotProblems
from ._progress import TextProgress
from ._status import RunProgress, RunSummary

# isort: split
# Events: small records published while sequences run, and ways to receive them.
from ._event_bus import EventCallback, EventStream, Subscription
from ._events import (
    AnalysisFailed,
    ManagerEvent,
    SequenceFailed,
    SequenceStateChanged,
    ShotRetried,
    ShotStored,
    event_from_dict,
)

# isort: split
# Errors: one root (ControlError) for the managers' own, and an unreachable device server.
from ._errors import ControlError, ManagerBusyError, ManagerClosedError, SequenceFailedError
from ._preparation import DeviceServerUnreachableError, ping_device_server

# isort: split
# Building blocks for managers of one's own: the runner, abandoned runs, the watchdog.
from ._owners import mark_abandoned_sequences, pid_alive
from ._runner import ATTEMPTS_COLUMN, SequenceRunner
from ._watchdog import ENVIRONMENT_VARIABLE as WATCHDOG_ENVIRONMENT_VARIABLE
from ._watchdog import Watchdog

__all__ = [
    "ATTEMPTS_COLUMN",
    "WATCHDOG_ENVIRONMENT_VARIABLE",
    "AnalysisFailed",
    "AnalysisFunction",
    "AnalysisResults",
    "ControlError",
    "DeviceServerUnreachableError",
    "EventCallback",
    "EventStream",
    "ExperimentManager",
    "ExperimentServer",
    "LocalExperimentManager",
    "LocalExperimentManagerConfiguration",
    "ManagerBusyError",
    "ManagerClosedError",
    "ManagerEvent",
    "RemoteExperimentManager",
    "RemoteExperimentManagerConfiguration",
    "RunProgress",
    "RunSummary",
    "SequenceFailed",
    "SequenceFailedError",
    "SequenceRunner",
    "SequenceStateChanged",
    "ShotAnalyses",
    "ShotProblems",
    "ShotRetried",
    "ShotRetryConfig",
    "ShotStored",
    "Subscription",
    "TextProgress",
    "Watchdog",
    "event_from_dict",
    "mark_abandoned_sequences",
    "pid_alive",
    "ping_device_server",
    "register_control_types",
    "serve_experiment",
    "wait_with_progress",
]
