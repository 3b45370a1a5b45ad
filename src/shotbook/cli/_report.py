"""`shotbook run`: run one sequence without Jupyter and always leave an HTML report.

The report is one self-contained file (no script, no remote font or image: pictures are
PNG data URIs), written on success and on failure:

1. the failure first, when there is one: the shot at fault, where (device, lane...), that
   shot's parameters, the error and its traceback; or the error that stopped the run from
   starting (an experiment that cannot be loaded, a sequence that does not exist);
2. the run summary (state, shots, problems such as failed per-shot analyses, timing);
3. per-shot analyses: for each, how many shots it failed on and which;
4. the results of the shots that ran, averaged per value of the scanned parameter (mean ±
   standard error, NaN shots counted and left out), with a plot when matplotlib is there;
5. the first and last picture of each camera image;
6. the table of the shots' parameters and scalar results.

Each section is built on its own: a section that cannot be built says why in the report and
the others are still written.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import polars as pl

    from shotbook.control import RunSummary

__all__ = ["RunOutcome", "render_report", "run_with_report"]

_MAX_TABLE_ROWS = 500
_THUMBNAIL = 256

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:2px}
table{border-collapse:collapse;font-size:.85em} td,th{border:1px solid #ddd;padding:2px 6px}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{background:#fdecea}
.failure{background:#fdecea;border-left:5px solid #c62828;padding:8px 12px;margin:1em 0}
.ok{background:#e8f5e9;border-left:5px solid #2e7d32;padding:8px 12px;margin:1em 0}
.warn{color:#b26a00} .section-error{color:#c62828}
pre{white-space:pre-wrap;font-size:.85em} figure{display:inline-block;margin:4px}
"""


