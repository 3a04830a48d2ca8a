"""`python -m ocr.eval_dupes`: the duplicate and claim-decision benchmark on same-shop receipts.

Distinct receipts of a few shops (each shop one printed layout, numbers in sequence; clean
scans and phone photos), re-submitted copies of some (exact, re-encoded, resized, cropped,
rotated, brightness, photographed again) and edited copies (total or date redrawn) are
scanned and submitted in order. Each is judged as the claims job does: `verify_receipt`
plus `ocr.duplicates` against every earlier submission (image matching against the same
shop's receipts). Reported: per-shop field accuracy, copies caught, distinct receipts
flagged or rejected, edits caught, wrong and automatic decisions, latency and RSS. Sizes are
parameters: the issue's full benchmark is `--shops 10 --per-shop 100 --copies 20`.
"""

from __future__ import annotations

import datetime as dt
import resource
import statistics
import time
from collections import defaultdict
from typing import Literal

import click
import msgspec

from ocr.duplicates import Finding, PriorReceipt, compare, out_of_sequence, receipt_keys
from ocr.imagematch import match_features
from ocr.receipt import ReceiptScan
from ocr.scan import init_worker, scan_receipt
from ocr.synth import SynthLabels
from ocr.synth_shops import COPY_KINDS, copy_of, edited_copy, make_shop, shop_receipt
from ocr.textnorm import compact
from ocr.verify import ClaimExpectations, verify_receipt

Truth = Literal["genuine", "copy", "edited"]
Outcome = Literal["approve", "review", "reject"]


class Case(msgspec.Struct, kw_only=True):
    """One submission: what it truly is, its labels and image, and what was decided."""

    truth: Truth
    kind: str
    shop: int
    labels: SynthLabels
    image: bytes
    scan: ReceiptScan | None = None
    outcome: Outcome = "review"
    codes: list[str] = msgspec.field(default_factory=list[str])


def build_cases(shops: int, per_shop: int, copies: int, edits: int, seed: int) -> list[Case]:
    """Distinct receipts first (in shop order), then copies and edits of some of them."""
    cases: list[Case] = []
    for s in range(shops):
        shop = make_shop(s)
        for i in range(per_shop):
            receipt = shop_receipt(shop, i, seed=seed, photo=i % 2 == 1)
            kind = "photo" if i % 2 else "scan"
            cases.append(
                Case(truth="genuine", kind=kind, shop=s, labels=receipt.labels, image=receipt.image)
            )
    genuine = list(cases)
    for n in range(copies):
        source = genuine[(n * 7) % len(genuine)]
        shop = make_shop(source.shop)
        receipt = shop_receipt(
            shop, _index(source, genuine), seed=seed, photo=source.kind == "photo"
        )
        kind = COPY_KINDS[n % len(COPY_KINDS)]
        image = copy_of(receipt, shop, kind, seed=seed * 1000 + n)
        cases.append(
            Case(truth="copy", kind=kind, shop=source.shop, labels=source.labels, image=image)
        )
    for n in range(edits):
        source = genuine[(n * 5 + 3) % len(genuine)]
        shop = make_shop(source.shop)
        receipt = shop_receipt(
            shop, _index(source, genuine), seed=seed, photo=source.kind == "photo"
        )
        kind = ("total", "date")[n % 2]
        labels, image = edited_copy(receipt, shop, kind, seed=seed * 1000 + n)
        cases.append(
            Case(truth="edited", kind=f"edit-{kind}", shop=source.shop, labels=labels, image=image)
        )
    return cases


def _index(case: Case, genuine: list[Case]) -> int:
    same_shop = [c for c in genuine if c.shop == case.shop]
    return same_shop.index(case)


def _judge(case: Case, earlier: list[Case], uploaded: dt.date) -> None:
    scan = case.scan
    assert scan is not None
    window = (case.labels.date - dt.timedelta(days=400), uploaded)
    verdict = verify_receipt(
        scan, ClaimExpectations(window_start=window[0], window_end=window[1], min_total=1)
    )
    findings: list[Finding] = []
    key = receipt_keys(scan.fields).merchant
    for other in earlier:
        if other.scan is None:
            continue
        prior = PriorReceipt(claim=str(id(other)), receipt="", fields=other.scan.fields)
        image = None
        same_shop = key is not None and receipt_keys(other.scan.fields).merchant == key
        if same_shop and scan.image_features and other.scan.image_features:
            image = match_features(scan.image_features, other.scan.image_features)
        finding = compare(scan.fields, prior, image)
        if finding is not None:
            findings.append(finding)
    priors = [
        PriorReceipt(claim="", receipt="", fields=o.scan.fields)
        for o in earlier
        if o.scan is not None
    ]
    sequence = out_of_sequence(scan.fields, priors)
    findings += [sequence] if sequence is not None else []
    severities = {f.severity for f in findings} | {r.severity for r in verdict.reasons}
    case.codes = sorted(
        {f.code for f in findings} | {r.code for r in verdict.reasons if r.severity != "info"}
    )
    case.outcome = (
        "reject" if "reject" in severities else "review" if "review" in severities else "approve"
    )


