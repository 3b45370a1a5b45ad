"""The panel as plain HTML, for saved notebooks: the sequences table, the last image and
the plot."""

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


def plot_html(
    x: np.ndarray,
    y: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    x_label: str = "",
    y_label: str = "",
    width: int = 360,
    height: int = 220,
) -> str:
    """The scalar plot as an inline SVG: shots as dots, mean ± standard error per x value
    (``groups``: distinct x, mean, error), or ``""`` without a finite point."""
    keep = np.isfinite(x) & np.isfinite(y)
    if not keep.any():
        return ""
    gx, mean, error = (np.asarray(a, dtype=np.float64) for a in groups)
    good = np.isfinite(gx) & np.isfinite(mean)
    gx, mean, error = gx[good], mean[good], np.nan_to_num(error[good])
    xs, ys = x[keep], y[keep]
    x0, x1 = float(xs.min()), float(xs.max())
    y_all = np.concatenate([ys, mean - error, mean + error])
    y0, y1 = float(y_all.min()), float(y_all.max())
    x1, y1 = (x1 if x1 > x0 else x0 + 1.0), (y1 if y1 > y0 else y0 + 1.0)
    left, right, top, bottom = 56, 8, 8, 30

    def px(value: float) -> float:
        return left + (value - x0) / (x1 - x0) * (width - left - right)

    def py(value: float) -> float:
        return height - bottom - (value - y0) / (y1 - y0) * (height - top - bottom)

    dots = "".join(
        f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="2" fill="#8aa"/>'
        for a, b in zip(xs, ys, strict=True)
    )
    bars = "".join(
        f'<line x1="{px(a):.1f}" x2="{px(a):.1f}" y1="{py(m - e):.1f}" y2="{py(m + e):.1f}" '
        f'stroke="#c33"/><circle cx="{px(a):.1f}" cy="{py(m):.1f}" r="3" fill="#c33"/>'
        for a, m, e in zip(gx, mean, error, strict=True)
    )
    text = 'font-size="10" fill="#555"'
    axes = (
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="none" stroke="#999"/>'
        f'<text x="{left}" y="{height - 16}" {text}>{x0:.4g}</text>'
        f'<text x="{width - right}" y="{height - 16}" {text} text-anchor="end">{x1:.4g}</text>'
        f'<text x="{left - 4}" y="{height - bottom}" {text} text-anchor="end">{y0:.4g}</text>'
        f'<text x="{left - 4}" y="{top + 8}" {text} text-anchor="end">{y1:.4g}</text>'
        f'<text x="{(left + width) / 2:.0f}" y="{height - 3}" {text} text-anchor="middle">'
        f"{html.escape(x_label)}</text>"
        f'<text x="2" y="{top + 20}" {text}>{html.escape(y_label)}</text>'
    )
    return (
        f'<svg class="shotbook-static-plot" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{html.escape(y_label)} against {html.escape(x_label)}">'
        f"{axes}{dots}{bars}</svg>"
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
    plot: str = "",
) -> str:
    """The whole static snapshot: title, run line, table, image and plot."""
    views = f'<div style="display:flex;gap:8px;align-items:flex-start">{image}{plot}</div>'
    return (
        '<div class="shotbook-static" style="font-family:sans-serif">'
        f"<div><b>{html.escape(title)}</b> {html.escape(run_line)}</div>"
        f"{rows_html(rows)}{views if image or plot else ''}</div>"
    )


__all__ = ["image_html", "panel_html", "plot_html", "rows_html"]
