"""`python -m ocr.eval`: per-field accuracy and latency on labelled synthetic receipts."""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import click
import msgspec

from ocr.engines import ENGINE_NAMES, EngineName, get_engine
from ocr.errors import OcrError
from ocr.receipt import ReceiptScan
from ocr.scan import init_worker, scan_receipt
from ocr.synth import SynthLabels, SynthReceipt, generate_set
from ocr.textnorm import compact

FIELDS = ("merchant", "date", "time", "receipt_no", "total", "currency", "items")


class FieldResult(msgspec.Struct, frozen=True, kw_only=True):
    """Per-field correctness of one scan."""

    correct: dict[str, bool]
    elapsed_ms: int
    error: str | None = None


class EvalReport(msgspec.Struct, frozen=True, kw_only=True):
    """Accuracy per field (0..1) and latency over a set of receipts."""

    count: int
    accuracy: dict[str, float]
    per_class: dict[str, dict[str, float]]  # "zh/supermarket" -> field -> accuracy
    median_ms: float
    p90_ms: float
    max_rss_mb: float
    failures: list[dict[str, Any]]


def _items_match(labels: SynthLabels, scan: ReceiptScan) -> bool:
    got = [(compact(i.name), i.qty, i.unit_price, i.amount) for i in scan.fields.items]
    want = [(compact(i.name), i.qty, i.unit_price, i.amount) for i in labels.items]
    return got == want


def score_scan(labels: SynthLabels, scan: ReceiptScan) -> dict[str, bool]:
    """Which fields of a scan equal the labels (names compared without spaces or case)."""
    fields = scan.fields
    return {
        "merchant": compact(fields.merchant or "") == compact(labels.merchant),
        "date": fields.date == labels.date,
        "time": (fields.time.replace(second=0) if fields.time else None) == labels.time,
        "receipt_no": (fields.receipt_no or None) == labels.receipt_no,
        "total": fields.total == labels.total,
        "currency": fields.currency == labels.currency,
        "items": _items_match(labels, scan),
    }


def evaluate(receipts: Sequence[SynthReceipt], engine: EngineName = "rapidocr") -> EvalReport:
    """Scan every receipt and compare with its labels."""
    reader = get_engine(engine)
    init_worker(engine)
    results: list[FieldResult] = []
    failures: list[dict[str, Any]] = []
    for index, receipt in enumerate(receipts):
        started = time.perf_counter()
        try:
            scan = scan_receipt(receipt.image, engine=reader)
        except OcrError as exc:
            results.append(
                FieldResult(correct=dict.fromkeys(FIELDS, False), elapsed_ms=0, error=exc.code)
            )
            continue
        elapsed = round((time.perf_counter() - started) * 1000)
        correct = score_scan(receipt.labels, scan)
        results.append(FieldResult(correct=correct, elapsed_ms=elapsed))
        wrong = [
            name for name, ok in correct.items() if not ok and name in {"date", "total", "merchant"}
        ]
        if wrong:
            failures.append(
                {
                    "index": index,
                    "wrong": wrong,
                    "want": {
                        "merchant": receipt.labels.merchant,
                        "date": str(receipt.labels.date),
                        "total": receipt.labels.total,
                    },
                    "got": {
                        "merchant": scan.fields.merchant,
                        "date": str(scan.fields.date),
                        "total": scan.fields.total,
                    },
                    "lines": [line.text for line in scan.lines],
                }
            )
    times = sorted(r.elapsed_ms for r in results if r.error is None) or [0]
    accuracy = {
        name: round(sum(r.correct[name] for r in results) / max(len(results), 1), 4)
        for name in FIELDS
    }
    return EvalReport(
        count=len(results),
        accuracy=accuracy,
        per_class=_per_class(receipts, results),
        median_ms=statistics.median(times),
        p90_ms=times[min(len(times) - 1, int(0.9 * len(times)))],
        max_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        failures=failures,
    )


def _per_class(
    receipts: Sequence[SynthReceipt], results: Sequence[FieldResult]
) -> dict[str, dict[str, float]]:
    """Accuracy per template class (language and store kind)."""
    groups: dict[str, list[FieldResult]] = {}
    for receipt, result in zip(receipts, results, strict=True):
        groups.setdefault(f"{receipt.labels.language}/{receipt.labels.store}", []).append(result)
    return {
        name: {f: round(sum(r.correct[f] for r in rs) / len(rs), 4) for f in FIELDS}
        for name, rs in sorted(groups.items())
    }


@click.command()
@click.option("--count", "-n", default=60, show_default=True, help="Number of receipts.")
@click.option("--seed", default=1, show_default=True, help="Seed of the generated set.")
@click.option("--clean", is_flag=True, help="Render without phone-photo degradations.")
@click.option("--engine", type=click.Choice(ENGINE_NAMES), default="rapidocr", show_default=True)
@click.option("--show-failures", is_flag=True, help="Print the text of misread receipts.")
def main(count: int, seed: int, clean: bool, engine: EngineName, show_failures: bool) -> None:
    """Print per-field accuracy and latency on a generated, labelled receipt set."""
    # Generate in a child process so that the RSS printed below is the scanner's alone.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        receipts = pool.submit(generate_set, count, seed=seed, degrade=not clean).result()
    report = evaluate(receipts, engine)
    kind = "clean" if clean else "degraded"
    click.echo(f"engine={engine} receipts={report.count} ({kind}, seed={seed})")
    for name, value in report.accuracy.items():
        click.echo(f"  {name:<11} {value * 100:6.1f} %")
    for name, row in report.per_class.items():
        cells = " ".join(f"{f} {v * 100:.0f}%" for f, v in row.items() if f != "currency")
        click.echo(f"  {name:<16} {cells}")
    click.echo(f"  latency     median {report.median_ms:.0f} ms, p90 {report.p90_ms:.0f} ms")
    click.echo(f"  peak RSS    {report.max_rss_mb:.0f} MB (this process: engine and scans)")
    if show_failures:
        for failure in report.failures:
            click.echo(msgspec.json.encode(failure).decode(), file=sys.stderr)


if __name__ == "__main__":
    main()
