"""Column values for the sample generator: realistic, typed, and now and then deliberately hard.

`value_fn(column, today=..., index=...)` compiles one column into a function
`(rng, row) -> value` that never returns NULL (the generator decides NULLs). The value follows,
in this order: the column's `gen` hint (`HINTS`; an unknown hint raises), its `choices`, or its
type plus name heuristics (`IS_ACTIVE` is mostly true, `*_EMAIL` looks like an e-mail, ...).

Python types per kind: INTEGER int, DECIMAL Decimal at the column's scale and precision,
VARCHAR/TEXT str (VARCHAR never longer than its length in characters), DATE date, TIMESTAMP
naive datetime at whole seconds, BOOLEAN bool. Dates are relative to `today` (the backup date).

Free text is sometimes hostile on purpose (`HARD_STRINGS`): CSV and SQL delimiters, quotes,
backslashes, line breaks, tabs, padding, non-ASCII, the text 'NULL' and the empty string.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from marina_assets.catalog.model import Column, Kind

ValueFn = Callable[[random.Random, list[Any]], Any]

NULL_RATE = 0.10  # share of NULLs in nullable non-key columns
HARD_RATE = 0.05  # share of hard strings in ordinary free text
NOTE_HARD_RATE = 0.35  # share of hard strings in `note` columns

# fmt: off
HINTS = frozenset({
    "beam_ft", "birth_date", "boat_make", "boat_model", "boat_name", "city", "code", "company", "count",
    "country", "date_future", "date_past", "date_recent", "draft_ft", "email", "first_name",
    "full_name", "hull_id", "last_name", "length_ft", "line_no", "money", "note", "pct", "phone", "qty",
    "rate", "registration", "small_money", "state", "street", "ts_past", "ts_recent", "url", "words",
    "year", "zip",
})
AFTER = "after:"

HARD_STRINGS: tuple[str, ...] = (
    "Smith, John", 'He said "hello"', "O'Brien's slip", "C:\\Users\\dock\\slip.txt",
    "ends with a backslash\\", "\\N", "line one\nline two", "windows line\r\nsecond line",
    "tab\tseparated\tvalue", "  leading spaces", "trailing spaces  ", " padded, \"quoted\" and 'single' ",
    "Café Müller \u2013 中文 ü", "NULL", "null", ",", '"', "'", "", "mix: , \" ' \\ \t \r\n end",
)
HARD_STRINGS_NOT_EMPTY = tuple(s for s in HARD_STRINGS if s)

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Chris", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "José", "Zoë", "Renée",
    "Seán", "Chloé",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "O'Brien", "O'Neil",
    "D'Angelo", "McAllister", "Müller", "Peña", "Nguyen", "Van der Berg", "St. James",
)
CITIES = (
    "Annapolis", "Fort Lauderdale", "Newport", "Charleston", "San Diego", "Key West", "Sarasota", "Mystic",
    "Bar Harbor", "Marblehead", "St. Petersburg", "Destin", "Naples", "Beaufort", "Kemah",
    "Lake Havasu City", "Traverse City", "Sausalito", "Hilton Head Island", "Nantucket", "Coeur d'Alene",
    "Port Aransas", "Clearwater", "Solomons",
)
STATES = (
    "MD", "FL", "RI", "SC", "CA", "ME", "MA", "TX", "NC", "MI", "ID", "AZ", "NY", "NJ", "CT", "VA", "WA",
    "GA", "AL", "LA",
)
COUNTRIES = ("United States",) * 8 + ("Canada", "Bahamas", "Mexico", "British Virgin Islands")
STREETS = (
    "Harbor", "Marina", "Bay", "Ocean", "Dockside", "Lighthouse", "Anchor", "Seaside", "Main", "Water",
    "Pier", "Shoreline", "Front",
)
SUFFIXES = ("St", "Ave", "Blvd", "Rd", "Dr", "Way", "Ln", "Ct", "Pkwy")
UNITS = ("Suite 100", "Apt 4B", "Unit 12", "Slip C-14", "PO Box 881", "Bldg 2", "Fl 3")
COMPANY_SUFFIXES = (
    "Marine LLC", "Yacht Services", "Boat Works", "Marine Supply Co.", "& Sons, Inc.", "Holdings LLC",
    "Outfitters", "Canvas & Upholstery", "Insurance Agency",
)
BOAT_MAKES = (
    "Boston Whaler", "Sea Ray", "Catalina", "Grady-White", "Bayliner", "Beneteau", "Hunter", "Chaparral",
    "Yamaha", "Bennington", "Regal", "Cobalt", "Jeanneau", "Hatteras", "Viking", "Sea Fox", "Tracker",
    "MasterCraft", "Malibu", "Lund", "Formula", "Chris-Craft", "Tiara", "Pursuit", "Everglades", "Scout",
    "Hinckley", "Carver", "Sabre", "Robalo",
)
BOAT_MODELS = (
    "Montauk", "Sundancer", "Outrage", "Freedom", "Element", "Dauntless", "Vantage", "Express", "Sport",
    "Fisherman", "Dual Console", "Center Console", "Cuddy", "Bowrider", "Pontoon", "Cruiser", "Flybridge",
    "Sedan", "Explorer", "Open",
)
BOAT_NAMES = (
    "Serenity", "Nauti Buoy", "Second Wind", "Island Time", "Miss Behavin'", "Pier Pressure",
    "Unsinkable II", "Sea-Esta", "Reel Therapy", "Knot on Call", "Seas the Day", "Liquid Asset",
    "Aquaholic", "Wind Dancer", "Happy Hour", "Blue Heron", "Salty Dog", "Last Resort", "Sea Señora",
    "Dock Holiday", "Ship Happens", "Osprey",
)
WORDS = (
    "standard", "premium", "seasonal", "annual", "monthly", "transient", "covered", "uncovered", "dock",
    "slip", "fuel", "pump", "storage", "winter", "summer", "launch", "haul-out", "rental", "service",
    "repair", "canvas", "electric", "water", "power", "harbor", "marina", "mooring", "ramp", "dry", "rack",
    "wet", "basic", "deluxe", "weekend", "weekday", "pontoon", "kayak",
)
NOTE_SENTENCES = (
    "Customer requested a slip near the fuel dock.", "Prefers morning departures, calls ahead.",
    "Shore power: 30A, please check the pedestal.", "Paid by check; receipt mailed.",
    "Boat hauled for bottom paint, back in two weeks.", "Insurance certificate on file, renewal pending.",
    "Gate code given to owner's son.", "Winterize engine and shrink-wrap by Nov 15.",
    "Don't block the launch ramp on weekends.", "Liveaboard approved by the harbormaster.",
)
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "comcast.net", "example.org")
TIMEZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
CURRENCY_SYMBOLS = ("$", "C$", "€")
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

_NUMBERS: dict[str, tuple[float, float, int]] = {  # hint -> (low, high, natural decimals)
    "money": (0, 5000, 2), "small_money": (0, 250, 2), "rate": (0.01, 0.12, 4), "pct": (0, 100, 2),
    "_exchange_rate": (0.5, 1.6, 6), "qty": (1, 60, 2), "count": (0, 40, 0), "length_ft": (14, 85, 1),
    "beam_ft": (5, 24, 1), "draft_ft": (1, 9, 1), "line_no": (1, 30, 0), "_int": (0, 1000, 0),
    "_ext_id": (1000, 999999, 0),
}
_INT_RANGES: dict[str, tuple[int, int]] = {"qty": (1, 12), "money": (0, 5000), "small_money": (0, 250)}
# fmt: on


def _pick(pool: Sequence[Any]) -> Callable[[random.Random], Any]:
    n = len(pool)
    return lambda rng: pool[int(rng.random() * n)]


def _digits(rng: random.Random, n: int) -> str:
    return f"{int(rng.random() * 10**n):0{n}d}"


def _letters(rng: random.Random, n: int) -> str:
    return "".join([LETTERS[int(rng.random() * len(LETTERS))] for _ in range(n)])


def _name(rng: random.Random) -> str:
    first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))]
    return f"{first} {LAST_NAMES[int(rng.random() * len(LAST_NAMES))]}"


def _mailbox(name: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", name.lower()) if ch.isascii() and ch.isalnum())


_MAIL_FIRST = tuple(_mailbox(n) for n in FIRST_NAMES)
_MAIL_LAST = tuple(_mailbox(n) for n in LAST_NAMES)


def _email(rng: random.Random) -> str:
    first = _MAIL_FIRST[int(rng.random() * len(_MAIL_FIRST))]
    last = _MAIL_LAST[int(rng.random() * len(_MAIL_LAST))]
    return f"{first}.{last}{int(rng.random() * 100)}@{DOMAINS[int(rng.random() * len(DOMAINS))]}"


def _company(rng: random.Random) -> str:
    base = rng.choice((LAST_NAMES, CITIES, BOAT_NAMES))
    suffix = COMPANY_SUFFIXES[int(rng.random() * len(COMPANY_SUFFIXES))]
    return f"{base[int(rng.random() * len(base))]} {suffix}"


def _hull_id(rng: random.Random) -> str:
    return f"{_letters(rng, 3)}{_digits(rng, 5)}{_letters(rng, 1)}{_digits(rng, 3)}"


def _some(rng: random.Random, pool: Sequence[str], most: int) -> str:
    return " ".join([pool[int(rng.random() * len(pool))] for _ in range(1 + int(rng.random() * most))])


def _note(rng: random.Random) -> str:
    return _some(rng, NOTE_SENTENCES, 3)


def _words(rng: random.Random) -> str:
    return _some(rng, WORDS, 3).capitalize()


# fmt: off
TEXT_HINTS: dict[str, Callable[[random.Random], str]] = {
    "first_name": _pick(FIRST_NAMES), "last_name": _pick(LAST_NAMES), "full_name": _name, "email": _email,
    "phone": lambda rng: f"({_digits(rng, 3)}) {_digits(rng, 3)}-{_digits(rng, 4)}",
    "company": _company, "city": _pick(CITIES), "state": _pick(STATES), "country": _pick(COUNTRIES),
    "street": lambda rng: f"{1 + int(rng.random() * 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}",
    "zip": lambda rng: _digits(rng, 5) if rng.random() < 0.8 else f"{_digits(rng, 5)}-{_digits(rng, 4)}",
    "boat_name": _pick(BOAT_NAMES), "boat_make": _pick(BOAT_MAKES), "hull_id": _hull_id,
    "boat_model": lambda rng: f"{rng.choice(BOAT_MODELS)} {int(15 + rng.random() * 50)}",
    "registration": lambda rng: f"{rng.choice(STATES)} {_digits(rng, 4)} {rng.choice(STATES)}",
    "code": lambda rng: f"{_letters(rng, 3)}-{_digits(rng, 4)}", "words": _words, "note": _note,
    "url": lambda rng: f"https://www.{rng.choice(WORDS)}-marina.com/{rng.choice(WORDS)}/{_digits(rng, 4)}",
    # internal hints of the name heuristics
    "_unit": _pick(UNITS), "_timezone": _pick(TIMEZONES), "_currency_symbol": _pick(CURRENCY_SYMBOLS),
    "_clock": lambda rng: f"{6 + int(rng.random() * 13):02d}:{rng.choice(('00', '15', '30', '45'))}",
    "_last4": lambda rng: _digits(rng, 4), "_extension": lambda rng: str(100 + int(rng.random() * 900)),
}
# fmt: on
FREE_TEXT = frozenset({"full_name", "company", "street", "boat_name", "words", "note"})

# fmt: off
# hint -> offset range in days relative to the backup date; negative = past
_DATES: dict[str, tuple[float, float]] = {
    "date_past": (-3 * 365, -365), "date_recent": (-60, 60), "date_future": (1, 365),
    "birth_date": (-80 * 365.25, -18 * 365.25), "ts_past": (-3 * 365, -365), "ts_recent": (-30, 0),
}

# name heuristics for columns without `gen` or `choices`: (needles, hint); first match wins, "" matches all
_NAME_RULES: dict[Kind, tuple[tuple[str, str], ...]] = {
    Kind.VARCHAR: (
        ("EMAIL", "email"), ("PHONE|FAX|MOBILE|CELL", "phone"), ("FIRST_NAME|FIRSTNAME", "first_name"),
        ("LAST_NAME|LASTNAME", "last_name"), ("LAST4", "_last4"), ("ADDRESS2|ADDRESS_2|LINE2", "_unit"),
        ("CITY", "city"), ("STATE|PROVINCE", "state"), ("ZIP|POSTAL", "zip"), ("COUNTRY", "country"),
        ("ADDRESS|STREET|ADDR", "street"), ("URL|WEBSITE|LINK", "url"), ("TIMEZONE|TIME_ZONE", "_timezone"),
        ("SYMBOL", "_currency_symbol"), ("TIME", "_clock"), ("EXTENSION", "_extension"),
        ("HULL|HIN", "hull_id"), ("MAKE", "boat_make"), ("MODEL", "boat_model"),
        ("NOTE|COMMENT|MEMO|DESCRIPTION|REMARK|INSTRUCTION", "note"), ("CODE|SKU|NUMBER|REF", "code"),
        ("", "words"),
    ),
    Kind.INTEGER: (
        ("YEAR", "year"), ("QTY|QUANTITY", "qty"), ("LINE", "line_no"), ("_ID", "_ext_id"),
        ("COUNT|NUM|SEQ|SORT|ORDER|POSITION|PRIORITY|DAYS", "count"), ("", "_int"),
    ),
    Kind.DECIMAL: (
        ("EXCHANGE", "_exchange_rate"), ("RATE", "rate"), ("PCT|PERCENT", "pct"),
        ("QTY|QUANTITY|GALLONS|HOURS", "qty"), ("LENGTH|LOA", "length_ft"), ("BEAM", "beam_ft"),
        ("DRAFT", "draft_ft"), ("", "money"),
    ),
    Kind.DATE: (("BIRTH|DOB", "birth_date"), ("EXPIR|DUE|END|UNTIL", "date_future"), ("", "date_recent")),
    Kind.TIMESTAMP: (("CREATED", "ts_past"), ("", "ts_recent")),
}
_MOSTLY_FALSE = ("INACTIVE", "ARCHIVED", "VOID", "DELETED", "LOCKED", "CLOSED", "DAMAGE", "ELIMINATION",
                 "SUMMARY", "ADJUST", "QUARTER", "YEAR", "EXEMPT", "1099", "PINNED", "PRIVATE", "COGS")
_MOSTLY_TRUE = ("ACTIVE", "OPEN", "POSTING", "TAXABLE", "VERIFIED", "ALLOWED", "POSTED")
# fmt: on


def infer_hint(column: Column) -> str:
    """The hint a column without `gen` and `choices` is generated with (name heuristics)."""
    kind = Kind.VARCHAR if column.type.kind is Kind.TEXT else column.type.kind
    if kind is Kind.BOOLEAN:
        return "_bool"
    for needles, hint in _NAME_RULES[kind]:
        if any(n in column.name for n in needles.split("|")):
            return hint
    raise AssertionError(f"no rule for {column.type}")  # every kind's rules end with a catch-all


def after_source(column: Column) -> str | None:
    """The column named by an `after:<SourceColumnName>` hint, if any."""
    if column.gen and column.gen.startswith(AFTER):
        return column.gen[len(AFTER) :]
    return None


def check_hint(column: Column) -> None:
    if column.gen is not None and column.gen not in HINTS and after_source(column) is None:
        known = ", ".join(sorted(HINTS))
        raise ValueError(f"column {column.source}: unknown generator hint {column.gen!r}; known: {known}")


def _decimal_fn(column: Column, low: float, high: float, natural: int, negatives: float) -> ValueFn:
    scale = column.type.scale or 0
    up, down = 10 ** max(0, scale - natural), 10 ** max(0, natural - scale)
    top = (10 ** (column.type.precision or 18) - 1) * down // up  # the column's largest value, at `natural`
    lo = min(round(low * 10**natural), top)
    span = min(round(high * 10**natural), top) - lo + 1
    if negatives:

        def signed(rng: random.Random, row: list[Any]) -> Decimal:
            units = (lo + int(rng.random() * span)) * up // down
            return Decimal(-units if rng.random() < negatives else units).scaleb(-scale)

        return signed
    return lambda rng, row: Decimal((lo + int(rng.random() * span)) * up // down).scaleb(-scale)


def _number_fn(column: Column, hint: str, today: date) -> ValueFn:
    low, high, natural = (1975, today.year + 1, 0) if hint == "year" else _NUMBERS[hint]
    kind = column.type.kind
    if kind is Kind.DECIMAL:
        return _decimal_fn(column, low, high, natural, 0.03 if hint == "money" else 0.0)
    if kind is Kind.INTEGER:
        ilo, ihigh = _INT_RANGES.get(hint, (int(low), int(high)))
        ispan = ihigh - ilo + 1
        return lambda rng, row: ilo + int(rng.random() * ispan)
    text = _decimal_fn(column, low, high, natural, 0.0)
    return lambda rng, row: format(text(rng, row), "f")


@cache
def _offsets() -> tuple[list[timedelta], list[timedelta]]:
    """Whole days (100 years) and seconds (one day): adding two of these beats building a timedelta."""
    return [timedelta(days=d) for d in range(100 * 366)], [timedelta(seconds=s) for s in range(86400)]


def _date_fn(column: Column, hint: str, today: date) -> ValueFn:
    low, high = _DATES[hint]
    days, seconds = _offsets()
    if column.type.kind is Kind.TIMESTAMP:
        anchor = datetime(today.year, today.month, today.day) + timedelta(days=low)
        span_s = int((high - low) * 86400)

        def stamp(rng: random.Random, row: list[Any]) -> datetime:
            d, s = divmod(int(rng.random() * span_s), 86400)
            return anchor + days[d] + seconds[s]

        return stamp
    first, span_d = today + timedelta(days=int(low)), int(high - low) + 1
    fn: ValueFn = lambda rng, row: first + days[int(rng.random() * span_d)]  # noqa: E731
    if column.type.kind is Kind.DATE:
        return fn
    return lambda rng, row: fn(rng, row).isoformat()


def _after_fn(column: Column, source_index: int, today: date) -> ValueFn:
    fallback = _date_fn(column, "ts_recent" if column.type.kind is Kind.TIMESTAMP else "date_recent", today)
    kind = column.type.kind
    now = datetime(today.year, today.month, today.day)
    days, seconds = _offsets()

    def fn(rng: random.Random, row: list[Any]) -> Any:
        start = row[source_index]
        if not isinstance(start, date):  # NULL (or not a date): any value will do
            return fallback(rng, row)
        start_ts = start if isinstance(start, datetime) else datetime(start.year, start.month, start.day)
        room = (now - start_ts).total_seconds()
        span = 30 * 86400 if room <= 0 else min(max(room, 86400), 365 * 86400)
        d, s = divmod(int(rng.random() * span), 86400)
        value = start_ts + days[d] + seconds[s]
        if kind is Kind.TIMESTAMP:
            return value
        if kind is Kind.DATE:
            return value.date()
        return value.isoformat(sep=" ")

    return fn


def _long_note(rng: random.Random) -> str:
    return "\n".join(_note(rng) for _ in range(1 + int(rng.random() * 3)))


def _text_fn(column: Column, hint: str) -> ValueFn:
    base = _long_note if hint == "note" and column.type.kind is Kind.TEXT else TEXT_HINTS[hint]
    hard_rate = NOTE_HARD_RATE if hint == "note" else HARD_RATE if hint in FREE_TEXT else 0.0
    hard = HARD_STRINGS if column.nullable else HARD_STRINGS_NOT_EMPTY
    limit = column.type.length if column.type.kind is Kind.VARCHAR else None

    def fn(rng: random.Random, row: list[Any]) -> str:
        s = hard[int(rng.random() * len(hard))] if hard_rate and rng.random() < hard_rate else base(rng)
        return s[:limit] if limit is not None and len(s) > limit else s

    return fn


def _truncating(fn: ValueFn, limit: int) -> ValueFn:
    def truncated(rng: random.Random, row: list[Any]) -> Any:
        s = fn(rng, row)
        return s[:limit] if len(s) > limit else s

    return truncated


def _bool_fn(column: Column) -> ValueFn:
    share = 0.5
    if any(n in column.name for n in _MOSTLY_FALSE):
        share = 0.1
    elif any(n in column.name for n in _MOSTLY_TRUE):
        share = 0.85
    return lambda rng, row: rng.random() < share


def value_fn(column: Column, *, today: date, index: Mapping[str, int]) -> ValueFn:
    """Compile `column` into a non-NULL value function for backup date `today`.

    `index` maps column names (source and warehouse) to positions in the row being built, so
    `after:` hints can read the value they follow (the generator fills that one first).
    """
    check_hint(column)
    fn, limited = _compile(column, today, index)
    if column.type.kind is Kind.VARCHAR and column.type.length and not limited:
        fn = _truncating(fn, column.type.length)
    return fn


def _compile(column: Column, today: date, index: Mapping[str, int]) -> tuple[ValueFn, bool]:
    """The column's value function and whether it already keeps to the VARCHAR length."""
    kind = column.type.kind
    source = after_source(column)
    if source is not None:
        position = index.get(source, index.get(source.upper()))
        if position is None:
            raise ValueError(f"column {column.source}: {column.gen!r} names no column of its table")
        return _after_fn(column, position, today), False
    if column.gen is None and column.choices:
        choices = column.choices
        size = len(choices)
        return (lambda rng, row: choices[int(rng.random() * size)]), True  # the closed set, as declared
    hint = column.gen or infer_hint(column)
    if hint == "_bool" or kind is Kind.BOOLEAN:
        return _bool_fn(column), True
    if hint in _NUMBERS or hint == "year":
        if kind in (Kind.INTEGER, Kind.DECIMAL, Kind.VARCHAR, Kind.TEXT):
            return _number_fn(column, hint, today), False
    elif hint in _DATES:
        if kind in (Kind.DATE, Kind.TIMESTAMP, Kind.VARCHAR, Kind.TEXT):
            return _date_fn(column, hint, today), False
    elif hint in TEXT_HINTS and kind in (Kind.VARCHAR, Kind.TEXT):
        return _text_fn(column, hint), True
    # a hint that does not fit the column's type: fall back to the type's own heuristics
    return _compile(Column(**{**column.__dict__, "gen": None, "choices": None}), today, index)
