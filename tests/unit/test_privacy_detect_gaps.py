"""PII detection gaps of issue 19, each on generated data of its shape, with the hard negatives.

Every positive column here is generated (random dates in several countries' formats, random SSNs,
Faker ru_RU / pl_PL / it_IT values, surnames built from random syllables); nothing is a list of
example values. The negatives are look-alikes of the same shapes that are not personal data.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from pyspark_synth.privacy import detect_pii_pandas, rules_from_detection, scrub_pandas
from pyspark_synth.privacy._kinds import is_credit_card, luhn_ok

N = 200
KEY = "gap-test-key-0123456789abcdef"


# ----------------------------------------------------------------------------- generators
def _faker(locale: str, seed: int) -> Faker:
    f = Faker(locale)
    f.seed_instance(seed)
    return f


def _dates(rng: np.random.Generator, n: int, start: dt.date, end: dt.date) -> list[dt.date]:
    return [dt.date.fromordinal(int(o)) for o in rng.integers(start.toordinal(), end.toordinal(), n)]


def _birth_dates(rng: np.random.Generator, n: int = N) -> list[dt.date]:
    return _dates(rng, n, dt.date(1930, 1, 1), dt.date(2005, 12, 31))


# the date formats of the rows' countries: FR/UK, ISO timestamp, JP, DE/RU/PL, US, ISO, JP (slashes), NL/IN
_COUNTRY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d 00:00:00", "%Y年%m月%d日", "%d.%m.%Y", "%m/%d/%Y", "%Y-%m-%d",
                    "%Y/%m/%d", "%d-%m-%Y")


def _several_countries(rng: np.random.Generator, dates: list[dt.date]) -> list[str]:
    return [d.strftime(_COUNTRY_FORMATS[int(rng.integers(0, len(_COUNTRY_FORMATS)))]) for d in dates]


def _ssn(rng: np.random.Generator) -> str:
    while True:
        area = int(rng.integers(1, 900))
        if area != 666:
            return f"{area:03d}-{int(rng.integers(1, 100)):02d}-{int(rng.integers(1, 10_000)):04d}"


def _with_check_digit(body: str, ok) -> str:  # noqa: ANN001 - a checksum predicate
    return next(body + c for c in "0123456789" if ok(body + c))


def _imei(rng: np.random.Generator) -> str:
    """A 15-digit IMEI: a TAC from the GSMA's "35" reporting body, a serial, and its Luhn check digit."""
    return _with_check_digit("35" + "".join(str(d) for d in rng.integers(0, 10, 12)), luhn_ok)


def _syllables(rng: np.random.Generator, alphabet: tuple[str, str], k: int) -> str:
    cons, vows = alphabet
    return "".join(cons[int(rng.integers(0, len(cons)))] + vows[int(rng.integers(0, len(vows)))] for _ in range(k))


_CYRILLIC = ("бвгдзклмнпрстфхчш", "аеиоуы")
_LATIN_PL = ("bcdgklmnprstwz", "aeiouy")


def _ru_surname(rng: np.random.Generator, female: bool) -> str:
    """A Russian-shaped family name from random syllables (not in any name list): Курабов, Мисетина."""
    stem = _syllables(rng, _CYRILLIC, int(rng.integers(2, 4))).capitalize()
    return stem + (("ова", "ева", "ина")[int(rng.integers(0, 3))] if female else ("ов", "ев", "ин")[int(rng.integers(0, 3))])


def _ru_people(rng: np.random.Generator, f: Faker, n: int = N) -> list[str]:
    """Surname first or last, patronymics, initials: the shapes of Russian records."""
    out = []
    for _ in range(n):
        female = bool(rng.random() < 0.5)
        sur = _ru_surname(rng, female)
        first = f.first_name_female() if female else f.first_name_male()
        patr = f.middle_name_female() if female else f.middle_name_male()
        style = int(rng.integers(0, 4))
        out.append((f"{sur} {first} {patr}", f"{first} {patr} {sur}", f"{sur} {first[0]}. {patr[0]}.",
                    f"{sur} {first[0]}.{patr[0]}.")[style])
    return out


def _pl_people(rng: np.random.Generator, f: Faker, n: int = N) -> list[str]:
    """Polish names, surname first or last, with pan/pani and feminine family-name forms."""
    out = []
    for _ in range(n):
        female = bool(rng.random() < 0.5)
        first, last = (f.first_name_female(), f.last_name_female()) if female else (f.first_name_male(), f.last_name_male())
        style = int(rng.integers(0, 3))
        out.append((f"{last} {first}", f"{'pani' if female else 'pan'} {first} {last}", f"{first} {last}")[style])
    return out


