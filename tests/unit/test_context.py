"""Parent context chosen by measured dependence: normalised mutual information, bias-corrected."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pyspark_synth.relational.context import COUNT_TARGET, discretise, normalised_mi, rank_context


def test_normalised_mi_is_one_for_a_function_and_near_zero_for_noise():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 5000)
    assert normalised_mi(a, a * 2 + 1) == 1.0
    assert normalised_mi(a, rng.integers(0, 5, 5000)) < 0.01


def test_discretise_bins_numbers_and_dates_and_keeps_nulls_apart():
    x = pd.Series(pd.date_range("2000-01-01", periods=100, freq="D")).astype(object)
    x[3] = None
    codes = discretise(pd.to_datetime(x))
    assert codes[3] == -1 and len(set(codes)) == 11  # 10 quantile bins and the null code


def test_a_date_that_decides_the_child_is_chosen_before_columns_that_tell_nothing():
    rng = np.random.default_rng(1)
    n = 3000
    signup = pd.Series(pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D"))
    rows = pd.DataFrame({f"noise{i}": rng.choice(list("abc"), n) for i in range(6)})
    rows["signup"] = signup
    rows["amount"] = (signup.dt.year - 2015) * 10.0 + rng.normal(0, 2, n)
    rows["channel"] = rng.choice(["web", "store"], n)
    parents = rows[[f"noise{i}" for i in range(6)] + ["signup"]].copy()
    parents[COUNT_TARGET] = rng.poisson(3, n)
    chosen, scores = rank_context(rows, parents, [*(f"noise{i}" for i in range(6)), "signup"], ["amount", "channel"])
    assert chosen == ("signup",)
    assert scores[0].column == "signup" and scores[0].target == "amount" and scores[0].score > 0.3
    assert all(s.score < 0.02 for s in scores[1:])


def test_a_column_that_decides_the_number_of_children_is_chosen():
    rng = np.random.default_rng(2)
    n = 2000
    segment = rng.choice(["gold", "basic"], n)
    parents = pd.DataFrame({"segment": segment, "region": rng.choice(list("nsew"), n),
                            COUNT_TARGET: np.where(segment == "gold", rng.poisson(8, n), rng.poisson(1, n))})
    rows = pd.DataFrame({"segment": rng.choice(["gold", "basic"], n), "region": rng.choice(list("nsew"), n),
                         "x": rng.normal(size=n)})
    chosen, scores = rank_context(rows, parents, ["segment", "region"], ["x"])
    assert chosen == ("segment",) and scores[0].target == COUNT_TARGET


def test_a_grandparent_column_the_parent_already_carries_is_left_out_and_one_it_does_not_enters():
    from pyspark_synth.relational.context import PARENT

    rng = np.random.default_rng(2)
    n = 3000
    grade = rng.integers(0, 5, n)
    rows = pd.DataFrame({"grade": grade, "gp__grade": grade * 10, "gp__lat": rng.uniform(0, 60, n),
                         PARENT: np.arange(n)})
    rows["y"] = rows.grade + rng.normal(0, 0.3, n)
    rows["z"] = 2 * rows.gp__lat + rng.normal(0, 1, n)
    chosen, _ = rank_context(rows, None, ["grade", "gp__grade", "gp__lat"], ["y", "z"],
                             inherited=["gp__grade", "gp__lat"])
    assert set(chosen) == {"grade", "gp__lat"}  # gp__grade is a copy of grade
    chosen, _ = rank_context(rows, None, ["grade", "gp__grade", "gp__lat"], ["y", "z"])
    assert set(chosen) == {"grade", "gp__grade", "gp__lat"}  # not named as inherited: scored alone
