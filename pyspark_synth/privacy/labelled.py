"""A labelled PII test set built with Faker (6 locales, look-alikes) and per-kind precision/recall.

Each locale gets two tables (`customers`, holding the personal data, and `orders`, holding only
non-PII look-alikes), each in two naming variants: "cue" (a meaningful, locale-flavoured column
name) and "opaque" (`col_0`, `col_1`, ... in shuffled order, so only the values can tell). Every
column is labelled with its kind, or None for look-alikes (order numbers, product codes, SKUs, ISO
dates, amounts, UUIDs, hashes, EAN codes, tracking numbers, company and country names, ...).
Scoring is per column. The data is Faker's, so the name and city recall measured here is an upper
bound for real data, where names outside Faker's lists rely on the column-name cue.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pyspark_synth.privacy._kinds import KINDS, luhn_ok
from pyspark_synth.seeds import derive_seed

__all__ = ["LOCALES", "LabelledTable", "build_labelled_tables", "evaluate_detector", "format_scores"]

LOCALES: tuple[str, ...] = ("en_US", "de_DE", "fr_FR", "ja_JP", "pt_BR", "es_ES")

_CUE_NAMES: dict[str, dict[str, str]] = {
    # kind-ish key -> locale -> column name ("*" is the default)
    "email": {"*": "email", "de_DE": "e_mail", "fr_FR": "courriel", "es_ES": "correo", "ja_JP": "メールアドレス"},
    "phone": {"*": "phone", "de_DE": "telefon", "fr_FR": "telephone", "pt_BR": "telefone", "es_ES": "telefono",
              "ja_JP": "電話番号"},
    "full_name": {"*": "full_name", "de_DE": "name", "fr_FR": "nom_complet", "pt_BR": "nome", "es_ES": "nombre",
                  "ja_JP": "氏名"},
    "first_name": {"*": "first_name", "de_DE": "vorname", "fr_FR": "prenom", "pt_BR": "primeiro_nome",
                   "es_ES": "nombre_pila", "ja_JP": "given_name"},
    "last_name": {"*": "last_name", "de_DE": "nachname", "fr_FR": "nom", "pt_BR": "sobrenome",
                  "es_ES": "apellido", "ja_JP": "family_name"},
    "street_address": {"*": "street", "de_DE": "strasse", "fr_FR": "adresse", "pt_BR": "endereco",
                       "es_ES": "direccion", "ja_JP": "住所"},
    "full_address": {"*": "mailing_address", "de_DE": "anschrift", "fr_FR": "adresse_postale",
                     "pt_BR": "endereco_completo", "es_ES": "domicilio", "ja_JP": "address"},
    "city": {"*": "city", "de_DE": "stadt", "fr_FR": "ville", "pt_BR": "cidade", "es_ES": "ciudad", "ja_JP": "市区町村"},
    "postcode": {"*": "zip", "de_DE": "plz", "fr_FR": "code_postal", "pt_BR": "cep", "es_ES": "codigo_postal",
                 "ja_JP": "郵便番号"},
    "us_ssn": {"*": "ssn"},
    "credit_card": {"*": "card_number", "de_DE": "kreditkarte", "fr_FR": "carte", "pt_BR": "cartao",
                    "es_ES": "tarjeta"},
    "iban": {"*": "iban", "de_DE": "konto_iban"},
    "ip_address": {"*": "ip_address", "de_DE": "client_ip"},
    "date_of_birth": {"*": "date_of_birth", "de_DE": "geburtsdatum", "fr_FR": "date_naissance",
                      "pt_BR": "data_nascimento", "es_ES": "fecha_nacimiento", "ja_JP": "生年月日"},
    "free_text_with_pii": {"*": "notes", "de_DE": "bemerkung", "fr_FR": "commentaire", "pt_BR": "observacao",
                           "es_ES": "comentario", "ja_JP": "備考"},
}

_DOB_FORMATS = {"en_US": "%m/%d/%Y", "de_DE": "%d.%m.%Y", "fr_FR": "%d/%m/%Y", "ja_JP": "%Y年%m月%d日",
                "pt_BR": "%d/%m/%Y", "es_ES": "%d/%m/%Y"}
_FREE_TEXT_LEADS = {
    "en_US": ("Please call me at {}", "Customer asked to email {}", "Card on file {}", "Reach me on {} tomorrow"),
    "de_DE": ("Bitte rufen Sie mich unter {} an", "Kunde bittet um Antwort an {}", "Karte {} hinterlegt",
              "Rückruf unter {}"),
    "fr_FR": ("Merci de me rappeler au {}", "Écrire à {} pour la facture", "Carte {} enregistrée",
              "Contact : {}"),
    "ja_JP": ("{} までご連絡ください", "メール {} に返信", "カード {} を登録済み", "電話 {} に折り返し"),
    "pt_BR": ("Por favor ligue para {}", "Enviar resposta para {}", "Cartão {} cadastrado", "Contato: {}"),
    "es_ES": ("Por favor llame al {}", "Responder a {} cuanto antes", "Tarjeta {} registrada", "Contacto: {}"),
}
_ADJ = ("Ergonomic", "Rustic", "Sleek", "Premium", "Compact", "Deluxe", "Classic", "Smart", "Ultra", "Eco")
_MAT = ("Steel", "Wooden", "Cotton", "Granite", "Plastic", "Leather", "Bamboo", "Glass", "Rubber", "Marble")
_NOUN = ("Chair", "Table", "Lamp", "Keyboard", "Bottle", "Backpack", "Jacket", "Mug", "Blender", "Speaker")
_STATUS = ("active", "pending", "shipped", "cancelled", "returned", "on_hold")


@dataclass(frozen=True)
class LabelledTable:
    """One table of the test set: its data and the true kind of each column (None: not PII)."""

    name: str
    locale: str
    variant: str
    frame: pd.DataFrame
    labels: dict[str, str | None]


def _faker(locale: str, seed: int):  # noqa: ANN202 - Faker is imported lazily
    from faker import Faker

    f = Faker(locale)
    f.seed_instance(seed)
    return f


def _ean13(rng: np.random.Generator) -> str:
    body = "".join(str(d) for d in rng.integers(0, 10, 12))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _tracking(rng: np.random.Generator) -> str:
    while True:
        s = "".join(str(d) for d in rng.integers(0, 10, 16))
        if not luhn_ok(s) or s[0] not in "23456":
            return s


def _group4(s: str) -> str:
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def _positives(locale: str, f, rng: np.random.Generator) -> dict[str, tuple[str, Callable[[int], object]]]:  # noqa: ANN001
    """{key: (kind, make(i))} of the personal columns of a customers table."""
    loc_i = LOCALES.index(locale) if locale in LOCALES else 0
    dob_fmt = _DOB_FORMATS.get(locale, "%Y-%m-%d")
    leads = _FREE_TEXT_LEADS.get(locale, _FREE_TEXT_LEADS["en_US"])

    def street(_: int) -> str:
        if locale == "ja_JP":
            return f"{f.town()}{f.chome()}{f.ban()}{f.gou()}"
        return f.street_address()

    def dob(i: int) -> object:
        d = f.date_of_birth(minimum_age=1, maximum_age=95)
        style = loc_i % 3
        return d if style == 0 else d.isoformat() if style == 1 else d.strftime(dob_fmt)

    def note(i: int) -> str:
        base = f.sentence(nb_words=8)
        if rng.random() < 0.35:
            pii = (f.phone_number, f.email, f.credit_card_number, f.email)[int(rng.integers(0, 4))]()
            lead = leads[int(rng.integers(0, len(leads)))]
            return f"{base} {lead.format(pii)}"
        return base

    def ip(i: int) -> str:
        return f.ipv6() if (i + loc_i) % 3 == 0 else f.ipv4()

    def card(i: int) -> str:
        c = f.credit_card_number()
        return _group4(c) if loc_i % 2 else c

    def iban(i: int) -> str:
        v = f.iban()
        return _group4(v) if loc_i % 2 == 0 else v

    cols = {
        "email": ("email", lambda i: f.email()),
        "phone": ("phone", lambda i: f.phone_number()),
        "full_name": ("person_name", lambda i: f.name()),
        "first_name": ("person_name", lambda i: f.first_name()),
        "last_name": ("person_name", lambda i: f.last_name()),
        "street_address": ("street_address", street),
        "full_address": ("street_address", lambda i: f.address().replace("\n", ", ")),
        "city": ("city", lambda i: f.city()),
        "postcode": ("postcode", lambda i: f.postcode()),
        "credit_card": ("credit_card", card),
        "iban": ("iban", iban),
        "ip_address": ("ip_address", ip),
        "date_of_birth": ("date_of_birth", dob),
        "free_text_with_pii": ("free_text_with_pii", note),
    }
    us = _faker("en_US", int(rng.integers(0, 2**31)))  # a US SSN column can sit in any country's table
    cols["us_ssn"] = ("us_ssn", lambda i: us.ssn())
    return cols


def _negatives(locale: str, f, rng: np.random.Generator, table: str) -> dict[str, Callable[[int], object]]:  # noqa: ANN001
    """{column name: make(i)} of non-PII look-alikes."""
    today = _dt.date(2024, 6, 30)
    common: dict[str, Callable[[int], object]] = {
        "status": lambda i: _STATUS[int(rng.integers(0, len(_STATUS)))],
        "created_at": lambda i: (pd.Timestamp("2023-01-01") + pd.Timedelta(seconds=int(rng.integers(0, 4e7)))).isoformat(sep=" "),
        "record_uuid": lambda i: str(uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | int(rng.integers(0, 2**62)), version=4)),
        "loyalty_points": lambda i: int(rng.integers(10_000, 99_999)),
        "job_title": lambda i: f.job(),
        "description": lambda i: f.sentence(nb_words=10),
    }
    if table == "customers":
        return common
    return {
        **common,
        "order_number": lambda i: f"ORD-{2024_000_000 + i}",
        "order_id": lambda i: 100_000 + i,
        "invoice_ref": lambda i: f"{2024}-{i:06d}",
        "product_code": lambda i: f"{chr(65 + int(rng.integers(0, 26)))}{chr(65 + int(rng.integers(0, 26)))}-"
        f"{int(rng.integers(1000, 9999))}-{chr(65 + int(rng.integers(0, 26)))}",
        "sku": lambda i: f"SKU-{int(rng.integers(0, 999_999)):06d}",
        "order_date": lambda i: (today - _dt.timedelta(days=int(rng.integers(0, 700)))).isoformat(),
        "amount": lambda i: f"{rng.uniform(1, 5000):.2f}",
        "unit_price": lambda i: float(round(rng.uniform(1, 500), 2)),
        "sha256": lambda i: hashlib.sha256(str(rng.random()).encode()).hexdigest(),
        "md5": lambda i: hashlib.md5(str(rng.random()).encode()).hexdigest(),  # noqa: S324 - look-alike data
        "ean": lambda i: _ean13(rng),
        "tracking_number": lambda i: _tracking(rng),
        "store_number": lambda i: f"{int(rng.integers(0, 99_999)):05d}",
        "quantity": lambda i: int(rng.integers(1, 20)),
        "company": lambda i: f.company(),
        "country": lambda i: f.country(),
        "product_name": lambda i: f"{_ADJ[int(rng.integers(0, 10))]} {_MAT[int(rng.integers(0, 10))]} "
        f"{_NOUN[int(rng.integers(0, 10))]}",
        "version": lambda i: f"{int(rng.integers(0, 9))}.{int(rng.integers(0, 30))}.{int(rng.integers(0, 99))}",
        "mac_address": lambda i: f.mac_address(),
        "colour": lambda i: f.color_name(),
        "isbn": lambda i: f.isbn10() if i % 2 else f.isbn13(),
        "url": lambda i: f.url(),
        "username": lambda i: f.user_name(),
        "file_name": lambda i: f.file_name(),
        "license_plate": lambda i: f.license_plate(),
        "latitude": lambda i: str(f.latitude()),
        "currency": lambda i: f.currency_code(),
        "swift": lambda i: f.swift(),
        "hex_colour": lambda i: f.hex_color(),
        "hire_date": lambda i: (_dt.date(1990, 1, 1) + _dt.timedelta(days=int(rng.integers(0, 12_500)))).isoformat(),
        "last_login_time": lambda i: f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}",
        "discount": lambda i: f"{int(rng.integers(0, 60))}%",
    }


def _column_name(key: str, locale: str) -> str:
    names = _CUE_NAMES.get(key)
    if names is None:
        return key
    return names.get(locale, names["*"])


def build_labelled_tables(*, rows: int = 200, seed: int = 0, locales: Iterable[str] = LOCALES) -> list[LabelledTable]:
    """Build the labelled test set: for each locale, customers and orders, in cue and opaque naming.

    Args:
        rows: Rows per table.
        seed: Root seed (each table's Faker and numpy generators derive from it).
        locales: Faker locales to cover.
    """
    out: list[LabelledTable] = []
    for locale in locales:
        for variant in ("cue", "opaque"):
            for table in ("customers", "orders"):
                s = derive_seed(seed, locale, variant, table)
                f = _faker(locale, s)
                rng = np.random.default_rng(s)
                data: dict[str, list[object]] = {}
                labels: dict[str, str | None] = {}
                if table == "customers":
                    for key, (kind, make) in _positives(locale, f, rng).items():
                        name = _column_name(key, locale)
                        data[name] = [make(i) for i in range(rows)]
                        labels[name] = kind
                for name, make in _negatives(locale, f, rng, table).items():
                    data[name] = [make(i) for i in range(rows)]
                    labels[name] = None
                frame = pd.DataFrame(data)
                if variant == "opaque":
                    order = list(rng.permutation(len(frame.columns)))
                    old = [frame.columns[j] for j in order]
                    new = [f"col_{k}" for k in range(len(old))]
                    frame = frame[old].set_axis(new, axis=1)
                    labels = {n: labels[o] for n, o in zip(new, old, strict=True)}
                out.append(LabelledTable(f"{table}_{locale}_{variant}", locale, variant, frame, labels))
    return out


def evaluate_detector(
    tables: Iterable[LabelledTable], detect: Callable[[pd.DataFrame], dict[str, str]] | None = None
) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Column-level precision and recall per kind.

    Args:
        tables: The labelled tables.
        detect: `frame -> {column: kind}`; defaults to `detect_pii_pandas` at its default settings.

    Returns:
        The per-kind score table (kind, support, tp, fp, fn, precision, recall) and the list of
        mistakes (table, column, truth, predicted).
    """
    if detect is None:
        from pyspark_synth.privacy.detect import detect_pii_pandas

        def detect(frame: pd.DataFrame) -> dict[str, str]:
            return {d.column: d.kind for d in detect_pii_pandas(frame)}

    tp = dict.fromkeys(KINDS, 0)
    fp = dict.fromkeys(KINDS, 0)
    fn = dict.fromkeys(KINDS, 0)
    support = dict.fromkeys(KINDS, 0)
    mistakes: list[dict[str, object]] = []
    for t in tables:
        found = detect(t.frame)
        for col, truth in t.labels.items():
            pred = found.get(col)
            if truth is not None:
                support[truth] += 1
            if pred == truth:
                if truth is not None:
                    tp[truth] += 1
                continue
            mistakes.append({"table": t.name, "column": col, "truth": truth, "predicted": pred,
                             "example": str(t.frame[col].iloc[0])[:60]})
            if pred is not None:
                fp[pred] += 1
            if truth is not None:
                fn[truth] += 1
    rows = []
    for k in KINDS:
        p = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else float("nan")
        r = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else float("nan")
        rows.append({"kind": k, "support": support[k], "tp": tp[k], "fp": fp[k], "fn": fn[k], "precision": p, "recall": r})
    return pd.DataFrame(rows), mistakes


def format_scores(scores: pd.DataFrame) -> str:
    """The per-kind table as aligned text (for printing in tests and the benchmark)."""
    lines = [f"{'kind':<20}{'support':>8}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}"]
    for r in scores.itertuples(index=False):
        lines.append(f"{r.kind:<20}{r.support:>8}{r.tp:>5}{r.fp:>5}{r.fn:>5}{r.precision:>11.3f}{r.recall:>8.3f}")
    tot_tp, tot_fp, tot_fn = scores.tp.sum(), scores.fp.sum(), scores.fn.sum()
    lines.append(f"{'all (micro)':<20}{scores.support.sum():>8}{tot_tp:>5}{tot_fp:>5}{tot_fn:>5}"
                 f"{tot_tp / max(1, tot_tp + tot_fp):>11.3f}{tot_tp / max(1, tot_tp + tot_fn):>8.3f}")
    return "\n".join(lines)