def _ru_addresses(rng: np.random.Generator, f: Faker, n: int = N) -> list[str]:
    out = []
    for _ in range(n):
        street, kind = f.street_title(), f.street_suffix()
        house, flat = int(rng.integers(1, 200)), int(rng.integers(1, 300))
        style = int(rng.integers(0, 3))
        out.append((f"{kind}{street},д.{house},кв.{flat}",  # compact, as typed into forms
                    f"{kind} {street}, д. {house}, кв. {flat}",
                    f"{f.city_name()}, {kind} {street}, {house}-{flat}")[style])
    return out


def _pl_addresses(rng: np.random.Generator, f: Faker, n: int = N) -> list[str]:
    out = []
    for _ in range(n):
        house, flat = int(rng.integers(1, 200)), int(rng.integers(1, 90))
        style = int(rng.integers(0, 3))
        out.append((f"ul.{f.street_name()} {house}/{flat}", f"ul. {f.street_name()} {house} m. {flat}",
                    f"{f.street_prefix_short()} {f.street_name()} {house}")[style])
    return out


# ----------------------------------------------------------------------------- helpers
def _kinds(pdf: pd.DataFrame) -> dict[str, str]:
    return {d.column: d.kind for d in detect_pii_pandas(pdf)}


# ----------------------------------------------------------------------------- dates of birth
def test_birth_dates_from_several_countries_are_detected_and_scrubbed():
    rng = np.random.default_rng(1)
    born = _birth_dates(rng)
    pdf = pd.DataFrame({"birth_date": _several_countries(rng, born), "col_1": _several_countries(rng, _birth_dates(rng)),
                        "amount": rng.integers(1, 500, N)})
    assert _kinds(pdf) == {"birth_date": "date_of_birth", "col_1": "date_of_birth"}
    rules = rules_from_detection(detect_pii_pandas(pdf))
    out = scrub_pandas(pdf, rules, key=KEY)
    for col in ("birth_date", "col_1"):
        assert rules[col].action == "fake" and rules[col].kind == "date_of_birth"
        assert (out[col] != pdf[col]).all()  # no row keeps its real birth date
        same_day = pd.to_datetime(out[col]).dt.date.to_numpy() == np.array(born if col == "birth_date" else [None] * N)
        assert same_day.sum() <= 2  # a fake may hit a real birthday by chance (1 in ~27,000 days), no more


def test_two_digit_year_birth_dates_are_detected():
    rng = np.random.default_rng(2)
    pdf = pd.DataFrame({"dob": [d.strftime("%m/%d/%y") for d in _birth_dates(rng)],
                        "col_2": [d.strftime("%m/%d/%y") for d in _birth_dates(rng)],
                        "col_3": [d.strftime("%d.%m.%y") for d in _birth_dates(rng)]})
    assert _kinds(pdf) == {"dob": "date_of_birth", "col_2": "date_of_birth", "col_3": "date_of_birth"}


def test_dates_that_are_not_birth_dates_stay_out():
    rng = np.random.default_rng(3)
    recent = _dates(rng, N, dt.date(2023, 1, 1), dt.date(2024, 12, 31))
    hired = _dates(rng, N, dt.date(1990, 1, 1), dt.date(2024, 6, 1))
    contracts = _dates(rng, N, dt.date(2015, 1, 1), dt.date(2035, 12, 31))  # two-digit years, past and future
    pdf = pd.DataFrame({
        "order_date": _several_countries(rng, recent),
        "col_4": _several_countries(rng, hired),
        "col_5": [d.strftime("%m/%d/%y") for d in contracts],
        "col_6": [f"{d.isoformat()} {int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:00" for d in
                  _birth_dates(rng)],  # old timestamps with times of day are events, not birthdays
    })
    assert _kinds(pdf) == {}


# ----------------------------------------------------------------------------- SSNs
def test_ssns_dashed_and_undashed_in_named_and_anonymous_columns():
    rng = np.random.default_rng(4)

    def mixed(share_dashed: float) -> list[str]:
        return [s if rng.random() < share_dashed else s.replace("-", "") for s in (_ssn(rng) for _ in range(N))]

    pdf = pd.DataFrame({"ssn": mixed(0.5), "col_7": mixed(0.5), "col_8": mixed(0.0)})
    assert _kinds(pdf) == {"ssn": "us_ssn", "col_7": "us_ssn", "col_8": "us_ssn"}


