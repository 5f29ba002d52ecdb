"""The privacy rows of one table: exact copies, distances to closest records, DCR share, membership inference."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark_synth.validation.privacy_metrics import dcr_summary, exact_copy_counts, privacy_sample
from pyspark_synth.validation.result import MetricRow, Thresholds

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pyspark_synth.validation.kinds import ColumnKind

__all__ = ["privacy_rows"]


def privacy_rows(
    table: str,
    cols: list[ColumnKind],
    stacked: DataFrame,
    profile: dict[str, Any],
    freqs: list[dict[str, Any]],
    th: Thresholds,
    opts: dict[str, Any],
    has_holdout: bool,
) -> tuple[list[MetricRow], dict[str, Any]]:
    """The privacy metric rows of one table and their report data (see privacy_metrics.py): exact
    copies, distances to closest records and, with a holdout, the DCR share and the
    membership-inference AUC. A lookup table's (`opts["lookup"]`) rows are reported, not judged."""
    n_r, n_s, n_h = profile["n"]
    lookup = opts.get("lookup")
    excused = f"lookup table ({lookup}): copied by design, reported but not judged. " if lookup else ""

    def judged(row: MetricRow) -> MetricRow:
        if not lookup or row.passed is None:
            return row
        return MetricRow(row.table, row.kind, row.name, row.metric, value=row.value, real=row.real,
                         synthetic=row.synthetic, score=row.score, detail=excused + (row.detail or ""))

    copies = exact_copy_counts(stacked, len(cols))
    rate_s = copies.get(1, 0) / n_s
    rate_h = copies.get(2, 0) / n_h if has_holdout and n_h else None
    limit = th.exact_copy_rate + (rate_h or 0.0)
    rows = [judged(MetricRow(table, "privacy", "*", "exact_copy_rate", real=rate_h, synthetic=rate_s, value=rate_s,
                             threshold=limit, passed=rate_s <= limit,
                             detail="share of synthetic rows equal to a real row; real = the holdout's own share"))]
    sample = privacy_sample(stacked, [n_r, n_s, n_h], opts["sample_rows"], opts["seed"])
    dcr = dcr_summary(sample, cols, profile, freqs, seed=opts["seed"])
    med_s = (dcr.get("dcr_synthetic") or {}).get("median")
    med_h = (dcr.get("dcr_holdout") or {}).get("median")
    if med_h is not None and med_s is not None:
        ratio = med_s / med_h if med_h > 0 else (1.0 if med_s == 0 else float("inf"))
        rows.append(judged(MetricRow(table, "privacy", "*", "dcr_median_ratio", real=med_h, synthetic=med_s,
                                     value=ratio, threshold=th.dcr_ratio_min, passed=ratio >= th.dcr_ratio_min,
                                     detail="median distance to closest real record: synthetic / holdout")))
    else:
        rows.append(MetricRow(table, "privacy", "*", "dcr_median", synthetic=med_s, value=med_s,
                              detail="median distance to closest real record (no holdout to compare with)"))
    p05_s = (dcr.get("dcr_synthetic") or {}).get("p05")
    p05_h = (dcr.get("dcr_holdout") or {}).get("p05")
    rows.append(MetricRow(table, "privacy", "*", "dcr_p05", real=p05_h, synthetic=p05_s, value=p05_s))
    share = (dcr.get("dcr_share") or {}).get("share")
    if share is not None:
        rows.append(judged(MetricRow(
            table, "privacy", "*", "dcr_share", value=share, threshold=th.dcr_share, passed=share < th.dcr_share,
            score=1 - 2 * abs(share - 0.5),
            detail=f"share of synthetic rows closer to a training row than to a holdout row "
                   f"({dcr['dcr_share']['n_each']} rows of each; 0.5 is ideal)")))
    auc = (dcr.get("membership") or {}).get("auc")
    if auc is not None:
        rows.append(judged(MetricRow(
            table, "privacy", "*", "membership_auc", value=auc, threshold=th.membership_auc,
            passed=auc < th.membership_auc, score=1 - 2 * max(auc - 0.5, 0.0),
            detail="ROC AUC of guessing training membership from the distance to the closest synthetic row "
                   f"({dcr['membership']['n_members']} members, {dcr['membership']['n_non_members']} holdout "
                   "rows; 0.5: membership cannot be told)")))
    info = {"exact_copies": {"synthetic": copies.get(1, 0), "holdout": copies.get(2, 0) if has_holdout else None,
                             "rate_synthetic": rate_s, "rate_holdout": rate_h}, "lookup": lookup, **dcr}
    return rows, info
