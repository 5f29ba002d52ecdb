"""Value-level recognisers for each PII kind: regexes, checksums (Luhn, mod-97) and Faker vocabularies."""

from __future__ import annotations

import importlib
import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "BARE_NAME_CUES",
    "KINDS",
    "name_cues",
    "is_email",
    "is_us_ssn",
    "is_credit_card",
    "is_iban",
    "is_ip",
    "is_phone",
    "is_postcode",
    "is_strong_postcode",
    "is_person_name",
    "is_city",
    "is_street_address",
    "embedded_pii",
    "luhn_ok",
    "iban_ok",
    "card_scheme_ok",
    "ssn_structure_ok",
    "aba_ok",
]

KINDS: tuple[str, ...] = (
    "email",
    "phone",
    "person_name",
    "street_address",
    "city",
    "postcode",
    "us_ssn",
    "credit_card",
    "iban",
    "ip_address",
    "date_of_birth",
    "free_text_with_pii",
)

# ----------------------------------------------------------------------------- column-name cues
# Column names are split into lower-case tokens ("customerEMail" -> customer, email); a cue matches
# a whole token or, for the multi-token ones, a run of tokens joined by "_".
_CUES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e_mail", "mail", "emailaddress", "correo", "courriel", "メール", "メールアドレス", "почта",
              "эл_почта", "емейл", "имейл"),
    "phone": ("phone", "tel", "telephone", "telefon", "telefone", "telefono", "teléfono", "mobile", "mobil",
              "cell", "cellphone", "handy", "portable", "celular", "movil", "móvil", "fax", "msisdn", "電話",
              "電話番号", "phonenumber", "телефон", "тел", "мобильный", "komorka", "komórka", "cellulare",
              "numer_telefonu"),
    "person_name": ("name", "fullname", "full_name", "first_name", "firstname", "last_name", "lastname",
                    "surname", "given_name", "family_name", "forename", "vorname", "nachname", "nom", "prenom",
                    "prénom", "nome", "sobrenome", "nombre", "apellido", "apellidos", "氏名", "名前", "姓", "名",
                    "contact", "customer_name", "person", "фио", "имя", "фамилия", "отчество", "imie", "imię",
                    "nazwisko", "imie_nazwisko", "cognome", "nominativo", "middle_name", "middlename", "patronymic"),
    "street_address": ("address", "addr", "street", "strasse", "straße", "adresse", "anschrift", "rue",
                       "endereco", "endereço", "logradouro", "direccion", "dirección", "domicilio", "calle",
                       "address1", "address_line", "address_line1", "住所", "адрес", "улица", "adres", "ulica",
                       "indirizzo"),
    "city": ("city", "town", "stadt", "ort", "wohnort", "ville", "cidade", "ciudad", "municipio", "localidad",
             "locality", "市区町村", "都市", "市", "город", "населенный_пункт", "miasto", "miejscowosc",
             "miejscowość", "citta", "città", "comune", "localita", "località"),
    "postcode": ("zip", "zipcode", "zip_code", "postcode", "post_code", "postal", "postal_code", "postalcode",
                 "plz", "postleitzahl", "cep", "code_postal", "codigo_postal", "cp", "郵便番号", "индекс",
                 "почтовый_индекс", "kod_pocztowy", "cap", "codice_postale"),
    "us_ssn": ("ssn", "social_security", "social_security_number", "socialsecurity"),
    "credit_card": ("card", "credit_card", "creditcard", "cc", "cc_number", "pan", "card_number", "kreditkarte",
                    "carte", "cartao", "cartão", "tarjeta", "карта", "номер_карты", "karta", "carta"),
    "iban": ("iban", "bank_account", "konto", "kontonummer", "rib"),
    "ip_address": ("ip", "ip_address", "ipaddress", "ipv4", "ipv6", "client_ip", "remote_addr", "ip_addr"),
    "date_of_birth": ("dob", "birth", "birthday", "birthdate", "birth_date", "date_of_birth", "born", "geburt",
                      "geburtsdatum", "geburtstag", "naissance", "date_naissance", "nascimento",
                      "data_nascimento", "nacimiento", "fecha_nacimiento", "生年月日", "誕生日", "рождения",
                      "дата_рождения", "data_urodzenia", "urodzenia", "nascita", "data_di_nascita"),
    "free_text_with_pii": ("comment", "comments", "note", "notes", "remark", "remarks", "message", "feedback",
                           "bemerkung", "kommentar", "notiz", "commentaire", "observacao", "observação",
                           "comentario", "comentarios", "body", "text", "free_text", "memo", "備考", "комментарий",
                           "примечание", "uwagi", "komentarz", "commento", "note_cliente"),
}
# Tokens that say "this is not personal data" (identifiers, amounts, codes of things).
_NEGATIVE_CUES = frozenset(
    "order orders sku product products item items article amount price total qty quantity hash checksum "
    "digest uuid guid version status count ref reference tracking invoice ean upc barcode gtin company firm "
    "firma brand country store shop warehouse batch lot serial model file host domain table column category "
    "currency score rating weight size color colour created updated modified shipped shipping delivery "
    "delivered event login timestamp ts hire hired start end joined since expiry expires valid due paid "
    "opened closed isbn url uri path sha md5 swift bic plate imei imsi iccid meid esn iata icao".split()
)
# A "name" cue is about a person unless another token says whose name it is.
_NAME_OWNERS = frozenset(
    "product company file user brand city street country bank host domain table column category store shop "
    "item display project app device model team org organisation organization business firm firma "
    "file_name username".split()
)