def test_nine_digit_look_alikes_are_not_ssns():
    rng = np.random.default_rng(5)

    def digits(k: int) -> str:
        return "".join(str(d) for d in rng.integers(0, 10, k))

    pdf = pd.DataFrame({
        "col_9": [digits(9) for _ in range(N)],  # random account numbers (area 9xx, 000, 666 occur)
        "col_10": [_with_check_digit(str(int(rng.integers(1, 8))) + digits(7), luhn_ok) for _ in range(N)],  # SIN-like
        "col_11": [_with_check_digit(f"{int(rng.choice([1, 2, 3, 6, 7, 11, 12, 21, 26, 31])):02d}" + digits(6),
                                     lambda v: sum(int(c) * w for c, w in zip(v, (3, 7, 1) * 3, strict=True)) % 10 == 0)
                   for _ in range(N)],  # ABA routing numbers
        "col_12": ["104" + digits(6) for _ in range(N)],  # product ids with one fixed prefix
    })
    assert _kinds(pdf) == {}


# ----------------------------------------------------------------------------- people, places (ru, pl, it)
def test_russian_names_surname_first_patronymics_and_initials():
    rng = np.random.default_rng(6)
    ru = _faker("ru_RU", 6)
    pdf = pd.DataFrame({"col_13": _ru_people(rng, ru), "фио": _ru_people(rng, ru),
                        "фамилия": [_ru_surname(rng, bool(rng.random() < 0.5)) for _ in range(N)]})
    assert _kinds(pdf) == {"col_13": "person_name", "фио": "person_name", "фамилия": "person_name"}


def test_polish_names_and_family_names_alone():
    rng = np.random.default_rng(7)
    pl = _faker("pl_PL", 7)
    pdf = pd.DataFrame({"col_14": _pl_people(rng, pl), "col_15": [pl.last_name() for _ in range(N)],
                        "nazwisko": [pl.last_name() for _ in range(N)]})
    assert _kinds(pdf) == {"col_14": "person_name", "col_15": "person_name", "nazwisko": "person_name"}


def test_russian_and_polish_street_addresses():
    rng = np.random.default_rng(8)
    ru, pl = _faker("ru_RU", 8), _faker("pl_PL", 8)
    pdf = pd.DataFrame({"col_16": _ru_addresses(rng, ru), "адрес": [a for a in _ru_addresses(rng, ru)],
                        "col_17": _pl_addresses(rng, pl)})
    assert _kinds(pdf) == {"col_16": "street_address", "адрес": "street_address", "col_17": "street_address"}


def test_russian_and_italian_postcodes_by_their_column_names():
    rng = np.random.default_rng(9)
    ru, it = _faker("ru_RU", 9), _faker("it_IT", 9)
    pdf = pd.DataFrame({"почтовый_индекс": [ru.postcode() for _ in range(N)],
                        "индекс": [int(ru.postcode()) for _ in range(N)],
                        "cap": [it.postcode() for _ in range(N)],
                        "amount": rng.integers(1, 100, N)})
    assert _kinds(pdf) == {"почтовый_индекс": "postcode", "индекс": "postcode", "cap": "postcode"}
    # "cap" of something else is no postcode
    assert _kinds(pd.DataFrame({"market_cap": [f"{int(x):05d}" for x in rng.integers(10_000, 99_999, N)]})) == {}


def test_cities_in_anonymous_columns():
    rng = np.random.default_rng(10)
    ru, pl, it = _faker("ru_RU", 10), _faker("pl_PL", 10), _faker("it_IT", 10)
    mixed = [(ru, pl, it)[int(rng.integers(0, 3))].city() for _ in range(N)]
    pdf = pd.DataFrame({"col_18": [ru.city() for _ in range(N)], "col_19": mixed})
    assert _kinds(pdf) == {"col_18": "city", "col_19": "city"}


def test_cyrillic_look_alikes_are_not_people_or_places():
    ru, pl = _faker("ru_RU", 11), _faker("pl_PL", 11)
    pdf = pd.DataFrame({"col_20": [ru.job() for _ in range(N)], "col_21": [ru.company() for _ in range(N)],
                        "col_22": [pl.company() for _ in range(N)], "col_23": [ru.street_title() for _ in range(N)]})
    assert _kinds(pdf) == {}


# ----------------------------------------------------------------------------- misleading names and numbers
def test_airport_codes_in_a_city_column_are_not_cities():
    rng = np.random.default_rng(12)
    codes = ["".join(chr(65 + int(x)) for x in rng.integers(0, 26, 3)) for _ in range(N)]
    pdf = pd.DataFrame({"airport_city": codes, "departure_city": codes[::-1]})
    assert _kinds(pdf) == {}


