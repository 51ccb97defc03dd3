"""Benchmark of pipelines.funding.detect_rounds: throughput on the labelled dev set and time on pathological inputs.

Usage: python benchmarks/detector.py [--labels PATH] [--repeat N] [--out FILE.json]

Single process. A warm-up pass, then N timed passes over every labelled item: articles per second is the median
pass (and the fastest pass, least disturbed by other load), per-article p50/p95/max are over all timed calls.
Each pathological input is timed as the median of 3 runs; the exit status is 1 when any takes over 100 ms (the
detector must run in linear time), else 0; 2 when the labels file is absent.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines.funding import detect_rounds  # noqa: E402 - needs ROOT on sys.path
from tests.support.pathological import PATHOLOGICAL  # noqa: E402

DEFAULT_LABELS = ROOT.parent / "shared" / "corpus" / "labels-dev.jsonl"
PATHOLOGICAL_LIMIT_MS = 100.0

Item = tuple[str, str | None, datetime.date | None]


def load(path: Path) -> list[Item]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            published = datetime.date.fromisoformat(row["published"]) if row.get("published") else None
            items.append((row["text"], row.get("title"), published))
    return items


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def time_corpus(items: list[Item], repeat: int) -> dict[str, float]:
    for text, title, published in items:  # warm-up: imports, regex caches
        detect_rounds(text, title, published)
    passes: list[float] = []
    calls_ms: list[float] = []
    cpu_start = time.process_time()
    for _ in range(repeat):
        pass_start = time.perf_counter()
        for text, title, published in items:
            start = time.perf_counter()
            detect_rounds(text, title, published)
            calls_ms.append((time.perf_counter() - start) * 1000)
        passes.append(time.perf_counter() - pass_start)
    cpu_s = time.process_time() - cpu_start
    return {
        "detect_articles_per_s": len(items) / statistics.median(passes),
        # the fastest pass is the one least disturbed by other work on the machine (timeit's convention)
        "detect_articles_per_s_best": len(items) / min(passes),
        "p50_ms": percentile(calls_ms, 50),
        "p95_ms": percentile(calls_ms, 95),
        "max_ms": max(calls_ms),
        "wall_s": sum(passes),
        "cpu_s": cpu_s,
    }


def time_pathological(runs: int = 5) -> dict[str, float]:
    """The fastest of `runs` calls per input: the input's own cost (whether it is linear), not the machine's
    load at that moment (a CI run beside other work once took a 67 ms input to 103 ms as a median of 3)."""
    out = {}
    for name, text in PATHOLOGICAL.items():
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            detect_rounds(text)
            times.append((time.perf_counter() - start) * 1000)
        out[name] = min(times)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="labelled JSONL (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the labels (default: 5)")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not args.labels.is_file():
        print(f"detector benchmark: labels file not found: {args.labels}", file=sys.stderr)
        return 2

    items = load(args.labels)
    figures: dict = {"items": len(items), "repeat": args.repeat, "python": platform.python_version()}
    figures |= time_corpus(items, args.repeat)
    figures["pathological_ms"] = time_pathological()
    figures["pathological_limit_ms"] = PATHOLOGICAL_LIMIT_MS
    slow = [name for name, ms in figures["pathological_ms"].items() if ms > PATHOLOGICAL_LIMIT_MS]
    figures["pathological_over_limit"] = slow

    print(f"detect_rounds on {len(items)} items x {args.repeat} passes (Python {figures['python']})")
    print(f"  {'articles/s (median pass)':<28}{figures['detect_articles_per_s']:>10.1f}")
    print(f"  {'articles/s (fastest pass)':<28}{figures['detect_articles_per_s_best']:>10.1f}")
    for key in ("p50_ms", "p95_ms", "max_ms"):
        print(f"  {'per-article ' + key.removesuffix('_ms') + ' ms':<28}{figures[key]:>10.2f}")
    print(f"  {'wall s / CPU s':<28}{figures['wall_s']:>10.2f} / {figures['cpu_s']:.2f}")
    print(f"pathological inputs (fastest of 5, limit {PATHOLOGICAL_LIMIT_MS:.0f} ms)")
    for name, ms in figures["pathological_ms"].items():
        print(f"  {name:<28}{ms:>10.2f}{'  OVER LIMIT' if name in slow else ''}")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
