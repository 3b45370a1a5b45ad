"""What every editor widget shares: commands from the front end, status, undo/redo.

The front end never changes the model directly: it sends a command
(``{"id": n, "action": "...", ...}``) as a custom message (``model.send``; ipywidgets merges
quick trait updates but never custom messages), or Python code sets the ``command`` trait.
The widget applies it to its immutable value, saves it (conflict-checked, see
:class:`DraftDocument`) and answers in ``status``
(``{"id": n, "ok": bool, "message": str}``). Python code and tests call :meth:`handle` with
the same dictionaries.
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from shotbook.compile import ConfigurationError, ShotCompilationError
from shotbook.registry import SerializationError
from shotbook.session import SequenceNotEditableError, StorageError
from shotbook.types import ExpressionError, IterationError, TimeLaneError

from ._document import DraftConflictError, DraftDocument, EditHistory

logger = logging.getLogger(__name__)

_HERE = pathlib.Path(__file__).parent


def esm_source(name: str) -> str:
    """The front-end module ``name`` of this folder, preceded by the panel's key guard
    (``guardKeys``, in ``ui/_keys.js``) and the editors' shared helpers."""
    parts = (_HERE.parent / "_keys.js", _HERE / "_common.js", _HERE / name)
    return "\n".join(part.read_text(encoding="utf-8") for part in parts)


class EditRejected(ValueError):
    """An edit that cannot be applied; ``key`` names the cell or field it was typed in."""

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        text: str | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.text = text
        self.column = column


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    EditRejected,
    ExpressionError,
    IterationError,
    TimeLaneError,
    ConfigurationError,
    ShotCompilationError,
    SerializationError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
)
"""Errors of an edit that are reported in ``status`` (never raised into the kernel)."""


def error_text(error: BaseException) -> str:
    """The message of an error, without the quotes ``KeyError`` adds."""
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    message = getattr(error, "message", None)
    return str(message) if isinstance(message, str) else str(error)