def test_imei_numbers_are_not_credit_cards():
    rng = np.random.default_rng(13)
    imeis = [_imei(rng) for _ in range(N)]
    pdf = pd.DataFrame({"imei": imeis, "col_24": imeis[::-1], "col_25": np.array(imeis, dtype=np.int64),
                        "device_imei": [f"{v[:2]}-{v[2:8]}-{v[8:14]}-{v[14]}" for v in imeis]})
    assert _kinds(pdf) == {}
    assert all(luhn_ok(v) for v in imeis) and not any(is_credit_card(v) for v in imeis)
    # real cards of every length still are
    f = _faker("en_US", 13)
    cards = [f.credit_card_number() for _ in range(N)]
    assert _kinds(pd.DataFrame({"col_26": cards})) == {"col_26": "credit_card"}


def test_product_codes_and_isbns_are_not_pii():
    rng = np.random.default_rng(14)
    f = _faker("en_US", 14)
    pdf = pd.DataFrame({
        "col_27": [f"{chr(65 + int(rng.integers(0, 26)))}{chr(65 + int(rng.integers(0, 26)))}-"
                   f"{int(rng.integers(1000, 9999))}-{chr(65 + int(rng.integers(0, 26)))}" for _ in range(N)],
        "col_28": [f.isbn13() for _ in range(N)],
        "col_29": [f.isbn13().replace("-", "") for _ in range(N)],
        "col_30": [f.isbn10() for _ in range(N)],
        "col_31": [f"Артикул {int(rng.integers(10_000, 99_999))}" for _ in range(N)],
    })
    assert _kinds(pdf) == {}


@pytest.mark.parametrize("seed", [0, 1])
def test_gap_positives_hold_for_other_seeds(seed):
    rng = np.random.default_rng(100 + seed)
    ru, pl = _faker("ru_RU", seed), _faker("pl_PL", seed)
    pdf = pd.DataFrame({"col_a": _several_countries(rng, _birth_dates(rng)), "col_b": _ru_people(rng, ru),
                        "col_c": _pl_addresses(rng, pl), "col_d": [ru.city() for _ in range(N)]})
    assert _kinds(pdf) == {"col_a": "date_of_birth", "col_b": "person_name", "col_c": "street_address",
                           "col_d": "city"}


def test_a_few_category_values_whose_words_are_in_name_lists_are_not_person_names():
    """An engine-type column ("Turbo-fan", "Turbo-jet": 'Fan' and 'Jet' are in the family-name
    lists) was called a person name; a column of people's names without a name cue has their spread."""
    import pandas as pd

    from pyspark_synth.privacy.detect import detect_pii_pandas

    rng = np.random.default_rng(3)
    kinds = rng.choice(["Turbo-fan", "Turbo-jet", "Turbo-prop", "Turbo-shaft"], 3000, p=[0.8, 0.15, 0.03, 0.02])
    assert detect_pii_pandas(pd.DataFrame({"engine": kinds})) == []
    people = [f"{g} {f}" for g, f in zip(rng.choice(["Anna", "John", "Maria", "Peter", "Laura", "David", "Sofia",
                                                       "James", "Emma", "Lucas"], 3000),
                                          rng.choice(["Smith", "Jones", "Brown", "Garcia", "Miller", "Wilson",
                                                      "Moore", "Taylor"], 3000), strict=True)]
    found = detect_pii_pandas(pd.DataFrame({"c7": people}))
    assert [d.kind for d in found] == ["person_name"]


def test_one_word_labels_under_a_bare_name_header_are_not_people_while_names_are():
    """A code list's `name` ("Action", "Comedy": film categories) was taken for person names
    (capitalised words under a `name` header), so under the default policy it was faked. One word
    a row that is seldom a known name is a label; given names alone, full names and a
    `customer_name` header stay people."""
    labels = ["Action", "Animation", "Children", "Classics", "Comedy", "Documentary", "Drama", "Family",
              "Foreign", "Games", "Horror", "Music", "New", "Sci-Fi", "Sports", "Travel"]
    assert detect_pii_pandas(pd.DataFrame({"name": labels})) == []
    given = ["Anna", "John", "Maria", "Peter", "Ivan", "Olga", "Kenji", "Luca", "Sofia", "Pierre"]
    full = [Faker("en_US").name() for _ in range(20)]
    for column, values in [("name", given), ("name", full), ("nombre", ["Lucía", "Mateo", "Sofía", "Hugo"])]:
        (found,) = detect_pii_pandas(pd.DataFrame({column: values}))
        assert found.kind == "person_name", (column, values)
