"""PII detection: the per-kind precision/recall table on the labelled Faker set, look-alikes, rules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pyspark_synth import Metadata, PIIRule, PrivacyError
from pyspark_synth.privacy import (
    KINDS,
    apply_rules_to_metadata,
    detect_pii_pandas,
    detections_to_pandas,
    rules_from_detection,
)
from pyspark_synth.privacy._kinds import (
    iban_ok,
    is_credit_card,
    is_iban,
    is_ip,
    is_phone,
    luhn_ok,
    name_cues,
)
from pyspark_synth.privacy.labelled import (
    LOCALES,
    build_labelled_tables,
    evaluate_detector,
    format_scores,
)


@pytest.fixture(scope="module")
def scored():
    tables = build_labelled_tables(rows=80, seed=7)
    return tables, *evaluate_detector(tables)


def test_precision_and_recall_per_kind(scored):
    tables, scores, mistakes = scored
    n_cols = sum(len(t.labels) for t in tables)
    print(f"\nPII detection, column level ({len(tables)} tables, {n_cols} columns, locales {', '.join(LOCALES)})")
    print(format_scores(scores))
    for m in mistakes:
        print("  mistake:", m)
    assert set(scores.kind) == set(KINDS)
    assert (scores.support > 0).all()
    assert (scores.precision >= 0.95).all(), scores
    assert (scores.recall >= 0.95).all(), scores


def test_test_set_covers_locales_variants_and_look_alikes(scored):
    tables, _, _ = scored
    assert {t.locale for t in tables} >= {"en_US", "de_DE", "fr_FR", "ja_JP", "pt_BR", "es_ES"}
    opaque = [t for t in tables if t.variant == "opaque"]
    assert opaque and all(all(c.startswith("col_") for c in t.labels) for t in opaque)
    negatives = sum(1 for t in tables for k in t.labels.values() if k is None)
    assert negatives >= 100


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert is_credit_card("4111 1111 1111 1111") and not is_credit_card("4111 1111 1111 1112")
    assert iban_ok("DE89370400440532013000") and is_iban("GB82 WEST 1234 5698 7654 32")
    assert not is_iban("DE89370400440532013001")
    assert is_ip("192.168.0.1") and is_ip("2001:db8::1") and not is_ip("1.2.3") and not is_ip("00:1A:2B:3C:4D:5E")
    assert is_phone("+49 30 1234567") and is_phone("(555) 123-4567") and not is_phone("2024-01-15")
    assert not is_phone("2024-000123")


def test_name_cues_and_owner_words():
    assert name_cues("customerEmail")[0] == {"email": "email"}
    assert "person_name" not in name_cues("product_name")[0]
    assert name_cues("product_name")[1] == "product"
    assert name_cues("Geburtsdatum")[0] == {"date_of_birth": "geburtsdatum"}


def test_look_alikes_in_one_frame_are_not_pii():
    n = 60
    pdf = pd.DataFrame({
        "col_1": [f"ORD-{100000 + i}" for i in range(n)],
        "col_2": [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(n)],
        "col_3": [f"{i * 13.7:.2f}" for i in range(n)],
        "col_4": [f"{i:05d}" for i in range(n)],  # postal-looking but sequential and no address around
        "col_5": [f"4{i:015d}" for i in range(n)],  # 16 digits, mostly failing Luhn
    })
    assert detect_pii_pandas(pdf) == []


def test_results_as_frame_rules_and_metadata():
    pdf = pd.DataFrame({"email": [f"user{i}@example.com" for i in range(30)], "amount": range(30),
                        "country": ["JP", "DE"] * 15})
    dets = detect_pii_pandas(pdf)
    assert [(d.column, d.kind, d.suggested_action) for d in dets] == [("email", "email", "hash")]
    assert dets[0].confidence > 0.9 and dets[0].name_cue == "email" and "100% of 30" in dets[0].evidence
    frame = detections_to_pandas(dets)
    assert list(frame.columns)[:3] == ["column", "kind", "confidence"] and len(frame) == 1
    rules = rules_from_detection(dets, actions={"email": "fake"}, locale_column="country")
    assert rules == {"email": PIIRule(action="fake", kind="email", locale_column="country")}
    md = Metadata().add_table("users", pk=None, columns={"email": "text", "amount": "numerical", "country": "categorical"})
    md2 = apply_rules_to_metadata(md, "users", rules)
    assert md2.table("users").column("email").pii == rules["email"]
    assert md.table("users").column("email").pii is None  # the original is unchanged
    assert Metadata.from_json(md2.to_json()) == md2
    with pytest.raises(PrivacyError, match="has no column.*'nope'.*Known columns"):
        apply_rules_to_metadata(md, "users", {"nope": PIIRule(action="drop")})
    with pytest.raises(PrivacyError, match="table 'x' is not in the metadata"):
        apply_rules_to_metadata(md, "x", {})


def test_address_cue_is_not_taken_from_ip_or_email_address():
    assert name_cues("ip_address")[0] == {"ip_address": "ip"}
    assert name_cues("email_address")[0] == {"email": "email"}
    assert name_cues("home_address")[0] == {"street_address": "address"}
