"""Every view's rows computed in plain Python from the generator's truth, not from SQL.

Each function takes the live rows of the DW tables (from `expected_state`) and returns
`{row key: {column: value}}` for one view, following the view's documented rules (the column
descriptions in `marina_assets.views.catalog`). Tests compare them with what the engine returns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marina_assets.catalog import system
from marina_assets.sample_data import ExpectedRow
from marina_assets.views.catalog import NS_TYPE_VIEWS, ns_type_view_name

Rows = dict[tuple[Any, ...], dict[str, Any]]
Truth = dict[str, dict[tuple, ExpectedRow]]


def live(truth: Truth, code: str, source: str) -> list[dict[str, Any]]:
    table = system(code).table(source)
    return [
        dict(zip(table.column_names, r.values, strict=True))
        for r in truth[table.dw_name].values()
        if not r.is_deleted
    ]


def _by_id(rows: list[dict[str, Any]], key: str = "ID") -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


def round_half_up(value: Decimal, places: int) -> Decimal:
    """SQL's ROUND (half away from zero for positive values), not Python's banker's rounding."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _band(length: Decimal) -> tuple[int, str]:
    bands = ((20, "under 20 ft"), (30, "20-29 ft"), (40, "30-39 ft"), (50, "40-49 ft"), (60, "50-59 ft"))
    for i, (limit, label) in enumerate(bands, start=1):
        if length < limit:
            return i, label
    return 6, "60 ft and over"


# -- MOLO --------------------------------------------------------------------------------------


def _molo(truth: Truth) -> dict[str, Any]:
    marinas = _by_id(live(truth, "MOLO", "MarinaLocations"))
    piers = _by_id(live(truth, "MOLO", "Piers"))
    statuses = _by_id(live(truth, "MOLO", "ReservationStatus"))
    slip_marina = {
        s["ID"]: (piers[s["PIER_ID"]]["MARINA_LOCATION_ID"], s["IS_ACTIVE"])
        for s in live(truth, "MOLO", "Slips")
        if s["PIER_ID"] in piers
    }
    stays = [
        r
        for r in live(truth, "MOLO", "Reservations")
        if r["STATUS_ID"] in statuses and statuses[r["STATUS_ID"]]["COUNTS_AS_OCCUPIED"]
    ]
    return {"marinas": marinas, "piers": piers, "statuses": statuses, "slips": slip_marina, "stays": stays}


def _nights(stays: list[dict[str, Any]]) -> list[date]:
    if not stays:
        return []
    first = min(s["ARRIVAL_DATE"] for s in stays)
    last = max(s["DEPARTURE_DATE"] for s in stays)
    return [first + timedelta(days=i) for i in range((last - first).days)]


def slip_counts(truth: Truth) -> Rows:
    m = _molo(truth)
    out: Rows = {}
    for night in _nights(m["stays"]):
        occupied = {s["SLIP_ID"] for s in m["stays"] if s["ARRIVAL_DATE"] <= night < s["DEPARTURE_DATE"]}
        per: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("T", "O", "A", "I"), 0))
        for slip_id, (marina, active) in m["slips"].items():
            if marina not in m["marinas"]:
                continue
            c = per[marina]
            c["T"] += 1 if active else 0
            c["I"] += 0 if active else 1
            c["O"] += 1 if slip_id in occupied else 0
            c["A"] += 1 if active and slip_id not in occupied else 0
        for marina, c in per.items():
            out[(night, marina)] = {
                "MARINA_NAME": m["marinas"][marina]["NAME"],
                "TOTAL_SLIPS": c["T"],
                "OCCUPIED_SLIPS": c["O"],
                "AVAILABLE_SLIPS": c["A"],
                "INACTIVE_SLIPS": c["I"],
            }
    return out


