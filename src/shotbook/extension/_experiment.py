"""The `Experiment` facade: one object that configures and launches everything."""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeAlias, TypeVar

from shotbook.registry import (
    DeviceExtension,
    Serializer,
    TimeLaneExtension,
    TypeRegistry,
    default_registry,
)

from ._default_extensions import DEFAULT_TIME_LANE_EXTENSIONS

if TYPE_CHECKING:
    # Types only: importing these layers here at run time would make the facade heavy.
    from datetime import datetime

    import polars as pl

    from shotbook.analysis import SequenceSelection
    from shotbook.compile import CompilerFactory
    from shotbook.control import (
        ExperimentManager,
        ExperimentServer,
        LocalExperimentManager,
        LocalExperimentManagerConfiguration,
        RemoteExperimentManagerConfiguration,
        ShotRetryConfig,
    )
    from shotbook.device.remote import ClientRPCConfiguration, RPCConfiguration
    from shotbook.session import (
        AuditRecord,
        DuckDBConfig,
        ExperimentSession,
        PostgreSQLConfig,
        SQLiteConfig,
        StorageManager,
    )
    from shotbook.types import PureSequencePath
    from shotbook.ui import ExperimentView

    from ._caqtus import CaqtusImportSummary
    from ._diff import SequenceDiff
    from ._sequence_file import SequenceFile

    StorageConfig: TypeAlias = DuckDBConfig | SQLiteConfig | PostgreSQLConfig
    """Where an experiment keeps its data: one configuration per storage backend."""

    ManagerLocation: TypeAlias = (
        LocalExperimentManagerConfiguration | RemoteExperimentManagerConfiguration
    )
    """Where an experiment's sequences run: in this process or through an experiment server."""

logger = logging.getLogger(__name__)

PANEL_SERVER_ENVIRONMENT = "SHOTBOOK_PANEL_SERVER"
"""Set in the panel page's kernel, so that a lab script importing itself does not relaunch."""


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    from IPython import get_ipython

    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def _reference_of(experiment: Experiment) -> str:
    """``module:variable`` of the global holding ``experiment`` in ``__main__``."""
    main = sys.modules["__main__"]
    for name, value in vars(main).items():
        if value is experiment and not name.startswith("_"):
            module = Path(getattr(main, "__file__", "") or "").stem
            if module:
                return f"{module}:{name}"
    raise ExperimentConfigurationError(
        "launch_condetrol outside a notebook needs to know how to load this experiment: "
        "call it from the script that defines it as a global, or pass reference='module:variable'"
    )


P = ParamSpec("P")
T = TypeVar("T")

ShotAnalysis = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]
"""A function of a shot's data and parameters returning a number or a mapping of numbers."""


class ExperimentConfigurationError(RuntimeError):
    """The experiment is not configured for what was asked; the message says what to call."""


