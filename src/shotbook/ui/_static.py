"""The panel as plain HTML, for saved notebooks: the sequences table and the last image."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._colormaps import apply_colormap, auto_levels
from ._png import png_data_url
from ._run_control import progress_text

MAX_STATIC_ROWS = 500
MAX_STATIC_PIXELS = 512


def _cell(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _downsampled(image: np.ndarray, limit: int = MAX_STATIC_PIXELS) -> np.ndarray:
    step = max(1, -(-max(image.shape) // limit))
    return image[::step, ::step]


def image_html(
    image: np.ndarray | None,
    *,
    label: str = "",
    colormap: str = "thermal",
    levels: Sequence[float] | None = None,
    roi: Sequence[int] = (),
) -> str:
    """An ``<img>`` with the image as an inline PNG (downsampled to 512 px), or ``""``."""
    if image is None or np.asarray(image).ndim != 2 or np.asarray(image).size == 0:
        return ""
    array = np.asarray(image)
    low_high = (float(levels[0]), float(levels[1])) if levels else auto_levels(array)
    rgb = apply_colormap(array, low_high, colormap)
    if len(roi) == 4:
        x, y, w, h = (int(v) for v in roi)
        green = np.array([57, 255, 20], dtype=np.uint8)
        rows, columns = rgb.shape[:2]
        x2, y2 = min(columns - 1, x + w), min(rows - 1, y + h)
        if 0 <= x < columns and 0 <= y < rows:
            rgb[y, x : x2 + 1] = green
            rgb[y2, x : x2 + 1] = green
            rgb[y : y2 + 1, x] = green
            rgb[y : y2 + 1, x2] = green
    small = _downsampled(rgb)
    caption = html.escape(label)
    return (
        f'<figure style="margin:4px 0"><img alt="{caption}" src="{png_data_url(small)}" '
        f'style="width:{small.shape[1]}px;max-width:100%;image-rendering:pixelated"/>'
        f'<figcaption style="font-size:11px;color:#555">{caption}</figcaption></figure>'
    )


def rows_html(rows: Sequence[dict[str, Any]]) -> str:
    """The sequences as an HTML table (at most :data:`MAX_STATIC_ROWS` rows)."""
    head = "".join(
        f'<th style="text-align:left;padding:2px 6px">{title}</th>'
        for title in ("Path", "State", "Shots", "Duration", "Ran by", "Created")
    )
    body = []
    for row in rows[:MAX_STATIC_ROWS]:
        if row.get("kind") == "folder":
            continue
        shots = row.get("shots") or 0
        expected = row.get("expected")
        duration = row.get("duration")
        body.append(
            "<tr>"
            + "".join(
                f'<td style="padding:1px 6px">{text}</td>'
                for text in (
                    _cell(row["path"]),
                    _cell(row.get("state")),
                    _cell(progress_text(shots, expected)),
                    "" if duration is None else f"{float(duration):.1f} s",
                    _cell(row.get("ran_by")),
                    _cell((row.get("created") or "").replace("T", " ")[:16]),
                )
            )
            + "</tr>"
        )
    more = ""
    if len(rows) > MAX_STATIC_ROWS:
        more = f"<div>… and {len(rows) - MAX_STATIC_ROWS} more</div>"
    return (
        '<table class="shotbook-static-table" style="border-collapse:collapse;font-size:12px">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"
    )


def panel_html(
    rows: Sequence[dict[str, Any]],
    *,
    title: str = "shotbook",
    run_line: str = "",
    image: str = "",
) -> str:
    """The whole static snapshot: title, run line, table and image."""
    return (
        '<div class="shotbook-static" style="font-family:sans-serif">'
        f"<div><b>{html.escape(title)}</b> {html.escape(run_line)}</div>"
        f"{rows_html(rows)}{image}</div>"
    )


__all__ = ["image_html", "panel_html", "rows_html"]