def slip_occupancy(truth: Truth) -> Rows:
    out: Rows = {}
    for (night, marina), c in slip_counts(truth).items():
        iso = night.isocalendar()
        total, occupied = c["TOTAL_SLIPS"], c["OCCUPIED_SLIPS"]
        out[(night, marina)] = {
            "YEAR_NUMBER": night.year,
            "MONTH_NUMBER": night.month,
            "ISO_DAY_OF_WEEK": iso.weekday,
            "IS_WEEKEND": 1 if iso.weekday >= 6 else 0,
            "MARINA_NAME": c["MARINA_NAME"],
            "TOTAL_SLIPS": total,
            "OCCUPIED_SLIPS": occupied,
            "OCCUPANCY_PCT": round_half_up(Decimal(100 * occupied) / total, 2) if total else None,
        }
    return out


def boat_lengths(truth: Truth) -> Rows:
    m = _molo(truth)
    boats = _by_id(live(truth, "MOLO", "Boats"))
    boat_nights: set[tuple[date, int, int]] = set()
    for s in m["stays"]:
        if s["SLIP_ID"] not in m["slips"]:
            continue
        marina = m["slips"][s["SLIP_ID"]][0]
        night = s["ARRIVAL_DATE"]
        while night < s["DEPARTURE_DATE"]:
            boat_nights.add((night, marina, s["BOAT_ID"]))
            night += timedelta(days=1)
    groups: dict[tuple[date, int, int], list[Decimal]] = defaultdict(list)
    labels: dict[int, str] = {}
    for night, marina, boat in boat_nights:
        if boat not in boats or marina not in m["marinas"]:
            continue
        order, label = _band(boats[boat]["LENGTH"])
        labels[order] = label
        groups[(night, marina, order)].append(boats[boat]["LENGTH"])
    return {
        key: {
            "MARINA_NAME": m["marinas"][key[1]]["NAME"],
            "LENGTH_BAND": labels[key[2]],
            "BOATS": len(lengths),
            "TOTAL_LENGTH_FT": sum(lengths),
            "MIN_LENGTH_FT": min(lengths),
            "MAX_LENGTH_FT": max(lengths),
            "AVG_LENGTH_FT": round_half_up(sum(lengths) / len(lengths), 2),
        }
        for key, lengths in groups.items()
    }


PERIOD_NIGHTS = {"Daily": 1, "Weekly": 7, "Monthly": 30, "Seasonal": 182, "Annual": 365}


def rate_raw(truth: Truth) -> Rows:
    m = _molo(truth)
    boats = _by_id(live(truth, "MOLO", "Boats"))
    out: Rows = {}
    for r in live(truth, "MOLO", "Reservations"):
        boat, status = boats.get(r["BOAT_ID"]), m["statuses"].get(r["STATUS_ID"])
        if boat is None or status is None or not boat["LENGTH"] > 0:
            continue
        length = boat["LENGTH"]
        out[(r["ID"],)] = {
            "MARINA_LOCATION_ID": r["MARINA_LOCATION_ID"],
            "BOAT_ID": r["BOAT_ID"],
            "SLIP_ID": r["SLIP_ID"],
            "STATUS_NAME": status["NAME"],
            "COUNTS_AS_OCCUPIED": 1 if status["COUNTS_AS_OCCUPIED"] else 0,
            "ARRIVAL_DATE": r["ARRIVAL_DATE"],
            "DEPARTURE_DATE": r["DEPARTURE_DATE"],
            "NIGHTS": (r["DEPARTURE_DATE"] - r["ARRIVAL_DATE"]).days,
            "BOAT_LENGTH_FT": length,
            "LENGTH_BAND": _band(length)[1],
            "RATE_TYPE": r["RATE_TYPE"],
            "RATE": r["RATE"],
            "PERIOD_NIGHTS": PERIOD_NIGHTS[r["RATE_TYPE"]],
            "TOTAL_AMOUNT": r["TOTAL_AMOUNT"],
            "RATE_PER_FOOT": float(r["RATE"] / length),
            "REVENUE_PER_FOOT": float(r["TOTAL_AMOUNT"] / length),
        }
    return out


