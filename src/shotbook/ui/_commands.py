"""Commands from a view's front end: custom messages (never merged), or the ``command`` trait.

ipywidgets may merge trait updates sent in quick succession, so a front end that writes
two commands into a trait fast can lose the first. Front ends therefore send
``{"type": "command", "command": {...}}`` messages; Python-side tests may still set the
``command`` trait.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import traitlets

Handler = Callable[[dict[str, Any]], None]


def dispatch_command(
    widget: Any, command: dict[str, Any], actions: Sequence[str], handlers: Sequence[Handler]
) -> None:
    """Give ``command`` to every handler, or set ``widget.status`` for an unknown action."""
    if not command:
        return
    action = command.get("action")
    if action not in actions:
        widget.status = {
            "id": command.get("id"),
            "ok": False,
            "message": f"unknown action {action!r}; known: {', '.join(actions)}",
        }
        return
    for handler in handlers:
        handler(command)


def answer_command(
    widget: traitlets.HasTraits, command: Mapping[str, Any], ok: bool, message: str
) -> None:
    """Answer ``command`` in ``widget.status`` (the front end matches the answer by ``id``)."""
    widget.set_trait("status", {"id": command.get("id"), "ok": ok, "message": message})


def command_of_message(content: Any) -> dict[str, Any] | None:
    """The command carried by a custom message, or ``None`` for other messages."""
    if isinstance(content, dict) and content.get("type") == "command":
        command = content.get("command")
        return dict(command) if isinstance(command, dict) else {}
    return None
