"""The red-flag detector's cost: latency per message and the memory the learned layer adds.

Run in its own process (``python -m bench.triage``) so its RSS is its own; prints one JSON line.
Messages are the training bank's of up to 300 characters, sampled evenly (the bar is p95
<= 100 ms for a message of up to 300 characters, at most +150 MB RSS); their mean length is
printed with the figures. The baseline is the
lexicon alone, measured in the same process.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def messages(n: int) -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "training" / "bank").glob("*.jsonl")):
        texts += [
            json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()
        ]
    texts = [t for t in texts if len(t) <= 300]
    return texts[:: max(1, len(texts) // n)][:n]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from bot.detector import Detector, lexicon_everywhere

    sample = messages(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
    langs = ("en", "de")
    lexicon_everywhere("warm up", langs)
    base_rss = rss_mb()
    lexicon_ms = []
    for text in sample:
        started = time.perf_counter()
        lexicon_everywhere(text, langs)
        lexicon_ms.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    detector = Detector.load_sync(embeddings=True)
    load_s = time.perf_counter() - started
    layer_ms = []
    for text in sample:
        started = time.perf_counter()
        detector.assess_sync(text, langs)
        layer_ms.append((time.perf_counter() - started) * 1000)
    print(
        json.dumps(
            {
                "mode": detector.mode,
                "messages": len(sample),
                "mean_chars": round(statistics.mean(len(t) for t in sample)),
                "load_s": round(load_s, 3),
                "rss_added_mb": round(rss_mb() - base_rss, 1),
                "layer_p50_ms": round(statistics.median(layer_ms), 2),
                "layer_p95_ms": round(percentile(layer_ms, 0.95), 2),
                "lexicon_p50_ms": round(statistics.median(lexicon_ms), 3),
                "lexicon_p95_ms": round(percentile(lexicon_ms, 0.95), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