@dataclass
class RunOutcome:
    """What a headless run left: its summary, the error that stopped it, its shots."""

    reference: str
    sequence: str
    summary: RunSummary | None = None
    error: BaseException | None = None
    error_traceback: str = ""
    shots: pl.DataFrame | None = None
    shots_error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the sequence ran to its end."""
        return self.error is None and self.summary is not None and self.summary.ok


# --- the run ---------------------------------------------------------------------------------


def _read_shots(experiment: Any, sequence: str, outcome: RunOutcome) -> None:
    try:
        outcome.shots = experiment.read_shots(sequence)
    except Exception as error:  # the report says why there are no shots
        outcome.shots_error = f"{type(error).__name__}: {error}"


def run_with_report(
    reference: str, sequence: str, report: Path | None, *, progress: bool = True
) -> RunOutcome:
    """Load ``reference`` (MODULE:EXPERIMENT), run ``sequence``, write ``report`` (if given).

    Never raises for a failed run: the outcome (and the report) say what happened.
    """
    from shotbook.control import SequenceFailedError
    from shotbook.extension import load_experiment

    outcome = RunOutcome(reference, sequence)
    experiment = None
    try:
        experiment = load_experiment(reference)
        manager = experiment.get_local_experiment_manager()
        try:
            outcome.summary = manager.run_sequence(sequence, progress=progress)
        except SequenceFailedError as error:
            outcome.error = error
            outcome.error_traceback = error.remote_traceback or traceback.format_exc()
            outcome.summary = manager.last_run()
        _read_shots(experiment, sequence, outcome)
    except Exception as error:  # cannot load the experiment, no such sequence, ...
        outcome.error = error
        outcome.error_traceback = traceback.format_exc()
        if experiment is not None and outcome.shots is None and outcome.shots_error is None:
            _read_shots(experiment, sequence, outcome)
    finally:
        if report is not None:
            _write(report, render_report(outcome))
        if experiment is not None:
            experiment.close()
    return outcome


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


# --- the report ------------------------------------------------------------------------------


def _section(title: str, build: Callable[[], str]) -> str:
    try:
        body = build()
    except Exception as error:  # one broken section never loses the report
        body = (
            f'<p class="section-error">this section could not be built: '
            f"{escape(type(error).__name__)}: {escape(str(error))}</p>"
        )
    return f"<h2>{escape(title)}</h2>\n{body}\n" if body else ""


def _failure_block(outcome: RunOutcome) -> str:
    from shotbook.control import SequenceFailedError

    error = outcome.error
    if error is None and outcome.summary is not None and outcome.summary.failure is not None:
        error = outcome.summary.failure
    if error is None:
        if outcome.summary is not None and outcome.summary.state == "interrupted":
            return '<div class="failure"><b>The run was interrupted.</b></div>'
        return ""
    rows: list[tuple[str, str]] = []
    if isinstance(error, SequenceFailedError):
        title = "The sequence failed" if error.shot_index is None else "The sequence crashed"
        rows.append(("sequence", error.path))
        rows.append(
            ("shot", "before the first shot" if error.shot_index is None else str(error.shot_index))
        )
        if error.location:
            rows.append(("where", error.location))
        if error.parameters:
            parameters = error.parameters  # ShotParameters print with their display units
            shown = (
                ", ".join(f"{name} = {value}" for name, value in parameters.items())
                if isinstance(parameters, dict)
                else str(parameters)
            )
            rows.append(("parameters", shown))
        rows.append(
            ("error", f"{error.error_type}: {error.reason}" if error.error_type else error.reason)
        )
        rows.append(("shots stored", str(error.number_of_shots)))
    else:
        title = "The run could not start"
        rows.append(("error", f"{type(error).__name__}: {error}"))
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    details = ""
    if outcome.error_traceback:
        details = (
            f"<details><summary>traceback</summary><pre>{escape(outcome.error_traceback)}"
            "</pre></details>"
        )
    return f'<div class="failure"><b>{title}</b><table>{table}</table>{details}</div>'


def _summary_block(outcome: RunOutcome) -> str:
    if outcome.summary is None:
        return "<p>No run summary: the sequence did not start.</p>"
    return outcome.summary._repr_html_()


def _failed_analyses(outcome: RunOutcome) -> str:
    shots = outcome.shots
    parts: list[str] = []
    if shots is not None:
        import polars as pl

        for column in shots.columns:
            if not (column.startswith("analysis.") and column.endswith(".failed")):
                continue
            name = column[len("analysis.") : -len(".failed")]
            failed = shots.filter(pl.col(column).fill_null(False))
            indices = failed.get_column("shot_index").to_list()
            listed = ", ".join(str(index) for index in indices[:30])
            more = f" and {len(indices) - 30} more" if len(indices) > 30 else ""
            css = "warn" if indices else ""
            text = (
                f"failed on {len(indices)} of {shots.height} shots (shots {listed}{more})"
                if indices
                else f"ran on all {shots.height} shots"
            )
            parts.append(f'<li class="{css}">analysis <b>{escape(name)}</b> {escape(text)}</li>')
    if outcome.summary is not None:
        for problem in outcome.summary.problems:
            parts.append(f'<li class="warn">{escape(str(problem))}</li>')
    return f"<ul>{''.join(parts)}</ul>" if parts else ""


def _scanned(shots: pl.DataFrame) -> list[str]:
    from shotbook.analysis import column_kinds

    kinds = column_kinds(shots)
    scanned = []
    for name in shots.columns:
        if kinds.get(name) != "parameter" or not shots.schema[name].is_numeric():
            continue
        distinct = shots.get_column(name).n_unique()
        if distinct > 1:
            scanned.append((distinct, name))
    scanned.sort(key=lambda item: -item[0])
    return [name for _, name in scanned]


def _results(shots: pl.DataFrame) -> list[str]:
    return [
        name
        for name in shots.columns
        if name.startswith("analysis.")
        and not name.endswith(".failed")
        and shots.schema[name].is_numeric()
    ]


def _figure(stats: pl.DataFrame, value: str) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return ""
    from shotbook.analysis import plot_stats

    figure, ax = plt.subplots(figsize=(4.5, 3.2), dpi=90)
    try:
        plot_stats(stats, ax, value=value)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<figure><img alt="{escape(value)}" src="data:image/png;base64,{data}"></figure>'


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.6g}"
    return escape(str(value))


def _statistics(outcome: RunOutcome) -> str:
    shots = outcome.shots
    if shots is None or shots.height == 0:
        return "<p>No shot was stored.</p>"
    from shotbook.analysis import group_stats, units

    scanned = _scanned(shots)
    results = _results(shots)
    if not results:
        return "<p>The shots have no numeric per-shot analysis result.</p>"
    if not scanned:
        return "<p>No parameter was scanned: see the table of shots.</p>"
    x = scanned[0]
    known = units(shots)
    parts = [
        f"<p>Per value of <b>{escape(x)}</b>; NaN results (failed fits) are left out "
        "and counted.</p>"
    ]
    for value in results:
        stats = group_stats(shots, x, value)
        counted = int(stats.get_column("count").cast(int).sum())
        skipped = shots.height - counted
        unit = known.get(value)
        head = f"{value} ({unit})" if unit else value
        rows = "".join(
            f'<tr><td class="num">{_number(row[0])}</td><td class="num">{_number(row[1])}</td>'
            f'<td class="num">{_number(row[2])}</td><td class="num">{row[3]}</td></tr>'
            for row in stats.iter_rows()
        )
        x_head = f"{x} ({known[x]})" if known.get(x) else x
        table = (
            f"<table><tr><th>{escape(x_head)}</th><th>mean</th><th>sem</th><th>n</th></tr>"
            f"{rows}</table>"
        )
        note = f' <span class="warn">({skipped} shots without a value)</span>' if skipped else ""
        parts.append(f"<h3>{escape(head)}{note}</h3>{_figure(stats, head)}{table}")
    return "".join(parts)


def _thumbnail(image: np.ndarray) -> str:
    from shotbook.ui._png import png_data_url

    data = np.asarray(image, dtype=np.float64)
    step = max(1, int(np.ceil(max(data.shape) / _THUMBNAIL)))
    data = data[::step, ::step]
    finite = data[np.isfinite(data)]
    low, high = np.percentile(finite, [1.0, 99.5]) if finite.size else (0.0, 1.0)
    scaled = np.clip((data - low) / (high - low if high > low else 1.0), 0.0, 1.0)
    grey = np.nan_to_num(scaled * 255.0).astype(np.uint8)
    return png_data_url(np.repeat(grey[:, :, None], 3, axis=2))


def _images(outcome: RunOutcome) -> str:
    import polars as pl

    shots = outcome.shots
    if shots is None or shots.height == 0:
        return ""
    figures = []
    for name in shots.columns:
        dtype = shots.schema[name]
        if not isinstance(dtype, pl.Array) or len(dtype.shape) != 2:
            continue
        stored = shots.filter(pl.col(name).is_not_null())
        if stored.height == 0:
            continue
        picks = sorted({0, stored.height - 1})
        for row in picks:
            index = stored.get_column("shot_index")[row]
            image = stored.get_column(name)[row].to_numpy()
            caption = f"{name}, shot {index}"
            figures.append(
                f'<figure><img alt="{escape(caption)}" src="{_thumbnail(image)}">'
                f"<figcaption>{escape(caption)}</figcaption></figure>"
            )
    return "".join(figures)


def _table(outcome: RunOutcome) -> str:
    import polars as pl

    shots = outcome.shots
    if shots is None:
        return f"<p>The shots could not be read: {escape(outcome.shots_error or '')}</p>"
    if shots.height == 0:
        return ""
    scalar = [
        name
        for name in shots.columns
        if not isinstance(shots.schema[name], pl.Array | pl.List | pl.Struct)
        and name not in ("sequence", "end_time")
    ]
    failed_columns = [name for name in scalar if name.endswith(".failed")]
    head = "".join(f"<th>{escape(name)}</th>" for name in scalar)
    rows = []
    for row in shots.select(scalar).head(_MAX_TABLE_ROWS).iter_rows(named=True):
        bad = any(row[name] for name in failed_columns)
        cells = "".join(f'<td class="num">{_number(row[name])}</td>' for name in scalar)
        rows.append(f'<tr class="{"bad" if bad else ""}">{cells}</tr>')
    more = ""
    if shots.height > _MAX_TABLE_ROWS:
        more = f"<p>First {_MAX_TABLE_ROWS} of {shots.height} shots.</p>"
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def render_report(outcome: RunOutcome) -> str:
    """The report of ``outcome`` as one self-contained HTML page."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    state = "finished" if outcome.ok else "FAILED"
    if outcome.summary is not None and outcome.summary.state == "interrupted":
        state = "interrupted"
    banner = '<div class="ok"><b>The sequence ran to its end.</b></div>' if outcome.ok else ""
    body = [
        f"<h1>shotbook run: {escape(outcome.sequence)} — {escape(state)}</h1>",
        f"<p>{escape(outcome.reference)} · report written {now}</p>",
        _section_inline(lambda: _failure_block(outcome)) or banner,
        _section("Run summary", lambda: _summary_block(outcome)),
        _section("Per-shot analyses", lambda: _failed_analyses(outcome)),
        _section("Results over the scan", lambda: _statistics(outcome)),
        _section("Pictures (first and last shot)", lambda: _images(outcome)),
        _section("Shots", lambda: _table(outcome)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>shotbook run {escape(outcome.sequence)}</title><style>{_STYLE}</style></head>"
        f"<body>\n{''.join(body)}</body></html>\n"
    )


def _section_inline(build: Callable[[], str]) -> str:
    try:
        return build()
    except Exception as error:
        return f'<div class="failure">{escape(type(error).__name__)}: {escape(str(error))}</div>'