_NAME_SPLIT = re.compile(r"[^0-9A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF\u3040-\u30FF\u4E00-\u9FFF"
                         r"\uAC00-\uD7AF]+")
# Short postcode cues ("cp", "cap") count only alone or with these words ("cap_residenza", not "market_cap").
_POSTCODE_SHORT_OK = frozenset(
    "code codice postal postale home residenza residence domicilio cliente customer billing mailing addr address "
    "user client".split()
)


# person-name cues that say only "name": of a person, or of anything else (a category, a product)
BARE_NAME_CUES = frozenset({"name", "nom", "nome", "nombre", "名"})


def _name_tokens(name: str) -> list[str]:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return [t for t in _NAME_SPLIT.split(s.lower()) if t]


def name_cues(column: str) -> tuple[dict[str, str], str | None]:
    """The PII kinds a column name hints at ({kind: cue}) and the first non-PII cue found, if any."""
    tokens = _name_tokens(column)
    joined = "_".join(tokens)
    grams = set(tokens) | {"_".join(tokens[i:i + n]) for n in (2, 3) for i in range(len(tokens) - n + 1)}
    grams.add(joined)
    found: dict[str, str] = {}
    for kind, cues in _CUES.items():
        for cue in cues:
            if cue in grams or (len(cue) > 3 and not cue.isascii() and cue in joined):
                found[kind] = cue
                break
    negative = next((t for t in tokens if t in _NEGATIVE_CUES), None)
    if "person_name" in found and found["person_name"] in BARE_NAME_CUES:
        if any(t in _NAME_OWNERS for t in tokens):
            del found["person_name"]
    if found.get("street_address") in {"address", "addr", "adres", "адрес", "indirizzo"} and (
        len(found) > 1 or any(t in {"mac", "email", "e_mail", "ip", "web", "url"} for t in tokens)
    ):
        del found["street_address"]  # "ip_address", "email_address", "mac_address" are not streets
    if found.get("postcode") in {"cp", "cap"} and any(t not in _POSTCODE_SHORT_OK for t in tokens if t != found["postcode"]):
        del found["postcode"]
    return found, negative


