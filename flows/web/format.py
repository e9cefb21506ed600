"""French display of numbers, amounts and dates for the web pages (Jinja2 filters)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
# French typography: a narrow no-break space between thousands, a no-break space before the unit
THOUSANDS = "\u202f"
NBSP = "\u00a0"


def number(value: float | Decimal | int | None, decimals: int = 0) -> str:
    """1234.5 -> '1 234,5' (narrow no-break space for thousands, decimal comma)."""
    if value is None:
        return ""
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", THOUSANDS).replace(".", ",")


def money(value: float | Decimal | int | None) -> str:
    """1234.56 -> '1 234,56 €'."""
    if value is None:
        return ""
    return f"{number(value, 2)}{NBSP}€"


def day(value: date | datetime | None) -> str:
    """A date as dd/mm/yyyy (a timestamp in Europe/Paris time)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = paris(value)
    return value.strftime("%d/%m/%Y")


def moment(value: datetime | date | None) -> str:
    """A timestamp as dd/mm/yyyy HH:MM in Europe/Paris time (a date as dd/mm/yyyy)."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return day(value)
    return paris(value).strftime("%d/%m/%Y %H:%M")


def paris(value: datetime) -> datetime:
    """A timestamp in Europe/Paris (naive timestamps are UTC, as the stores write them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(PARIS)


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def fr_dates(text: str | None) -> str:
    """ISO dates inside a sentence (the detectors' reasons) as dd/mm/yyyy."""
    return _ISO_DATE.sub(r"\3/\2/\1", text or "")


FILTERS = {"number": number, "money": money, "day": day, "moment": moment, "fr_dates": fr_dates}