def rate_normalised(truth: Truth) -> Rows:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rate_raw(truth).values():
        if r["COUNTS_AS_OCCUPIED"]:
            groups[(r["MARINA_LOCATION_ID"], r["LENGTH_BAND"], r["RATE_TYPE"])].append(r)
    nightly = {
        k: sum(float(r["RATE"]) / r["PERIOD_NIGHTS"] / float(r["BOAT_LENGTH_FT"]) for r in rs) / len(rs)
        for k, rs in groups.items()
    }
    weighted: dict[Any, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for k, rs in groups.items():
        weighted[k[0]][0] += nightly[k] * len(rs)
        weighted[k[0]][1] += len(rs)
    out: Rows = {}
    for k, rs in groups.items():
        feet = sum(r["BOAT_LENGTH_FT"] for r in rs)
        revenue = sum(r["TOTAL_AMOUNT"] for r in rs)
        average = weighted[k[0]][0] / weighted[k[0]][1]
        out[k] = {
            "RESERVATIONS": len(rs),
            "TOTAL_LINEAR_FT": feet,
            "TOTAL_REVENUE": revenue,
            "REVENUE_PER_LINEAR_FOOT": float(revenue / feet),
            "NIGHTLY_RATE_PER_FOOT": nightly[k],
            "RATE_INDEX": nightly[k] / average if average else None,
        }
    return out


# -- Stellar -----------------------------------------------------------------------------------


def daily_rentals(truth: Truth) -> Rows:
    bookings = live(truth, "STELLAR", "bookings")
    if not bookings:
        return {}
    locations = _by_id(live(truth, "STELLAR", "locations"))
    by_id = _by_id(bookings)
    boats: dict[tuple[date, int], set[int]] = defaultdict(set)
    for bb in live(truth, "STELLAR", "booking_boats"):
        b = by_id.get(bb["BOOKING_ID"])
        if b is not None and b["STATUS"] not in ("cancelled", "no_show"):
            boats[(b["DEPARTURE_DATE"], b["LOCATION_ID"])].add(bb["STYLE_BOAT_ID"])
    paid: dict[tuple[date, int], list[Decimal]] = defaultdict(list)
    for p in live(truth, "STELLAR", "booking_payments"):
        b = by_id.get(p["BOOKING_ID"])
        if b is not None and p["STATUS"] == "captured":
            paid[(b["DEPARTURE_DATE"], b["LOCATION_ID"])].append(p["AMOUNT"])
    day_bookings: dict[tuple[date, int], list[dict[str, Any]]] = defaultdict(list)
    for b in bookings:
        day_bookings[(b["DEPARTURE_DATE"], b["LOCATION_ID"])].append(b)
    first = min(b["DEPARTURE_DATE"] for b in bookings)
    last = max(b["DEPARTURE_DATE"] for b in bookings)
    out: Rows = {}
    for i in range((last - first).days + 1):
        day = first + timedelta(days=i)
        for loc_id, loc in locations.items():
            k = (day, loc_id)
            bs = day_bookings.get(k, [])
            out[k] = {
                "LOCATION_NAME": loc["NAME"],
                "BOOKINGS": len(bs),
                "CANCELLED_BOOKINGS": sum(1 for b in bs if b["STATUS"] in ("cancelled", "no_show")),
                "BOATS_RENTED": len(boats.get(k, ())),
                "PASSENGERS": sum(b["PARTY_SIZE"] or 0 for b in bs),
                "BOOKED_TOTAL": sum((b["TOTAL"] for b in bs), Decimal(0)),
                "PAYMENTS": len(paid.get(k, ())),
                "REVENUE": sum(paid.get(k, ()), Decimal(0)),
            }
    return out


# -- NetSuite ----------------------------------------------------------------------------------


def _ns_totals(truth: Truth) -> tuple[dict, dict]:
    lines: dict[int, list[Decimal | None]] = defaultdict(list)
    for tl in live(truth, "NS", "TransactionLine"):
        if not tl["MAINLINE"] and not tl["TAXLINE"]:
            lines[tl["TRANSACTION"]].append(tl["NETAMOUNT"])
    gl: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for al in live(truth, "NS", "TransactionAccountingLine"):
        gl[al["TRANSACTION"]][0] += al["DEBIT"] or 0
        gl[al["TRANSACTION"]][1] += al["CREDIT"] or 0
    return lines, gl


def _entity_name(e: dict[str, Any] | None) -> str | None:
    if e is None:
        return None
    if e["COMPANYNAME"] is not None:
        return e["COMPANYNAME"]
    if e["FIRSTNAME"] is None or e["LASTNAME"] is None:
        return None
    return f"{e['FIRSTNAME']} {e['LASTNAME']}"


def _name(rows: dict[Any, dict[str, Any]], key: Any, column: str = "NAME") -> Any:
    row = rows.get(key)
    return None if row is None else row[column]


def transaction_type(truth: Truth, code: str) -> Rows:
    lines, gl = _ns_totals(truth)
    periods = _by_id(live(truth, "NS", "AccountingPeriod"))
    subs = _by_id(live(truth, "NS", "Subsidiary"))
    entities = _by_id(live(truth, "NS", "Entity"))
    currencies = _by_id(live(truth, "NS", "Currency"))
    out: Rows = {}
    for t in live(truth, "NS", "Transaction"):
        if t["TRAN_TYPE"] != code:
            continue
        net = [n for n in lines.get(t["ID"], []) if n is not None]
        out[(t["ID"],)] = {
            "DOCUMENT_NUMBER": t["TRANID"],
            "TRAN_DATE": t["TRANDATE"],
            "TRAN_TYPE": code,
            "POSTING_PERIOD_ID": t["POSTINGPERIOD"],
            "PERIOD_NAME": _name(periods, t["POSTINGPERIOD"], "PERIODNAME"),
            "SUBSIDIARY_ID": t["SUBSIDIARY"],
            "SUBSIDIARY_NAME": _name(subs, t["SUBSIDIARY"]),
            "ENTITY_ID": t["ENTITY"],
            "ENTITY_NAME": _entity_name(entities.get(t["ENTITY"])),
            "CURRENCY_SYMBOL": _name(currencies, t["CURRENCY"], "SYMBOL"),
            "EXCHANGE_RATE": t["EXCHANGERATE"],
            "STATUS": t["STATUS"],
            "MEMO": t["MEMO"],
            "OTHER_REF_NUM": t["OTHERREFNUM"],
            "DUE_DATE": t["DUEDATE"],
            "IS_POSTING": int(t["POSTING"]),
            "IS_VOIDED": int(t["VOIDED"]),
            "FOREIGN_TOTAL": t["FOREIGNTOTAL"],
            "LINE_COUNT": len(lines.get(t["ID"], [])),
            "LINES_NET_AMOUNT": sum(net, Decimal(0)),
            "DEBIT_TOTAL": gl[t["ID"]][0] if t["ID"] in gl else Decimal(0),
            "CREDIT_TOTAL": gl[t["ID"]][1] if t["ID"] in gl else Decimal(0),
        }
    return out


def deposit_lines(truth: Truth) -> Rows:
    deposits = {t["ID"]: t for t in live(truth, "NS", "Transaction") if t["TRAN_TYPE"] == "Deposit"}
    entities = _by_id(live(truth, "NS", "Entity"))
    accounts = _by_id(live(truth, "NS", "Account"))
    departments = _by_id(live(truth, "NS", "Department"))
    classes = _by_id(live(truth, "NS", "Classification"))
    locations = _by_id(live(truth, "NS", "Location"))
    out: Rows = {}
    for tl in live(truth, "NS", "TransactionLine"):
        t = deposits.get(tl["TRANSACTION"])
        if t is None or tl["MAINLINE"]:
            continue
        out[(tl["ID"],)] = {
            "TRANSACTION_ID": t["ID"],
            "DOCUMENT_NUMBER": t["TRANID"],
            "TRAN_DATE": t["TRANDATE"],
            "SUBSIDIARY_ID": t["SUBSIDIARY"],
            "LINE_SEQUENCE_NUMBER": tl["LINESEQUENCENUMBER"],
            "ENTITY_ID": tl["ENTITY"],
            "ENTITY_NAME": _entity_name(entities.get(tl["ENTITY"])),
            "ACCOUNT_ID": tl["EXPENSEACCOUNT"],
            "ACCOUNT_NUMBER": _name(accounts, tl["EXPENSEACCOUNT"], "ACCTNUMBER"),
            "ACCOUNT_NAME": _name(accounts, tl["EXPENSEACCOUNT"], "FULLNAME"),
            "DEPARTMENT_NAME": _name(departments, tl["DEPARTMENT"]),
            "CLASS_NAME": _name(classes, tl["CLASS_ID"]),
            "LOCATION_NAME": _name(locations, tl["LOCATION"]),
            "MEMO": tl["MEMO"],
            "NET_AMOUNT": tl["NETAMOUNT"],
            "FOREIGN_AMOUNT": tl["FOREIGNAMOUNT"],
            "IS_TAX_LINE": int(tl["TAXLINE"]),
            "IS_CLEARED": int(tl["CLEARED"]),
        }
    return out


def report(truth: Truth) -> Rows:
    lines, gl = _ns_totals(truth)
    types = _by_id(live(truth, "NS", "TransactionType"), "CODE")
    periods = _by_id(live(truth, "NS", "AccountingPeriod"))
    subs = _by_id(live(truth, "NS", "Subsidiary"))
    out: Rows = {}
    for t in live(truth, "NS", "Transaction"):
        if t["TRAN_TYPE"] not in types:
            continue
        k = (t["TRAN_TYPE"], t["POSTINGPERIOD"], t["SUBSIDIARY"])
        row = out.setdefault(
            k,
            {
                "TRAN_TYPE_NAME": types[t["TRAN_TYPE"]]["NAME"],
                "PERIOD_NAME": _name(periods, t["POSTINGPERIOD"], "PERIODNAME"),
                "SUBSIDIARY_NAME": _name(subs, t["SUBSIDIARY"]),
                "TRANSACTIONS": 0,
                "VOIDED_TRANSACTIONS": 0,
                "FOREIGN_TOTAL": None,
                "LINES_NET_AMOUNT": Decimal(0),
                "DEBIT_TOTAL": Decimal(0),
                "CREDIT_TOTAL": Decimal(0),
            },
        )
        row["TRANSACTIONS"] += 1
        row["VOIDED_TRANSACTIONS"] += int(t["VOIDED"])
        if t["FOREIGNTOTAL"] is not None:
            row["FOREIGN_TOTAL"] = (row["FOREIGN_TOTAL"] or Decimal(0)) + t["FOREIGNTOTAL"]
        row["LINES_NET_AMOUNT"] += sum((n for n in lines.get(t["ID"], []) if n is not None), Decimal(0))
        if t["ID"] in gl:
            row["DEBIT_TOTAL"] += gl[t["ID"]][0]
            row["CREDIT_TOTAL"] += gl[t["ID"]][1]
    return out


# view name -> (key columns in the view, expectation)
EXPECTED: dict[str, tuple[tuple[str, ...], Callable[[Truth], Rows]]] = {
    "DW_MOLO_DAILY_SLIP_COUNT_VW": (("CALENDAR_DATE", "MARINA_LOCATION_ID"), slip_counts),
    "DW_MOLO_DAILY_SLIP_OCCUPANCY_VW": (("CALENDAR_DATE", "MARINA_LOCATION_ID"), slip_occupancy),
    "DW_MOLO_DAILY_BOAT_LENGTHS_VW": (
        ("CALENDAR_DATE", "MARINA_LOCATION_ID", "LENGTH_BAND_ORDER"),
        boat_lengths,
    ),
    "DW_MOLO_RATE_OVER_LINEAR_FOOT": (("RESERVATION_ID",), rate_raw),
    "DW_MOLO_RATE_OVER_LINEAR_FOOT_VW": (("MARINA_LOCATION_ID", "LENGTH_BAND", "RATE_TYPE"), rate_normalised),
    "DW_STELLAR_DAILY_RENTALS_VW": (("RENTAL_DATE", "LOCATION_ID"), daily_rentals),
    "DW_NS_X_FIN_DEPENTRY_V": (("LINE_ID",), deposit_lines),
    "DW_NS_X_FIN_REPORT_V": (("TRAN_TYPE", "POSTING_PERIOD_ID", "SUBSIDIARY_ID"), report),
    **{
        ns_type_view_name(suffix): (
            ("TRANSACTION_ID",),
            lambda truth, code=code: transaction_type(truth, code),
        )
        for suffix, code, _ in NS_TYPE_VIEWS
    },
}
