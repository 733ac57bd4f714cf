"""Charts drawn on the server as SVG (no JavaScript), each with the table and CSV of the same
numbers, so what a screen reader reads and what a download holds are what the chart shows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from coop.insights.queries import Series, Window

MAX_LINES = 8  # more series are summed into "Other"
WIDTH, HEIGHT = 560, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 28


@dataclass(frozen=True)
class Line:
    label: str
    values: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Chart:
    """One chart: `counted` says exactly what a value counts (shown under the title)."""

    slug: str
    title: str
    counted: str
    window: Window
    lines: tuple[Line, ...]
    kind: str = "line"  # "line" or "bar" (bars: one per line, its total over the window)
    csv_path: str = ""  # where its CSV downloads ("": /insights/csv/<slug>)

    @property
    def empty(self) -> bool:
        return not any(line.total for line in self.lines)

    @property
    def bucket_labels(self) -> list[str]:
        return [bucket_label(b, self.window) for b in self.window.buckets()]

    @property
    def rows(self) -> list[tuple[str, list[int]]]:
        """The table view: one row per bucket, one column per line."""
        columns = [line.values for line in self.lines]
        return [(label, [c[i] for c in columns]) for i, label in enumerate(self.bucket_labels)]

    def table_html(self) -> SafeString:
        """The table view (built here, not in a template loop: a 90-day hourly chart has
        thousands of cells)."""
        bucket = "Day (UTC)" if self.window.bucket == "day" else "Hour (UTC)"
        head = "".join(
            f'<th scope="col" class="num">{escape(line.label)}</th>' for line in self.lines
        )
        body = "".join(
            f'<tr><th scope="row">{label}</th>'
            + "".join(f'<td class="num">{v}</td>' for v in values)
            + "</tr>"
            for label, values in self.rows
        )
        totals = "".join(f'<td class="num">{line.total}</td>' for line in self.lines)
        return mark_safe(  # noqa: S308 (labels escaped; the rest are numbers and dates)
            f'<table class="table"><caption class="visually-hidden">{escape(self.title)}: '
            f'{escape(self.counted)}</caption><thead><tr><th scope="col">{bucket}</th>{head}'
            f'</tr></thead><tbody>{body}</tbody><tfoot><tr><th scope="row">Total</th>'
            f"{totals}</tr></tfoot></table>"
        )

    def svg(self) -> SafeString:
        return bars_svg(self) if self.kind == "bar" else lines_svg(self)

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        if self.kind == "bar":
            writer.writerow([self.title, self.counted])
            writer.writerows([line.label, line.total] for line in self.lines)
        else:
            writer.writerow(["Bucket start (UTC)", *(line.label for line in self.lines)])
            for bucket, (_, values) in zip(self.window.buckets(), self.rows, strict=True):
                writer.writerow([bucket.isoformat(), *values])
        return out.getvalue()


def bucket_label(bucket: datetime, window: Window) -> str:
    return f"{bucket:%Y-%m-%d}" if window.bucket == "day" else f"{bucket:%Y-%m-%d %H:00}"


def lines_from(series: list[Series], label_of, limit: int = MAX_LINES) -> tuple[Line, ...]:
    """Lines for `series` (already largest first), the ones past `limit` summed as "Other"."""
    lines = [Line(label_of(s.key), s.values) for s in series[:limit]]
    rest = series[limit:]
    if rest:
        lines.append(
            Line("Other", tuple(sum(v) for v in zip(*(s.values for s in rest), strict=True)))
        )
    return tuple(lines)


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def _divisions(top: int) -> int:
    """Grid lines at whole numbers: 4 when the top divides by 4, else 5."""
    return 4 if top % 4 == 0 else 5


def _frame(chart: Chart, top: int) -> list[str]:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    divisions = _divisions(top)
    parts = [
        f'<svg class="chart__svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(chart.title)}: {escape(chart.counted)}; the table below holds '
        'the numbers" focusable="false">'
    ]
    for i in range(divisions + 1):
        y = PAD_TOP + plot_h * i / divisions
        value = top * (divisions - i) // divisions
        parts.append(
            f'<line class="chart__grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="chart__tick" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{value:,}</text>'
        )
    return parts


def lines_svg(chart: Chart) -> SafeString:
    buckets = chart.bucket_labels
    top = _nice_max(max((max(line.values, default=0) for line in chart.lines), default=0))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(len(buckets) - 1, 1)
    parts = _frame(chart, top)
    for position in sorted({0, len(buckets) // 2, len(buckets) - 1}):
        anchor = "start" if position == 0 else "end" if position == len(buckets) - 1 else "middle"
        parts.append(
            f'<text class="chart__tick" x="{PAD_LEFT + position * step:.1f}" '
            f'y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(buckets[position])}</text>'
        )
    for index, line in enumerate(chart.lines):
        points = " ".join(
            f"{PAD_LEFT + i * step:.1f},{PAD_TOP + plot_h * (1 - v / top):.1f}"
            for i, v in enumerate(line.values)
        )
        parts.append(
            f'<polyline class="chart__line chart__c{index % MAX_LINES + 1}" points="{points}">'
            f"<title>{escape(line.label)}: {line.total:,}</title></polyline>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)


def bars_svg(chart: Chart) -> SafeString:
    """Horizontal bars, one per line, of its total."""
    row_h = 22
    height = max(len(chart.lines), 1) * row_h + 8
    top = max((line.total for line in chart.lines), default=0) or 1
    label_w = 180
    plot_w = WIDTH - label_w - 70
    parts = [
        f'<svg class="chart__svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(chart.title)}: {escape(chart.counted)}; the table below holds '
        'the numbers" focusable="false">'
    ]
    for i, line in enumerate(chart.lines):
        y = 4 + i * row_h
        width = plot_w * line.total / top
        label = line.label if len(line.label) <= 30 else line.label[:29] + "…"
        parts.append(
            f'<text class="chart__label" x="{label_w - 8}" y="{y + 15}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="chart__bar chart__c{i % MAX_LINES + 1}" x="{label_w}" y="{y + 3}" '
            f'width="{width:.1f}" height="{row_h - 6}"><title>{escape(line.label)}: '
            f"{line.total:,}</title></rect>"
            f'<text class="chart__tick" x="{label_w + width + 6:.1f}" y="{y + 15}">'
            f"{line.total:,}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)
