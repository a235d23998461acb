"""The /progress picture: minutes walked per day against the target, and the pain line (PNG)."""

from __future__ import annotations

import io
from datetime import date


def progress_png(
    days: list[date],
    minutes: list[int],
    pain: list[float | None],
    target: int,
    labels: dict[str, str],
) -> bytes:
    """A small two-axis chart; the same inputs give the same picture.

    Runs in a worker thread (handlers render it after their commit, off the event loop), so it
    uses matplotlib's object API only: no pyplot, no global figure state shared between calls.
    """
    # Imported here: matplotlib costs about 56 MB and 1 s (the first chart; then about 0.2 s a
    # chart), paid only by the first /progress.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.subplots()
    x = list(range(len(days)))
    ax.bar(x, minutes, color="#4c9f70", label=labels["minutes"])
    ax.axhline(target, color="#e0a030", linestyle="--", label=labels["target"])
    ax.set_ylabel(labels["minutes"])
    ax.set_ylim(0, max([target, *minutes]) * 1.25 + 1)
    ticks = x[::7]
    ax.set_xticks(ticks, [days[i].strftime("%d.%m.") for i in ticks])
    ax2 = ax.twinx()
    px = [i for i, p in zip(x, pain, strict=True) if p is not None]
    py = [p for p in pain if p is not None]
    ax2.plot(px, py, color="#c0392b", marker="o", label=labels["pain"])
    ax2.set_ylim(0, 10)
    ax2.set_ylabel(labels["pain"])
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="upper left", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    canvas.print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()