def _field_accuracy(cases: list[Case]) -> dict[tuple[int, str], dict[str, float]]:
    table: dict[tuple[int, str], dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for case in cases:
        if case.truth != "genuine" or case.scan is None:
            continue
        fields, labels = case.scan.fields, case.labels
        row = table[(case.shop, case.kind)]
        row["merchant"].append(compact(fields.merchant or "") == compact(labels.merchant))
        row["date"].append(fields.date == labels.date)
        row["receipt_no"].append(fields.receipt_no == labels.receipt_no)
        row["total"].append(fields.total == labels.total)
    return {k: {f: sum(v) / len(v) for f, v in row.items()} for k, row in table.items()}


def _print_report(cases: list[Case], times: list[int]) -> None:
    def share(selected: list[Case], outcomes: set[str]) -> str:
        hit = sum(c.outcome in outcomes for c in selected)
        return f"{hit}/{len(selected)} ({100 * hit / max(len(selected), 1):.1f} %)"

    genuine = [c for c in cases if c.truth == "genuine"]
    copies = [c for c in cases if c.truth == "copy"]
    edits = [c for c in cases if c.truth == "edited"]
    click.echo("field accuracy on distinct receipts, per shop template and capture:")
    for (shop, kind), row in sorted(_field_accuracy(cases).items()):
        cells = "  ".join(f"{name} {value * 100:5.1f} %" for name, value in row.items())
        click.echo(f"  shop {shop} ({make_shop(shop).merchant}, {kind}): {cells}")
    flagged_dup = [c for c in genuine if any(code in _DUP_CODES for code in c.codes)]
    click.echo(f"copies caught (review or reject): {share(copies, {'review', 'reject'})}")
    click.echo(f"copies auto-rejected:             {share(copies, {'reject'})}")
    for kind in COPY_KINDS:
        of_kind = [c for c in copies if c.kind == kind]
        if of_kind:
            click.echo(f"  {kind:<11} caught {share(of_kind, {'review', 'reject'})}")
    click.echo(f"edited copies caught:             {share(edits, {'review', 'reject'})}")
    click.echo(
        f"distinct receipts flagged as duplicates: {len(flagged_dup)}/{len(genuine)} "
        f"({100 * len(flagged_dup) / max(len(genuine), 1):.2f} %)"
    )
    click.echo(f"distinct receipts auto-rejected:  {share(genuine, {'reject'})}")
    click.echo(f"distinct receipts approved:       {share(genuine, {'approve'})}")
    automatic = [c for c in cases if c.outcome != "review"]
    wrong = [c for c in automatic if (c.truth == "genuine") != (c.outcome == "approve")]
    click.echo(
        f"claims: automatic {len(automatic)}/{len(cases)} "
        f"({100 * len(automatic) / max(len(cases), 1):.1f} %), wrong automatic {len(wrong)} "
        f"({100 * len(wrong) / max(len(cases), 1):.2f} %)"
    )
    reviewed: defaultdict[str, int] = defaultdict(int)
    for case in genuine:
        if case.outcome != "approve":
            for code in case.codes:
                reviewed[code] += 1
    click.echo(f"  why distinct receipts were not approved: {dict(reviewed)}")
    ordered = sorted(times) or [0]
    click.echo(
        f"latency per receipt (scan + checks): median {statistics.median(ordered):.0f} ms, "
        f"p95 {ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]:.0f} ms, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


_DUP_CODES = {
    "duplicate_content",
    "duplicate_edited",
    "possible_duplicate",
    "image_matches_earlier",
    "number_out_of_sequence",
}


@click.command()
@click.option("--shops", default=3, show_default=True, help="Shops (printed layouts), up to 10.")
@click.option("--per-shop", default=6, show_default=True, help="Distinct receipts per shop.")
@click.option("--copies", default=14, show_default=True, help="Re-submitted copies.")
@click.option("--edits", default=6, show_default=True, help="Edited copies.")
@click.option("--seed", default=11, show_default=True)
def main(shops: int, per_shop: int, copies: int, edits: int, seed: int) -> None:
    """Print the duplicate and decision benchmark on same-shop receipts."""
    cases = build_cases(shops, per_shop, copies, edits, seed)
    init_worker("rapidocr")
    times: list[int] = []
    uploaded = dt.date(2027, 1, 1)
    for index, case in enumerate(cases):
        started = time.perf_counter()
        case.scan = scan_receipt(case.image)
        _judge(case, cases[:index], uploaded)
        times.append(round((time.perf_counter() - started) * 1000))
    click.echo(
        f"receipts={len(cases)} (shops={shops}, per shop={per_shop}, copies={copies}, "
        f"edits={edits}, seed={seed})"
    )
    _print_report(cases, times)


if __name__ == "__main__":
    main()
