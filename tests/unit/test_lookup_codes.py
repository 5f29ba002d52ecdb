"""Children per code of a learned lookup key: the fewest moves that bring every code into the real range."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pyspark_synth.errors import SerializationError
from pyspark_synth.spark.lookup_copies import code_targets
from pyspark_synth.spec import LearnedKey, TableSpec


@pytest.mark.parametrize("drawn, low, high", [
    ([0, 0, 5, 40, 3], 1, 20),       # two codes never drawn, one above the range
    ([100, 1, 1, 1], 2, 50),         # one code holds almost everything
    ([7, 7, 7], 1, 30),              # already inside: nothing moves
    ([0, 0, 0, 90], 10, 60),
    ([3, 1, 0, 0, 0, 0, 0, 0, 12], 1, 4),
])
def test_every_code_ends_in_the_range_with_the_total_kept_and_the_fewest_moves(drawn, low, high):
    drawn = np.array(drawn)
    out = code_targets(drawn, low, high)
    assert out.sum() == drawn.sum() and out.min() >= low and out.max() <= high
    inside = np.clip(drawn, low, high)
    # a code moves only as far as the range (or the other codes' balance) needs
    need = max(np.maximum(drawn - high, 0).sum(), np.maximum(low - drawn, 0).sum())
    assert np.abs(out - drawn).sum() <= 2 * need
    if (inside == drawn).all():
        assert (out == drawn).all()


def test_a_range_the_total_cannot_fill_is_widened_to_what_it_allows():
    few = code_targets(np.array([0, 0, 6, 0]), 3, 10)  # 6 rows cannot give 4 codes 3 each
    assert few.sum() == 6 and few.min() >= 1 and few.max() <= 10
    many = code_targets(np.array([50, 50, 0]), 0, 10)  # 100 rows cannot fit 3 codes of 10 at most
    assert many.sum() == 100 and many.max() == 34 and many.min() >= 32
    assert code_targets(np.array([], dtype=np.int64), 1, 2).size == 0


def test_a_code_of_no_real_child_keeps_none_and_gives_any_it_was_drawn():
    used = np.array([True, False, True, True, False])
    out = code_targets(np.array([10, 0, 3, 50, 4]), 2, 30, used)
    assert out.sum() == 67 and out[~used].sum() == 0
    assert out[used].min() >= 2 and out[used].max() <= 30
    # left out of the range: two unused codes do not pull `low` down nor take the balance
    assert (code_targets(np.array([40, 0, 0, 5]), 2, 30, np.array([True, True, False, True])) == [30, 4, 0, 11]).all()


def test_a_learned_key_keeps_its_codes_and_counts_through_json_and_reads_the_older_form():
    key = LearnedKey(columns=("genre_id",), codes=((1,), (2,), (3,)), children=(1, 0, 300))
    assert LearnedKey.model_validate_json(key.model_dump_json()) == key
    old = LearnedKey.model_validate(["genre_id"])  # how the first version-3 specs wrote it
    assert old.columns == ("genre_id",) and old.codes == () and old.children == ()
    with pytest.raises(ValueError, match="3 codes but 2 child counts"):
        LearnedKey(columns=("genre_id",), codes=((1,), (2,), (3,)), children=(1, 2))
    with pytest.raises(ValueError, match="one value per key column"):
        LearnedKey(columns=("a", "b"), codes=((1,),), children=(1,))


def test_a_spec_with_a_learned_key_round_trips_and_refuses_a_key_column_it_lacks():
    from tests.unit.test_spec import _orders

    spec = _orders().model_copy(update={"learned_keys": (
        LearnedKey(columns=("product_id",), codes=(("p1",), ("p2",)), children=(4, 9)),)})
    data = json.loads(spec.to_json())
    again = TableSpec.from_dict(data)
    assert again.learned_keys == spec.learned_keys
    data["learned_keys"] = [["product_id"]]  # the older form still reads
    assert TableSpec.from_dict(data).learned_keys[0].columns == ("product_id",)
    data["learned_keys"] = [{"columns": ["genre_id"], "codes": [[1]], "children": [3]}]
    with pytest.raises(SerializationError, match="genre_id"):
        TableSpec.from_dict(data)