class Experiment:
    """Configure a lab once, then launch everything from it.

    There should be one ``Experiment`` per lab program. Configure storage,
    extensions, device servers and the experiment manager, then open storage
    sessions, run sequences, or serve devices.

    With no storage configuration the default store is ``DuckDBConfig("shotbook-data")``
    in the working directory (said once in the log).

    >>> from shotbook.session import DuckDBConfig
    >>> experiment = Experiment(DuckDBConfig("my-lab-data"))
    >>> experiment.setup_default_extensions()
    """

    def __init__(self, storage_config: StorageConfig | None = None) -> None:
        self._storage_config: StorageConfig | None = storage_config
        self._storage_manager: StorageManager | None = None
        self._device_extensions: dict[str, DeviceExtension] = {}
        self._time_lane_extensions: dict[str, TimeLaneExtension] = {}
        self._device_servers: dict[str, ClientRPCConfiguration] = {}
        self._shot_retry_config: ShotRetryConfig | None = None
        self._manager_location: ManagerLocation | None = None
        self._local_manager: LocalExperimentManager | None = None
        self._shot_analyses: dict[str, ShotAnalysis] = {}
        self._view: ExperimentView | None = None
        self._registry: TypeRegistry | None = None

    # --- configuration ------------------------------------------------------------------------
    def setup_default_extensions(self) -> None:
        """Register the digital, analog and camera lanes, the simulated devices and the real
        instruments (Basler, Pulse Streamer, QCoDeS, PyVISA; their drivers load only when a
        device opens)."""
        for lane_extension in DEFAULT_TIME_LANE_EXTENSIONS:
            self.register_time_lane_extension(lane_extension)
        for device_extension in _default_device_extensions():
            self.register_device_extension(device_extension)

    def configure_storage(self, storage_config: StorageConfig) -> None:
        """Use this storage (``DuckDBConfig``, ``SQLiteConfig`` or ``PostgreSQLConfig``).

        Calling it again replaces the previous configuration.
        """
        self._storage_config = storage_config
        if self._storage_manager is not None:
            self._storage_manager.close()
        self._storage_manager = None

    def configure_shot_retry(self, shot_retry_config: ShotRetryConfig | None) -> None:
        """Retry shots that fail with the given exceptions (a ``ShotRetryConfig``), or never."""
        self._shot_retry_config = shot_retry_config

    def configure_experiment_manager(self, location: ManagerLocation) -> None:
        """Run sequences in this process (``LocalExperimentManagerConfiguration``) or
        through an experiment server (``RemoteExperimentManagerConfiguration``)."""
        self._manager_location = location

    def register_device_extension(self, device_extension: DeviceExtension) -> None:
        """Make a kind of device available to the editors and to the runs."""
        if not isinstance(device_extension, DeviceExtension):
            raise TypeError(f"expected a DeviceExtension, got {type(device_extension).__name__}")
        self._device_extensions[device_extension.label] = device_extension
        self._extensions_changed()

    def register_time_lane_extension(self, time_lane_extension: TimeLaneExtension) -> None:
        """Make a kind of time lane available to the editors and to the runs."""
        if not isinstance(time_lane_extension, TimeLaneExtension):
            raise TypeError(
                f"expected a TimeLaneExtension, got {type(time_lane_extension).__name__}"
            )
        self._time_lane_extensions[time_lane_extension.label] = time_lane_extension
        self._extensions_changed()

    def register_device_server(self, name: str, config: ClientRPCConfiguration) -> None:
        """Name a device server that device configurations can refer to with
        ``device_server=name``: how the experiment manager reaches it, an
        ``InsecureRPCConfiguration`` or a ``SecureRPCClientConfiguration``."""
        if not name or not isinstance(name, str):
            raise ValueError(f"a device server needs a non-empty name, got {name!r}")
        self._device_servers[name] = config

    def add_shot_analysis(self, name: str, function: ShotAnalysis) -> None:
        """Run ``function(data, parameters)`` after each shot; store its result as
        ``analysis.<name>`` (or ``analysis.<name>.<key>`` for a mapping).

        It applies to the runs started from now on by this process's experiment manager,
        also when that manager already exists. Runs made by an experiment server (another
        process) apply the analyses added there: a warning says so.
        """
        if not name.replace("_", "").replace(".", "").isalnum():
            raise ValueError(f"analysis name {name!r} must hold letters, digits, '_' and '.'")
        if not callable(function):
            raise TypeError(f"shot analysis {name!r} must be callable")
        self._shot_analyses[name] = function
        if self._local_manager is not None:
            self._local_manager.add_analysis(name, function)
        if self._manager_location is None:
            return
        from shotbook.control import RemoteExperimentManagerConfiguration  # loaded with it

        if isinstance(self._manager_location, RemoteExperimentManagerConfiguration):
            warnings.warn(
                f"shot analysis {name!r} is added in this process only: runs made by the "
                "experiment server apply the analyses added in the server's own process "
                "(add it in the script that calls launch_experiment_server, then restart it)",
                stacklevel=2,
            )

    # --- what others read ---------------------------------------------------------------------
    @property
    def device_extensions(self) -> Mapping[str, DeviceExtension]:
        """The registered device extensions, by label."""
        return dict(self._device_extensions)

    @property
    def time_lane_extensions(self) -> Mapping[str, TimeLaneExtension]:
        """The registered time lane extensions, by label."""
        return dict(self._time_lane_extensions)

    @property
    def device_servers(self) -> Mapping[str, ClientRPCConfiguration]:
        """The registered device servers, by name."""
        return dict(self._device_servers)

    @property
    def shot_analyses(self) -> Mapping[str, ShotAnalysis]:
        """The per-shot analyses, by name."""
        return dict(self._shot_analyses)

    @property
    def experiment_manager_location(self) -> ManagerLocation | None:
        """Where sequences run: the configuration given to ``configure_experiment_manager``
        (``None`` before: in this process, with the default tuning)."""
        return self._manager_location

    @property
    def shot_retry_config(self) -> ShotRetryConfig | None:
        """The shot retry policy, if any."""
        return self._shot_retry_config

    def build_registry(self) -> TypeRegistry:
        """A registry with the core types, the compile types and every extension's types."""
        registry = default_registry()
        from shotbook.compile import register_compile_types

        register_compile_types(registry)
        for lane_extension in self._time_lane_extensions.values():
            lane_extension.register_types(registry)
        for device_extension in self._device_extensions.values():
            device_extension.register_types(registry)
        return registry

    def build_serializer(self) -> Serializer:
        """The serializer that storage backends and servers receive."""
        return Serializer(self._current_registry())

    def _current_registry(self) -> TypeRegistry:
        """This experiment's registry, built once per set of extensions."""
        if self._registry is None:
            self._registry = self.build_registry()
        return self._registry

    # --- running sequences --------------------------------------------------------------------
    def _compilers_and_device_classes(
        self, registry: TypeRegistry
    ) -> tuple[dict[type, CompilerFactory], dict[type, str]]:
        compilers: dict[type, CompilerFactory] = {}
        device_classes: dict[type, str] = {}
        for extension in self._device_extensions.values():
            if extension.compiler_type is not None:
                compilers[extension.configuration_type] = extension.compiler_type
            if extension.device_type is not None and registry.is_registered(extension.device_type):
                device_classes[extension.configuration_type] = registry.tag_of(
                    extension.device_type
                )
        return compilers, device_classes

    def get_local_experiment_manager(self) -> LocalExperimentManager:
        """The experiment manager of this process (created on the first call, then reused).

        It runs sequences on its own thread, with this experiment's storage, devices,
        device servers, shot retry policy and per-shot analyses.
        """
        if self._local_manager is None:
            from shotbook.control import (
                LocalExperimentManager,
                LocalExperimentManagerConfiguration,
            )

            registry = self._current_registry()
            compilers, device_classes = self._compilers_and_device_classes(registry)
            location = self._manager_location
            configuration = (
                location if isinstance(location, LocalExperimentManagerConfiguration) else None
            )
            self._local_manager = LocalExperimentManager(
                self.get_storage_manager(),
                registry,
                device_servers=self._device_servers,
                shot_retry_config=self._shot_retry_config,
                analyses=self._shot_analyses,
                configuration=configuration,
                compilers=compilers,
                device_classes=device_classes,
            )
        return self._local_manager

    def connect_to_experiment_manager(self) -> ExperimentManager:
        """The configured experiment manager: this process's, or a connection to the
        experiment server named by ``configure_experiment_manager``."""
        from shotbook.control import RemoteExperimentManager, RemoteExperimentManagerConfiguration

        if isinstance(self._manager_location, RemoteExperimentManagerConfiguration):
            return RemoteExperimentManager(self._manager_location)
        return self.get_local_experiment_manager()

    def launch_experiment_server(
        self, config: RPCConfiguration | None = None, name: str = "experiment-server"
    ) -> None:
        """Serve this experiment's manager to notebooks on other processes or computers; blocks.

        ``config`` is an ``InsecureRPCConfiguration`` or ``SecureRPCConfiguration``; by default
        the host and port of the configured ``RemoteExperimentManagerConfiguration``. Logs go to
        ``logs/<name>.log``. If ``SHOTBOOK_BLOCKING_TASK_DURATION_WARNING`` holds seconds, a
        warning is logged when a step of a run keeps the runner busy longer than that.
        """
        from shotbook.control import RemoteExperimentManagerConfiguration, serve_experiment
        from shotbook.device.remote import InsecureRPCConfiguration

        if config is None:
            location = self._manager_location
            if not isinstance(location, RemoteExperimentManagerConfiguration):
                raise ExperimentConfigurationError(
                    "launch_experiment_server needs an address: call configure_experiment_manager("
                    "RemoteExperimentManagerConfiguration(host, port)) or pass config="
                    "InsecureRPCConfiguration(host, port)"
                )
            config = InsecureRPCConfiguration(location.host, location.port)
        manager = self.get_local_experiment_manager()

        def announce(server: ExperimentServer) -> None:
            print(f"shotbook: experiment server {name!r} listening on {server.address}", flush=True)

        serve_experiment(manager, config, name, ready=announce)

    @staticmethod
    def launch_device_server(
        config: RPCConfiguration, name: str = "device_server", experiment: Experiment | None = None
    ) -> None:
        """Serve devices to experiment managers on other computers; blocks until Ctrl-C.

        ``config`` is an ``InsecureRPCConfiguration(host, port)`` (host defaults to
        127.0.0.1) or a ``SecureRPCConfiguration``. The server builds only device types
        registered by the experiment's extensions (all default ones if called on the class).
        """
        from shotbook.device.remote import run_device_server

        if experiment is None:
            experiment = Experiment()
            experiment.setup_default_extensions()
        run_device_server(config, experiment._current_registry(), name)

    def serve_devices(self, config: RPCConfiguration, name: str = "device_server") -> None:
        """Like :meth:`launch_device_server`, with this experiment's device extensions."""
        Experiment.launch_device_server(config, name, experiment=self)

    # --- the panel ----------------------------------------------------------------------------
    def panel(self) -> ExperimentView:
        """The in-notebook Condetrol (created once): browse, edit, launch and watch sequences."""
        if self._view is None:
            from shotbook.ui import ExperimentView

            self._view = ExperimentView(self)
        return self._view

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = self.panel()._repr_mimebundle_(**kwargs)
        return bundle

    def launch_condetrol(
        self, reference: str | None = None, *, mode: str = "lab", port: int | None = None
    ) -> None:
        """Show the panel: in a notebook, below the cell; elsewhere, in a local JupyterLab
        (or Voila, ``mode="voila"``) page on 127.0.0.1 whose address is printed, until Ctrl-C.

        Outside a notebook the page's kernel must rebuild this experiment: ``reference`` is
        ``"module:variable"`` (found by itself when this is called from a script that holds
        the experiment in a global variable).
        """
        if os.environ.get(PANEL_SERVER_ENVIRONMENT):
            return None  # we are the page's kernel importing the lab's script
        if _in_notebook():
            from IPython.display import display

            display(self)  # type: ignore[no-untyped-call]  # IPython has no annotations here
            return None
        from shotbook.ui import launch_panel_server

        reference = reference or _reference_of(self)
        folder = Path(getattr(sys.modules["__main__"], "__file__", None) or ".").resolve().parent
        code = (
            "import sys\n"
            f"sys.path.insert(0, {str(folder)!r})\n"
            "from shotbook.extension import load_experiment\n"
            f"experiment = load_experiment({reference!r})\n"
            "experiment"
        )
        os.environ[PANEL_SERVER_ENVIRONMENT] = "1"
        server = launch_panel_server(code, mode=mode, port=port)
        try:
            while server.is_alive():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        return None

    # --- storage ------------------------------------------------------------------------------
    def _storage_configuration(self) -> StorageConfig:
        if self._storage_config is None:
            from shotbook.session import DuckDBConfig

            default = DuckDBConfig("shotbook-data")
            self._storage_config = default
            logger.warning(
                "no storage configured: using the DuckDB store in %s", default.root.resolve()
            )
            print(f"shotbook: storing data in {default.root.resolve()}")
        return self._storage_config

    def _extensions_changed(self) -> None:
        """A new extension: rebuild the registry, and the storage manager that holds it."""
        self._registry = None
        if self._storage_manager is not None:
            self._storage_manager.close()
            self._storage_manager = None

    def get_storage_manager(self) -> StorageManager:
        """The storage manager of the configured store (created once, then reused)."""
        if self._storage_manager is None:
            config = self._storage_configuration()
            factory = getattr(config, "create_storage_manager", None)
            if factory is None:
                raise ExperimentConfigurationError(
                    f"{type(config).__name__} is not a storage configuration: use DuckDBConfig, "
                    "SQLiteConfig or PostgreSQLConfig"
                )
            self._storage_manager = factory(self.build_serializer())
        return self._storage_manager

    def build_storage_manager(
        self,
        backend_type: Callable[Concatenate[Serializer, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Create a storage manager of ``backend_type`` with this experiment's serializer."""
        return backend_type(self.build_serializer(), *args, **kwargs)

    @contextmanager
    def storage_session(self) -> Iterator[ExperimentSession]:
        """A session on the store. It holds no lock between calls: keep it open as long
        as you like.

        >>> with experiment.storage_session() as session:       # doctest: +SKIP
        ...     session.paths.create("/calibrations")
        """
        with self.get_storage_manager().session() as session:
            yield session

    def sql(self, query: str) -> pl.DataFrame:
        """Run a DuckDB SQL query over every sequence of the store; returns a polars DataFrame.

        Views: ``shots`` (one row per shot, scalar columns), ``sequences`` and
        ``parameters`` (long format). Quote dotted names:

        >>> experiment.sql('select "time_of_flight", avg("analysis.cloud.sigma_x") '
        ...                'from shots group by 1 order by 1')             # doctest: +SKIP
        """
        from shotbook.analysis import sql

        return sql(self.get_storage_manager(), query)

    def read_shots(
        self,
        what: SequenceSelection,
        columns: list[str] | None = None,
        *,
        where: pl.Expr | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> pl.DataFrame:
        """Load shots of sequences (a path, a pattern like ``"/tof/*"``, or a list) into polars.

        The same as :func:`shotbook.analysis.read_shots` on this experiment's store:
        ``where`` keeps the shots where the expression is true (before images are read),
        ``since`` / ``until`` bound the start time (a naive datetime is local time).

        >>> experiment.read_shots("/tof/*", where=pl.col("time_of_flight") > 4,
        ...                       since=datetime(2026, 12, 7, 20))     # doctest: +SKIP
        """
        from shotbook.analysis import read_shots

        return read_shots(
            self.get_storage_manager(), what, columns, where=where, since=since, until=until
        )

    def scan_shots(
        self,
        what: SequenceSelection,
        *,
        where: pl.Expr | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> pl.LazyFrame:
        """A lazy frame over the shots of sequences: :func:`shotbook.analysis.scan_shots`.

        Nothing is read until ``collect()``; filters run before images are read.

        >>> experiment.scan_shots("/tof/*").filter(pl.col("repetition") == 0).collect()
        ... # doctest: +SKIP
        """
        from shotbook.analysis import scan_shots

        return scan_shots(self.get_storage_manager(), what, where=where, since=since, until=until)

    def import_caqtus(
        self,
        source: str | Path,
        device_types: Mapping[str, Callable[[Mapping[str, object]], object]] | None = None,
        *,
        progress: bool = True,
    ) -> CaqtusImportSummary:
        """Import a caqtus database (a SQLite file or ``postgresql://...``) into this store.

        ``device_types`` maps caqtus configuration type names to converters
        (:func:`~shotbook.extension.sequencer_converter`, ``camera_converter``); unmapped types
        are kept as opaque entries, with a warning. Rerun after an interruption to resume.
        """
        from ._caqtus import import_caqtus

        manager = self.get_storage_manager()
        manager.upgrade()
        return import_caqtus(source, manager, device_types, progress=progress)

    def export_sequence(
        self,
        path: PureSequencePath | str,
        file: str | Path | None = None,
        *,
        with_settings: bool = False,
    ) -> str:
        """The sequence at ``path`` as one readable YAML file; written to ``file`` if given.

        Settings only (steps, time lanes, notes) by default: the same sequence always gives
        the same bytes, for git. ``with_settings=True`` adds the globals and device
        configurations it ran with (a draft: the current ones), its state and times.
        """
        from ._sequence_file import export_sequence_text

        with self.storage_session() as session:
            text = export_sequence_text(
                session, self.build_serializer(), path, with_settings=with_settings
            )
        if file is not None:
            Path(file).write_text(text, encoding="utf-8")
        return text

    def import_sequence(self, file: str | Path, path: PureSequencePath | str) -> SequenceFile:
        """Create a DRAFT at ``path`` from a file written by :meth:`export_sequence`.

        Refuses (``SequenceFileError``) another format or version, and names every device or
        lane type this experiment's extensions do not provide. Returns the file's content
        (with its settings, if any, which a draft cannot pin yet).
        """
        from ._sequence_file import import_sequence_text

        text = Path(file).read_text(encoding="utf-8")
        with self.storage_session() as session:
            return import_sequence_text(session, self.build_serializer(), text, path, str(file))

    def diff(
        self, a: PureSequencePath | str, b: PureSequencePath | str | None = None
    ) -> SequenceDiff:
        """What differs between sequences ``a`` and ``b``; without ``b``, between what ``a``
        ran with (its snapshot) and the current global parameters and device configurations.

        Lists globals (old → new), the scan, steps and durations, each changed lane cell,
        device configuration fields and shot counts; prints as text, renders as an HTML
        table in the notebook, and ``.differences`` is the list a script can test.

        >>> experiment.diff("/scans/monday", "/scans/today").of_kind("global")  # doctest: +SKIP
        [Difference(kind='global', where='mot.detuning', old='-15 MHz', new='-12 MHz')]
        """
        from ._diff import current_side, diff_sequences, sequence_side

        with self.storage_session() as session, session.transaction():
            left = sequence_side(session, a)
            right = current_side(session) if b is None else sequence_side(session, b)
        return diff_sequences(left, right)

    def audit_log(self, path: PureSequencePath | str | None = None) -> list[AuditRecord]:
        """Who deleted, reset to draft, renamed or interrupted ``path`` (or a sequence or
        folder under it; everything when ``None``), and when, oldest first.

        >>> for entry in experiment.audit_log("/scans/tof"):   # doctest: +SKIP
        ...     print(entry)
        2026-12-08 01:40:12 UTC interrupt /scans/tof by lab-pc-2 pid 4242 (through the ...)
        """
        with self.storage_session() as session:
            return session.audit_log(path)

    def upgrade_database(self) -> str | None:
        """Create the store, or migrate it to this shotbook's schema (after copying it aside).

        Returns where the copy of the previous catalog is, if one was made. Names stored
        before names were kept in Unicode NFC are renamed to it and each rename is printed;
        two names that differ only in normalisation are kept apart (``café (2)``), never
        merged.
        """
        manager = self.get_storage_manager()
        where = manager.upgrade()
        if where:
            print(f"shotbook: the store was upgraded; the previous catalog was copied to {where}")
        for renamed in manager.normalise_names():
            print(f"shotbook: renamed {renamed}")
        return where

    def close(self) -> None:
        """Release the storage manager and stop a local experiment manager."""
        if self._view is not None:
            self._view.close()
            self._view = None
        if self._local_manager is not None:
            self._local_manager.close()
            self._local_manager = None
        if self._storage_manager is not None:
            self._storage_manager.close()
            self._storage_manager = None

    def __repr__(self) -> str:
        return (
            f"Experiment(storage={self._storage_config!r}, "
            f"devices={list(self._device_extensions)}, "
            f"lanes={list(self._time_lane_extensions)}, "
            f"servers={list(self._device_servers)})"
        )


def _default_device_extensions() -> tuple[DeviceExtension, ...]:
    from ._default_extensions import instrument_device_extensions, simulated_device_extensions

    return (*simulated_device_extensions(), *instrument_device_extensions())


__all__ = ["Experiment", "ExperimentConfigurationError", "ShotAnalysis"]
