"""The ``shotbook-cli`` directive: the command-line reference, generated from the argparse
parser of ``shotbook`` (:func:`shotbook.cli.build_parser`), so it cannot drift from the code.

Each sub-command becomes a section with its help line, its usage and a table of its
arguments (name, default, help).
"""

from __future__ import annotations

import argparse
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, Any]]:
    found = []
    for action in parser._actions:  # argparse lists sub-commands only here
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                found.append((name, helps.get(name) or "", sub))
    return found


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = ", ".join(action.option_strings) or action.dest
        if action.option_strings and action.nargs != 0:
            name += f" {action.metavar or action.dest.upper()}"
        default = action.default
        hidden = default is None or default is False or default == argparse.SUPPRESS
        shown = "–" if hidden else f"``{default!s}``"
        text = (action.help or "–").replace("*", "\\*")
        rows += [f"   * - ``{name}``", f"     - {shown}", f"     - {text}"]
    return rows


def _rst(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for name, help_text, sub in _subcommands(parser):
        title = f"shotbook {name}"
        lines += [title, "-" * len(title), "", help_text.capitalize() + ".", ""]
        usage = sub.format_usage().strip().removeprefix("usage: ")
        lines += [".. code-block:: text", "", f"   {usage}", ""]
        rows = _arguments(sub)
        if rows:
            lines += [
                ".. list-table::",
                "   :header-rows: 1",
                "   :widths: 30 15 55",
                "",
                "   * - argument",
                "     - default",
                "     - meaning",
                *rows,
                "",
            ]
    return lines


class CLIReference(SphinxDirective):
    """``.. shotbook-cli::`` — one section per sub-command of ``shotbook``."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from shotbook.cli import build_parser

        container = nodes.section()
        content = StringList(_rst(build_parser()), source="shotbook.cli.build_parser")
        nested_parse_with_titles(self.state, content, container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("shotbook-cli", CLIReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