class EditorWidget(anywidget.AnyWidget):
    """Base of the editors: ``command`` in, ``status``/``view`` out, undo/redo.

    Subclasses set ``_document`` and implement ``_action_<name>(command)`` methods (or
    override ``_action_for``) that return the new value (or ``None`` when the action saved
    nothing), and ``_refresh()`` that recomputes ``view`` and ``problems``.
    """

    command = traitlets.Dict().tag(sync=True)
    status = traitlets.Dict().tag(sync=True)
    view = traitlets.Dict().tag(sync=True)
    problems: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    invalid = traitlets.Dict().tag(sync=True)
    read_only = traitlets.Bool(False).tag(sync=True)
    read_only_reason = traitlets.Unicode("").tag(sync=True)
    can_undo = traitlets.Bool(False).tag(sync=True)
    can_redo = traitlets.Bool(False).tag(sync=True)
    version = traitlets.Unicode("").tag(sync=True)

    _document: DraftDocument[Any]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listeners: list[Callable[[Any], None]] = []
        self._request_handler: Callable[[dict[str, Any]], str] | None = None
        self.on_msg(self._custom_message)

    def _custom_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A command sent by the front end with ``model.send`` (never merged by ipywidgets)."""
        if isinstance(content, dict) and content.get("kind") == "shotbook-command":
            command = content.get("command")
            if isinstance(command, dict):
                self.handle(command)

    # --- public API ---
    @property
    def value(self) -> Any:
        """The value edited (equal to the store after every successful edit)."""
        return self._document.value

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        """Apply one command (as the front end sends it) and return the status it set."""
        action = str(command.get("action", ""))
        status: dict[str, Any] = {
            "id": command.get("id"),
            "action": action,
            "ok": True,
            "message": "",
        }
        try:
            if action == "undo":
                self._require_editable()
                undone = self._document.history.undo()
                status["message"] = _undo_message("undone", undone, self._document)
            elif action == "redo":
                self._require_editable()
                redone = self._document.history.redo()
                status["message"] = _undo_message("redone", redone, self._document)
            elif action == "request":  # a whole-sequence command (works when read-only)
                status["message"] = self._request(command)
            elif action == "reload":
                self._document.reload()
                self.invalid = {}
                status["message"] = "reloaded from the store"
            else:
                method = self._action_for(action)
                if method is None:
                    raise EditRejected(f"unknown action {action!r}")
                if action not in self._read_actions:
                    self._require_editable()
                new = method(command)
                if new is not None:
                    changed = self._document.commit(new)
                    status["message"] = "saved" if changed else "unchanged"
                key = self._key_of(command)
                if key is not None and key in self.invalid:
                    self.invalid = {k: v for k, v in self.invalid.items() if k != key}
        except DraftConflictError as error:
            self.invalid = {}
            status.update(ok=False, message=str(error), conflict=True)
        except SequenceNotEditableError as error:
            status.update(ok=False, message=str(error))
            self._reload_quietly()
        except StorageError as error:
            status.update(ok=False, message=str(error))
        except EXPECTED_ERRORS as error:
            message = error_text(error)
            status.update(ok=False, message=message)
            key = self._key_of(command)
            if key is not None:
                text = command.get("value")
                if text is None:  # a command without a value (Split, Merge): field left empty
                    text = ""
                column = getattr(error, "column", None)
                self.invalid = {
                    **self.invalid,
                    key: {
                        "text": text if isinstance(text, str) else str(text),
                        "message": message,
                        "column": column if isinstance(column, int) else None,
                    },
                }
        self._sync()
        self.status = status
        for listener in self._listeners:
            listener(self)
        return status

    def on_change(self, listener: Callable[[Any], None]) -> None:
        """Call ``listener(editor)`` after each command (the panel refreshes its other views)."""
        self._listeners.append(listener)

    def off_change(self, listener: Callable[[Any], None]) -> None:
        """Stop calling ``listener`` (given to :meth:`on_change`); unknown ones are ignored."""
        self._listeners = [known for known in self._listeners if known is not listener]

    def on_request(self, handler: Callable[[dict[str, Any]], str] | None) -> None:
        """Let ``handler(command)`` answer the ``request`` commands of the front end (its
        read-only bar's "Reset to draft" / "Duplicate to edit"): it does what the whole
        sequence needs and returns the message shown; ``None`` refuses them again."""
        self._request_handler = handler

    def _request(self, command: dict[str, Any]) -> str:
        if self._request_handler is None:
            raise EditRejected(
                f"{command.get('request')!r} is done from the panel (experiment.panel()), "
                "not from an editor shown alone"
            )
        return self._request_handler(command)

    def share_history(self, history: EditHistory) -> None:
        """Undo / Redo of this editor go through ``history``, shared with other editors."""
        self._document.use_history(history)
        self._sync()

    def reload(self) -> None:
        """Read the value from the store again (after an outside change)."""
        self.handle({"action": "reload"})

    def resync(self) -> None:
        """Read what the checks depend on again and recompute ``view`` and ``problems``
        (after another editor of the same sequence changed it)."""
        self._sync()

    # --- for subclasses ---
    _read_actions: frozenset[str] = frozenset({"copy"})

    def _action_for(self, action: str) -> Callable[[dict[str, Any]], Any] | None:
        """What performs ``action``: the method ``_action_<action>``, or ``None``."""
        if not action.isidentifier():
            return None
        method: Callable[[dict[str, Any]], Any] | None = getattr(self, f"_action_{action}", None)
        return method

    def _key_of(self, command: dict[str, Any]) -> str | None:
        """The ``invalid`` key of the cell or field a command edits, or ``None``."""
        return None

    def _check_editable(self) -> str:
        """Why the value cannot be edited now, or ``""``."""
        return ""

    def _require_editable(self) -> None:
        reason = self._check_editable()
        if reason:
            raise EditRejected(reason)

    def _reload_quietly(self) -> None:
        try:
            self._document.reload()
        except StorageError as error:  # pragma: no cover - the store went away
            logger.warning("cannot reload %s: %s", self._document.what, error)

    def _load_context(self) -> None:
        """Read what the view needs besides the value (state, globals...), once per command."""

    def _sync(self) -> None:
        self._load_context()
        reason = self._check_editable()
        self.read_only = bool(reason)
        self.read_only_reason = reason
        self.can_undo = self._document.history.can_undo and not reason
        self.can_redo = self._document.history.can_redo and not reason
        self.version = self._document.version
        self._refresh()

    def _refresh(self) -> None:
        raise NotImplementedError

    @traitlets.observe("command")
    def _command_changed(self, change: dict[str, Any]) -> None:
        command = dict(change["new"] or {})
        if command:
            self.handle(command)


def _undo_message(done: str, document: DraftDocument[Any] | None, own: DraftDocument[Any]) -> str:
    """``"undone"``, or what was undone when it is another editor's value (shared history)."""
    if document is None:
        return f"nothing to {done[:-2]}"
    return done if document is own else f"{done}: an edit of {document.what}"


def expression_key(*parts: object) -> str:
    """The key of a cell or field in ``invalid``: its parts joined by ``/``.

    >>> expression_key("lane", "mot light", 2)
    'lane/mot light/2'
    """
    return "/".join(str(part) for part in parts)


__all__ = [
    "EXPECTED_ERRORS",
    "EditRejected",
    "EditorWidget",
    "error_text",
    "esm_source",
    "expression_key",
]
