"""The scan editor: the steps tree of a sequence, saved as it is edited."""

from __future__ import annotations

import pathlib
from typing import Any

import traitlets

from shotbook.types import (
    ExpressionError,
    IterationError,
    PureSequencePath,
    Step,
    StepsConfiguration,
)

from ._base import EditorWidget, esm_source
from ._document import DraftDocument
from ._scan_tree import (
    as_path,
    get_step,
    inserted,
    label_of,
    moved,
    new_step,
    path_in_message,
    removed,
    replaced,
    step_to_data,
    with_field,
)
from ._sequence_context import SequenceContext, read_context

_HERE = pathlib.Path(__file__).parent

_clipboard: list[Step] = []
"""The step copied last, shared by the scan editors of this kernel (copy here, paste there)."""


class ScanEditor(EditorWidget):
    """Edit the scan of a draft sequence: declarations, linspace and arange loops, shots.

    Commands (``handle({...})`` or the ``command`` trait), paths are lists of indices:

    * ``{"action": "set_field", "path": [1], "field": "start", "value": "2 ms"}``
      (fields: ``variable``, ``value``, ``start``, ``stop``, ``num``, ``step``);
    * ``{"action": "insert", "path": [0], "kind": "variable" | "linspace" | "arange" | "shot"}``;
    * ``{"action": "remove", "path": [1, 0]}``;
    * ``{"action": "move", "path": [2], "to": [1, 0]}`` (``to`` is in the tree without the
      moved step; into a loop nests it);
    * ``{"action": "copy", "path": [1]}`` then ``{"action": "paste", "path": [3]}``;
    * ``undo``, ``redo``, ``reload``.

    ``view["steps"]`` is the tree, ``expected_shots`` the number of shots (-1: known only at
    run time, or the scan is invalid); ``problems`` lists what stops the scan from running.

    >>> editor = ScanEditor(storage, "/scans/tof")              # doctest: +SKIP
    >>> editor.handle({"action": "insert", "path": [0], "kind": "shot"})["ok"]  # doctest: +SKIP
    True
    """

    _esm = esm_source("_scan_editor.js")
    _css = _HERE / "_editors.css"

    path = traitlets.Unicode("").tag(sync=True)
    expected_shots = traitlets.Int(-1).tag(sync=True)

    def __init__(self, storage: Any, path: str | PureSequencePath) -> None:
        super().__init__()
        self._storage = storage
        self._path = PureSequencePath(path)
        self.path = str(self._path)
        self._context = SequenceContext()
        self._document = DraftDocument(
            storage,
            lambda session: session.sequences.get_iteration(self._path),
            lambda session, value: session.sequences.set_iteration(self._path, value),
            f"the scan of {self._path}",
        )
        self._sync()

    @classmethod
    def from_experiment(cls, experiment: Any, path: str | PureSequencePath) -> ScanEditor:
        """The scan editor of ``path`` in the store of ``experiment``."""
        return cls(experiment.get_storage_manager(), path)

    @property
    def scan(self) -> StepsConfiguration:
        """The scan as shown (and stored)."""
        value: StepsConfiguration = self._document.value
        return value

    # --- actions ---
    def _key_of(self, command: dict[str, Any]) -> str | None:
        if command.get("action") != "set_field":
            return None
        try:
            return f"{label_of(as_path(command.get('path')))}/{command.get('field')}"
        except ValueError:
            return None

    def _steps(self) -> tuple[Step, ...]:
        return self.scan.steps

    def _action_set_field(self, command: dict[str, Any]) -> StepsConfiguration:
        path = as_path(command.get("path"))
        step = with_field(
            get_step(self._steps(), path), str(command.get("field")), command.get("value", "")
        )
        return StepsConfiguration(replaced(self._steps(), path, step))

    def _action_insert(self, command: dict[str, Any]) -> StepsConfiguration:
        path = as_path(command.get("path"))
        return StepsConfiguration(inserted(self._steps(), path, new_step(str(command.get("kind")))))

    def _action_remove(self, command: dict[str, Any]) -> StepsConfiguration:
        return StepsConfiguration(removed(self._steps(), as_path(command.get("path"))))

    def _action_move(self, command: dict[str, Any]) -> StepsConfiguration:
        source = as_path(command.get("path"))
        destination = as_path(command.get("to"))
        return StepsConfiguration(moved(self._steps(), source, destination))

    def _action_copy(self, command: dict[str, Any]) -> None:
        step = get_step(self._steps(), as_path(command.get("path")))
        _clipboard[:] = [step]

    def _action_paste(self, command: dict[str, Any]) -> StepsConfiguration:
        if not _clipboard:
            raise ValueError("nothing to paste: copy a step first")
        return StepsConfiguration(
            inserted(self._steps(), as_path(command.get("path")), _clipboard[0])
        )

    # --- view ---
    def _load_context(self) -> None:
        with self._storage.session() as session:
            self._context = read_context(session, self._path)

    def _check_editable(self) -> str:
        return self._context.not_editable_reason(self._path)

    def _refresh(self) -> None:
        problems: list[dict[str, Any]] = []
        expected: int | None = None
        try:
            expected = self.scan.expected_number_shots(self._context.global_parameters)
        except (ExpressionError, IterationError, ValueError) as error:
            message = str(error)
            where = path_in_message(message)
            problems.append(
                {"message": message, "step": list(where) if where is not None else None}
            )
        self.expected_shots = -1 if expected is None else expected
        self.problems = problems
        self.view = {
            "steps": [step_to_data(step) for step in self._steps()],
            "expected_shots": expected,
            "clipboard": str(_clipboard[0]) if _clipboard else "",
        }


__all__ = ["ScanEditor"]