# ----------------------------------------------------------------------------- strong formats
_EMAIL = re.compile(r"^[^\s@<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_SSN = re.compile(r"^(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}$")
_SSN_PLAIN = re.compile(r"^(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4}$")
_CARD_SHAPE = re.compile(r"^(?:[2-6]\d{3}|1800|2131)(?:[ -]?\d{1,6}){2,5}$")
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def is_email(v: str) -> bool:
    """A single e-mail address (not a list, not a display name)."""
    return bool(_EMAIL.match(v))


def is_us_ssn(v: str, *, allow_plain: bool = False) -> bool:
    """A US social security number NNN-NN-NNNN with a valid area, group and serial."""
    return bool(_SSN.match(v) or (allow_plain and _SSN_PLAIN.match(v)))


def ssn_structure_ok(digits: str) -> bool:
    """Nine digits with a valid SSN area (not 000, 666 or 9xx), group (not 00) and serial (not 0000)."""
    return bool(_SSN_PLAIN.match(digits))


def aba_ok(digits: str) -> bool:
    """The ABA routing-number checksum (weights 3, 7, 1) of nine digits holds."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    w = (3, 7, 1) * 3
    return sum(int(d) * k for d, k in zip(digits, w, strict=True)) % 10 == 0


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod-10) check digit of a string of digits is right."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# (first digits, allowed lengths) of the card schemes: Visa, Mastercard, Amex, Discover, Diners, JCB,
# UnionPay, Mir, Maestro. A Luhn-valid number whose prefix and length match no scheme (a 15-digit IMEI
# starting 35: JCB numbers starting 35 have 16-19 digits) is not a card.
_CARD_SCHEMES: tuple[tuple[tuple[int, int], frozenset[int]], ...] = (
    ((4, 4), frozenset({13, 16, 19})),
    ((51, 55), frozenset({16})),
    ((2221, 2720), frozenset({16})),
    ((34, 34), frozenset({15})),
    ((37, 37), frozenset({15})),
    ((6011, 6011), frozenset({16, 17, 18, 19})),
    ((644, 649), frozenset({16, 17, 18, 19})),
    ((65, 65), frozenset({16, 17, 18, 19})),
    ((300, 305), frozenset({14, 15, 16, 17, 18, 19})),
    ((3095, 3095), frozenset({14, 15, 16, 17, 18, 19})),
    ((36, 36), frozenset({14, 15, 16, 17, 18, 19})),
    ((38, 39), frozenset({14, 15, 16, 17, 18, 19})),
    ((3528, 3589), frozenset({16, 17, 18, 19})),
    ((35, 35), frozenset({16})),  # JCB as Faker writes it
    ((2131, 2131), frozenset({15})),
    ((1800, 1800), frozenset({15})),
    ((62, 62), frozenset({16, 17, 18, 19})),
    ((2200, 2204), frozenset({16, 17, 18, 19})),
    ((50, 50), frozenset(range(12, 20))),
    ((56, 69), frozenset(range(12, 20))),
)


def card_scheme_ok(digits: str) -> bool:
    """The number's first digits and its length belong to one card scheme."""
    n = len(digits)
    for (lo, hi), lengths in _CARD_SCHEMES:
        w = len(str(lo))
        if n in lengths and lo <= int(digits[:w]) <= hi:
            return True
    return False


def is_credit_card(v: str) -> bool:
    """12-19 digits (optionally grouped) whose prefix and length fit a card scheme, with a Luhn check."""
    if not _CARD_SHAPE.match(v):
        return False
    digits = re.sub(r"[ -]", "", v)
    return 12 <= len(digits) <= 19 and card_scheme_ok(digits) and luhn_ok(digits)


def iban_ok(iban: str) -> bool:
    """The ISO 13616 mod-97 check of a compact upper-case IBAN is 1."""
    moved = iban[4:] + iban[:4]
    num = "".join(str(int(ch, 36)) for ch in moved)
    return int(num) % 97 == 1


def is_iban(v: str) -> bool:
    """An IBAN, compact or in groups of four, whose mod-97 checksum holds."""
    compact = v.replace(" ", "").upper()
    return bool(_IBAN_SHAPE.match(compact)) and iban_ok(compact)


def is_ip(v: str) -> bool:
    """An IPv4 (dotted quad) or IPv6 address."""
    if not (7 <= len(v) <= 45) or not re.match(r"^[0-9A-Fa-f:.]+$", v):
        return False
    if ":" not in v and v.count(".") != 3:
        return False
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- phones and postcodes
_PHONE_CHARS = re.compile(r"^\+?[\d ()./-]+$")
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension|#)\s*\d{1,6}$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{4}$")


def is_phone(v: str) -> bool:
    """A phone number: a + country code, an area code in brackets, 3+ digit groups, or a 0-led trunk number."""
    s = _EXTENSION.sub("", v.strip())
    if not _PHONE_CHARS.match(s) or _ISO_DATE.match(s):
        return False
    digits = re.sub(r"\D", "", s)
    if not 8 <= len(digits) <= 15:
        return False
    groups = [g for g in re.split(r"[ ()./-]+", s.lstrip("+")) if g]
    if len(groups[-1]) < 2:  # ISBN-10/13 end in a single check digit; phone numbers do not
        return False
    if s.startswith("+"):
        return True
    if re.search(r"\(\d{1,5}\)", s):
        return True
    if len(groups) >= 3 and all(len(g) <= 5 for g in groups):
        return True
    if len(groups) == 2 and s.startswith("0") and len(digits) >= 9:
        return True
    return len(groups) == 1 and bool(re.match(r"^0[1-9]\d{8,11}$", s))


_POSTCODE_WEAK = re.compile(
    r"^(?:\d{5}|\d{4}|\d{6}|\d{5}-\d{4}|\d{3}-\d{4}|\d{5}-\d{3}|\d{8}|\d{2}-\d{3}|\d{3} \d{2})$"
)
_POSTCODE_STRONG = re.compile(
    r"^(?:[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"  # UK
    r"|[A-Z]\d[A-Z] ?\d[A-Z]\d"  # Canada
    r"|\d{4} ?[A-Z]{2})$"  # Netherlands
)


_UK_POSTCODE = re.compile(r"^([A-Z]{1,2})\d[A-Z\d]? ?\d[A-Z]{2}$")
# The 124 UK postcode areas (the letters before the first digit); other letters in that shape are
# licence plates and references ("CJ952TC" is an Italian plate).
_UK_AREAS = frozenset(
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH EN EX FK "
    "FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK ML N NE NG NN "
    "NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW "
    "UB W WA WC WD WF WN WR WS WV YO ZE".split()
)


def is_strong_postcode(v: str) -> bool:
    """A postcode whose format alone says so (UK with a real postcode area, Canada, Netherlands)."""
    s = v.strip().upper()
    if not _POSTCODE_STRONG.match(s):
        return False
    m = _UK_POSTCODE.match(s)
    return m is None or m.group(1) in _UK_AREAS


def is_postcode(v: str) -> bool:
    """A postcode-shaped string (numeric formats need a column-name cue or address context)."""
    s = v.strip()
    return bool(_POSTCODE_WEAK.match(s)) or is_strong_postcode(s)


# ----------------------------------------------------------------------------- Faker vocabularies
_VOCAB_LOCALES = (
    "en_US", "en_GB", "en_CA", "en_AU", "en_IN", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CA", "fr_CH", "it_IT",
    "es_ES", "es_MX", "es_AR", "pt_BR", "pt_PT", "nl_NL", "nl_BE", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI",
    "cs_CZ", "hu_HU", "ro_RO", "tr_TR", "ru_RU", "uk_UA", "el_GR", "ja_JP", "zh_CN", "zh_TW", "ko_KR", "id_ID",
)
_PARTICLES = frozenset(
    "da de do dos das di du del della der den van von zu la le les y e el al bin ben ibn mc st".split()
)
_TITLES = frozenset(
    "mr mrs ms miss mx dr prof sir madam herr frau fräulein m mme mlle sr sra srta dña don doña dott ing "
    "dipl univ jr sr ii iii iv v md dds phd dvm mba bsc msc ba ma b.sc m.sc b.a m.a b.eng m.eng llm "
    "univ.prof dipl.-ing mag pan pani panna mgr inż inż. lek dr. г-н г-жа гн гжа тов sig sig. sig.ra sig.na "
    "dott dott. dott.ssa avv avv. ing. geom rag".split()
)
_ORG_WORDS = frozenset(
    "gmbh ag kg kgaa ohg ug mbh co inc llc ltd plc corp corporation group sons company sa s.a sarl s.a.r.l sas "
    "eurl snc ltda s/a sl s.l s.l.l s.coop s.com srl spa s.p.a bv b.v nv n.v ab oy as a/s llp lp gbr ev e.v "
    "holding holdings partners associates asociados hnos industries solutions services systems technologies "
    "株式会社 有限会社 合同会社 & and und et y ооо оао зао пао ао ип нко нпо тоо чп sp sp. o.o o.o. s.c s.c. "
    "sp.j sp.j. sp.k s.r.l s.r.l. s.n.c s.a.s".split()
)
_GENERIC_STREET_WORDS = frozenset(
    "street st st. avenue ave ave. road rd rd. lane ln boulevard blvd drive dr. way court ct place pl square "
    "highway hwy straße strasse str. weg platz gasse allee ring ufer damm chaussee rue chemin impasse allée "
    "quai cours route voie rua avenida travessa praça alameda rodovia estrada largo calle carrera paseo plaza "
    "camino ronda via viale piazza corso vicolo straat laan plein gracht ulica aleja al. aleje os. osiedle plac "
    "pl. rondo skwer ul. ul ул ул. улица пр. пр-т пр-кт просп. проспект пер. переулок ш. шоссе б-р бул. бульвар "
    "наб. набережная пл. площадь проезд туп. тупик мкр мкр. микрорайон алл. аллея v.le p.za p.zza c.so "
    "largo strada contrada loc. località fraz. frazione".split()
)
# Words that introduce a house, building or flat number ("д. 5", "кв. 12", "m. 3", "Appartamento 6").
_UNIT_WORDS = frozenset(
    "д д. дом корп корп. к к. стр стр. строение кв кв. квартира оф оф. офис m m. lok lok. lokal mieszk mieszk. "
    "apt apt. apartment suite ste flat unit no no. nr nr. int int. interno scala piano appartamento wohnung "
    "whg whg. app app. bte".split()
)


def _strings(values: object) -> Iterable[str]:
    if isinstance(values, dict):
        values = list(values.keys())
    if isinstance(values, (list, tuple)):
        for v in values:
            if isinstance(v, str):
                yield v
            elif isinstance(v, tuple):
                yield from (x for x in v if isinstance(x, str))


def _provider(kind: str, locale: str) -> type | None:
    try:
        return importlib.import_module(f"faker.providers.{kind}.{locale}").Provider  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return None


def _fold(s: str) -> str:
    return unicodedata.normalize("NFC", s).casefold()


@lru_cache(maxsize=1)
def _vocab() -> dict[str, frozenset[str]]:
    """Name, city, street and country word lists gathered from Faker's locale providers (cached)."""
    names: set[str] = set()
    cities: set[str] = set()
    city_pre: set[str] = set()
    city_suf: set[str] = set()
    street: set[str] = set(_GENERIC_STREET_WORDS)
    street_suffix_tails: set[str] = {"straße", "strasse", "str.", "weg", "platz", "gasse", "allee", "ring", "damm"}
    countries: set[str] = set()
    orgs: set[str] = set(_ORG_WORDS)
    street_types: set[str] = set(_GENERIC_STREET_WORDS)
    for loc in _VOCAB_LOCALES:
        person = _provider("person", loc)
        if person is not None:
            for attr, val in vars(person).items():
                # first_names*, last_names*, unisex_last_names (pl_PL), middle_names* (patronymics, ru_RU)
                if any(w in attr for w in ("first_name", "last_name", "middle_name", "romanized")) and "format" not in attr:
                    for s in _strings(val):
                        if "{{" in s:
                            continue
                        for tok in s.replace("-", " ").split():
                            names.add(_fold(tok))
                        names.add(_fold(s))
        company = _provider("company", loc)
        if company is not None:
            for attr in ("company_prefixes", "company_suffixes"):
                for s in _strings(getattr(company, attr, ())):
                    orgs.update(t for t in (_fold(x).strip(",") for x in s.split())
                                if len(t) >= 2 and t not in _PARTICLES and not _CJK.search(t)
                                and not re.fullmatch(r"[^\W\d_]\.", t)
                                and not (t.isascii() and t.isalpha() and len(t) <= 3))
        addr = _provider("address", loc)
        if addr is None:
            continue
        for attr, val in vars(addr).items():
            strs = [s for s in _strings(val) if "{{" not in s and "#" not in s and "%" not in s]
            if attr in {"cities", "city_names", "states", "prefectures", "towns"}:
                cities.update(_fold(s) for s in strs)
            elif attr == "city_prefixes":
                city_pre.update(_fold(s) for s in strs)
            elif attr == "city_suffixes":
                city_suf.update(_fold(s).strip() for s in strs)
            elif "street" in attr and "format" not in attr:
                for s in strs:
                    street.add(_fold(s).strip())
                    if attr.endswith("short"):
                        street_suffix_tails.add(_fold(s).strip())
                    if ("suffix" in attr or "prefix" in attr) and len(s.strip()) <= 12 and " " not in s.strip():
                        street_types.add(_fold(s).strip())
            elif attr == "countries":
                countries.update(_fold(s) for s in strs)
    names -= _PARTICLES
    names = {n for n in names if len(n) > 1 or not n.isascii()}
    return {
        "names": frozenset(names),
        "cities": frozenset(cities),
        "city_prefixes": frozenset(city_pre),
        "city_suffixes": frozenset(s for s in city_suf if len(s) >= 3),
        "street_words": frozenset(street),
        "street_tails": frozenset(street_suffix_tails),
        "street_types": frozenset(street_types | street_suffix_tails),
        "countries": frozenset(countries),
        "orgs": frozenset(orgs - names),
    }


_CJK = re.compile(r"[\u3040-\u30FF\u3400-\u9FFF\uF900-\uFAFF]")
_WORDISH = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*\.?$")


def _is_org(tokens: list[str]) -> bool:
    orgs = _vocab()["orgs"]
    for t in tokens:
        f = _fold(t).strip(",")
        if f in orgs or f.strip(".") in orgs:
            return True
    joined = "".join(tokens)
    return bool(_CJK.search(joined)) and any(t in joined for t in ("株式会社", "有限会社", "合同会社"))


def _cjk_name(s: str, names: frozenset[str]) -> bool:
    compact = s.replace(" ", "").replace("\u3000", "")
    if not (2 <= len(compact) <= 7) or not all(_CJK.match(ch) for ch in compact):
        return False
    parts = s.split()
    if len(parts) == 2:
        return _fold(parts[0]) in names or _fold(parts[1]) in names
    if len(parts) == 1:
        if _fold(compact) in names:
            return True
        return any(_fold(compact[:i]) in names and _fold(compact[i:]) in names for i in range(1, len(compact)))
    return False


# Patronymics (Russian, Ukrainian, Belarusian; Cyrillic and Latin spelling) say "person" on their own.
_PATRONYMIC = re.compile(r"(?:ович|евич|ьич|овна|евна|ична|ovich|evich|ovitch|evitch|ovna|evna)$")
# Family-name endings (Slavic, Baltic, Ukrainian): support a name, never enough alone (Ростов, Kraków).
_SURNAME_END = re.compile(
    r"(?:ов|ев|ёв|ин|ын|ова|ева|ёва|ина|ына|ский|ская|цкий|цкая|енко|ук|юк|ski|ska|cki|cka|dzki|dzka|wicz"
    r"|czyk|czak|owski|owska|ov|ev|ova|eva|sky|skiy|skaya|enko)$"
)
_FEMININE = (("ская", "ский"), ("цкая", "цкий"), ("ова", "ов"), ("ева", "ев"), ("ёва", "ёв"), ("ина", "ин"),
             ("ына", "ын"), ("ska", "ski"), ("cka", "cki"), ("dzka", "dzki"), ("ova", "ov"), ("eva", "ev"),
             ("skaya", "sky"), ("na", "ny"))
_INITIAL = re.compile(r"^[^\W\d_]\.$")
_INITIALS_RUN = re.compile(r"(?<=\b[^\W\d_]\.)(?=[^\W\d_]\.)")


def _name_word(w: str, names: frozenset[str]) -> str:
    """K (a known name), P (patronymic), M (family-name ending), I (initial) or U (unknown)."""
    f = _fold(w)
    if f in names:
        return "K"
    if _INITIAL.match(w):
        return "I"
    if len(f) >= 5 and _PATRONYMIC.search(f):
        return "P"
    for fem, masc in _FEMININE:  # Ivanova -> Ivanov, Kowalska -> Kowalski, Narożna -> Narożny
        if f.endswith(fem) and len(f) > len(fem) + 2 and f[: -len(fem)] + masc in names:
            return "K"
    if len(f) >= 4 and _SURNAME_END.search(f):
        return "M"
    return "U"


def is_person_name(v: str) -> bool:
    """A personal name (given, family or full, with titles): known name tokens, no digits, no org words.

    Beyond Faker's name lists, a name is recognised by its structure: patronymics (-ович, -овна, -ovich),
    initials ("Иванов И. И."), feminine family-name forms of known names (Kowalska, Ivanova) and
    family-name endings (-ов, -ski, -wicz) next to a known name or initials.
    """
    s = _INITIALS_RUN.sub(" ", v.strip())
    if not s or len(s) > 80 or any(ch.isdigit() for ch in s) or "@" in s:
        return False
    voc = _vocab()
    if _CJK.search(s):
        return _cjk_name(s, voc["names"]) and not _city_marker(s)
    tokens = s.replace(",", " ").split()
    if not 1 <= len(tokens) <= 6 or _is_org(tokens):
        return False
    core = [t for t in tokens if _fold(t).strip(".") not in _TITLES and _fold(t) not in _TITLES]
    core = [t for t in core if _fold(t) not in _PARTICLES]
    if not core or not all(_WORDISH.match(t) for t in core):
        return False
    if not all(t[0].isupper() for t in core):
        return False
    if _city_marker(s) or _fold(s) in voc["countries"] or _fold(s) in voc["cities"]:
        return False
    words = [w for t in core for w in t.split("-")]
    kinds = [_name_word(w, voc["names"]) for w in words]
    strong = kinds.count("K") + kinds.count("P")
    support = strong + kinds.count("M") + kinds.count("I")
    if strong >= 1 and (kinds.count("K") * 2 >= len(words) or support * 2 >= len(words) + 1):
        return True
    # "Курбатов А. Д.", "Nowicki J.": a family-name ending with initials, nothing unknown
    return "I" in kinds and "M" in kinds and "U" not in kinds


def _city_marker(s: str) -> bool:
    voc = _vocab()
    f = _fold(s)
    tokens = f.split()
    if not tokens:
        return False
    if tokens[0] in voc["city_prefixes"] and len(tokens) >= 2:
        return True
    if _CJK.search(s):
        return bool(re.search(r"[市区町村郡]$", s))
    for n, sufs in _suffixes_by_length():
        if len(f) > n + 1 and f[-n:] in sufs:
            return True
    return False


@lru_cache(maxsize=1)
def _suffixes_by_length() -> tuple[tuple[int, frozenset[str]], ...]:
    by: dict[int, set[str]] = {}
    for suf in _vocab()["city_suffixes"]:
        by.setdefault(len(suf), set()).add(suf)
    return tuple((n, frozenset(v)) for n, v in sorted(by.items()))


_REGION_NOTE = re.compile(r"\s*\([^()]{1,30}\)$")


def is_city(v: str) -> bool:
    """A town or city: a known city, or a name with a city prefix/suffix (Port ..., ...-sur-Mer, ...市).

    A settlement-type prefix (Faker's `city_prefixes`: "г.", "с.", "пгт") may be lower case, and a
    trailing region note in brackets ("Белый Яр (Томск.)") is ignored.
    """
    s = _REGION_NOTE.sub("", v.strip())
    if not s or len(s) > 60 or any(ch.isdigit() for ch in s) or "@" in s:
        return False
    voc = _vocab()
    f = _fold(s)
    if f in voc["countries"]:
        return False
    if f in voc["cities"]:
        return True
    tokens = s.split()
    if len(tokens) > 5 or _is_org(tokens):
        return False
    if _CJK.search(s):
        return bool(re.fullmatch(r"[\u3400-\u9FFF\u3040-\u30FF]{1,8}[市区町村郡]", s.replace(" ", "")))
    prefixes = voc["city_prefixes"]
    if not all(t[0].isupper() or _fold(t) in _PARTICLES or t[0] == "-" or _fold(t) in prefixes for t in tokens):
        return False
    if len(tokens) >= 2 and _fold(tokens[0]) in prefixes and _fold(" ".join(tokens[1:])) in voc["cities"]:
        return True
    return _city_marker(s)


_ADDR_TOKEN = re.compile(r"[^\W\d_]+(?:[.-][^\W\d_]+)*\.?|\d+[^\W\d_]?")
_HEXISH = re.compile(r"^[a-f]+$")
_ADDR_PIECE = re.compile(r"[^\W\d_]+\.?|\d+")
_HOUSE_NO = re.compile(r"(?:^|[\s,])\d{1,5}[a-zA-Z]?(?:[/-]\d{1,4}[a-zA-Z]?)?(?:$|[\s,])")
_JA_BLOCK = re.compile(r"\d+丁目|\d+番地?|\d+号|\d+-\d+-\d+")


def is_street_address(v: str) -> bool:
    """A street address line: a street word (Faker's and common ones, many languages) and usually a number."""
    s = v.strip().replace("\n", ", ")
    if not 4 <= len(s) <= 160 or "@" in s:
        return False
    if _CJK.search(s):
        return bool(_JA_BLOCK.search(s))
    voc = _vocab()
    words = [w.strip(",") for w in _fold(s).split()]
    if not words or len(words) > 16:
        return False
    has_no = bool(_HOUSE_NO.search(s))
    street_words = voc["street_words"]
    if words[0] in street_words and len(words) >= 2 and not words[1].isdigit():
        return True  # "rue ...", "Calle ...", "Avenida ..." (prefix languages, number optional)
    if has_no and any(w in street_words for w in words[1:]):
        return True
    tails = voc["street_tails"]
    if has_no and any(w.endswith(t) and len(w) > len(t) + 2 for w in words for t in tails):
        return True
    # compact and abbreviated forms: "ул.Ленина,д.5,кв.12", "ul.Łanowa 77/3", "Ленинский пр-т, д. 5", "P.za Roma 3"
    folded = _fold(s)
    toks = _ADDR_TOKEN.findall(folded) + _ADDR_PIECE.findall(folded)
    types = voc["street_types"]
    typed = any(t in types and len(t.rstrip(".")) >= 2 for t in toks if not t[0].isdigit())
    named = any(len(t.rstrip(".")) >= 3 and not _HEXISH.match(t) for t in toks if not t[0].isdigit())
    numbered = any(t[0].isdigit() for t in toks)
    return typed and named and numbered and len(_ADDR_PIECE.findall(folded)) >= 3


# ----------------------------------------------------------------------------- free text
_EMB_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_EMB_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(0\)\s?)?\(?\d{1,5}\)?(?:[ .-]?\d{2,5}){1,4}"
    r"|\(\d{2,5}\)\s?\d{2,5}(?:[ .-]\d{2,5}){0,3}"
    r"|\d{2,5}[ .-]\d{3,4}[ .-]\d{3,5})(?![\w-])"
)
_EMB_SSN = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")
_EMB_CARD = re.compile(r"(?<!\d)(?:[2-6]\d{3}|1800|2131)(?:[ -]?\d{2,6}){2,4}(?!\d)")
_EMB_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_EMB_IP = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def embedded_pii(text: str) -> str | None:
    """The kind of the first structured PII value found inside a longer text, or None."""
    if _EMB_EMAIL.search(text):
        return "email"
    for m in _EMB_IBAN.finditer(text):
        if is_iban(m.group(0)):
            return "iban"
    for m in _EMB_CARD.finditer(text):
        if is_credit_card(m.group(0)):
            return "credit_card"
    for m in _EMB_SSN.finditer(text):
        if is_us_ssn(m.group(0)):
            return "us_ssn"
    for m in _EMB_PHONE.finditer(text):
        if is_phone(m.group(0)) and not _ISO_DATE.match(m.group(0)):
            return "phone"
    for m in _EMB_IP.finditer(text):
        if is_ip(m.group(0)):
            return "ip_address"
    return None
