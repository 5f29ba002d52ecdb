"""The report's method card: how each check is computed and judged, with the limits in force."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark_synth.validation.plots import esc

if TYPE_CHECKING:
    from pyspark_synth.validation.result import ValidationResult

__all__ = ["method_section"]


def method_section(result: ValidationResult) -> str:
    """The report's "How to read this report" card: what each check measures and its limit."""
    t = result.thresholds
    s = result.settings
    items = [
        f"<b>Numerical and datetime columns</b>: two-sample Kolmogorov–Smirnov statistic from both CDFs on a shared "
        f"grid (the distinct values of {esc(s.get('bins', 200))}-quantiles of the union, min and max included; "
        "rows on a grid value are counted exactly, the others per interval). The statistic on the grid is a lower "
        "bound of the exact one, which is at most the grid statistic plus the reported bound (the largest CDF gap "
        "an interval can hide, at most the largest interval mass); columns with few distinct values are exact. "
        f"Passes when KS &lt; {t.ks}. The asymptotic p-value is shown but not judged: at "
        "these sizes any visible difference is significant. Nulls are left out.",
        f"<b>Categorical and boolean columns</b>: total variation distance of the category frequencies among the "
        f"non-null values of each side (nulls left out, as SDMetrics' TVComplement does). Passes when TVD &lt; "
        f"{t.tvd}. The TVD with null as one more category is kept as the <code>tvd_with_nulls</code> row.",
        f"<b>Null shares</b>: |null share of synthetic − null share of real| per column, checked apart from the "
        f"shapes (it is the TVD of the null / not-null split, on the same scale); passes when &lt; {t.null_share}. "
        "Not part of the score, so the score stays comparable with SDMetrics' Quality report.",
        f"<b>Pairs</b>: two numerical columns by |Δ Pearson|, passes when &lt; {t.corr}; a pair with a categorical "
        f"column by the TVD of its joint frequencies (1 − contingency similarity; numerical columns in 10 "
        f"equal-width bins, categories beyond the top {esc(s.get('max_categories', 20))} as “other”), passes "
        f"when &lt; {t.contingency}. Its |Δ Cramér's V| is shown (and drawn in the heatmap) but not judged: "
        "<i>n/a</i>.",
        f"<b>Relationships</b>: KS of the children-per-parent distribution (childless parents included) &lt; "
        f"{t.child_count_ks}; orphan rows ≤ {t.orphans:g}; duplicate primary keys ≤ {t.duplicate_keys:g}.",
        f"<b>Privacy</b>: exact copies of real rows over full tables (hash semi-join) ≤ {t.exact_copy_rate:.1%} above "
        f"the holdout's own rate; distance to closest real record on ≤ {esc(s.get('sample_rows', 5000))} rows a side "
        f"(standardised numbers, one-hot categories); the synthetic median must be ≥ {t.dcr_ratio_min} × the "
        "holdout's. With a holdout, on equal-sized samples of training and holdout rows: the <b>DCR share</b>, the "
        "share of synthetic rows closer to a training row than to a holdout row (50% is ideal, ties count half), "
        f"passes when &lt; {t.dcr_share:.0%}; and a <b>membership-inference</b> attack that calls a row a training "
        "member when a synthetic row is close to it, scored by its ROC AUC (0.5: membership cannot be told), "
        f"passes when &lt; {t.membership_auc}. <b>Lookup tables</b> (named in <code>lookup_tables</code>, or "
        f"referenced by a foreign key, with at most {esc(s.get('lookup_max_rows', 100))} real rows, each compared "
        "column unique (each row its own label; a date stamp the same on every row left out)) are copied by "
        "design: their privacy "
        "checks are shown, not judged.",
        f"<b>Detection</b>: per table, a gradient-boosted classifier (Spark ML GBTClassifier, "
        f"{esc(s.get('detection_trees', 10))} trees) learns to tell synthetic rows from real ones on at most "
        f"{esc(s.get('detection_rows', 2000))} rows of each side; each parent row carries its children's count "
        "and numerical means, keys and ids are dropped (as in the SyntheRela benchmark). The score is the mean "
        f"held-out accuracy of a {esc(s.get('detection_folds', 5))}-fold cross-validation (0.5: "
        f"indistinguishable); passes when &lt; {t.detection_accuracy}. Not part of the score.",
        "<b>Score</b>: mean of column shapes (1 − KS, 1 − TVD), pair trends (1 − |Δ Pearson|/2, contingency "
        "similarity, nulls counted as a category as in SDMetrics) and cardinality (1 − children-per-parent KS), "
        "each averaged first. A check shows <i>n/a</i> when its value cannot be computed (an empty side).",
    ]
    return (
        '<section class="card"><div class="head"><h2>How to read this report</h2></div><ul class="method">'
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ul></section>"
    )
