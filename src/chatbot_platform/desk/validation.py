"""Server-side validation of a form submission against the form's fields; messages in it/en."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email

from chatbot_platform.desk.schemas import CHOICE_TYPES, FieldType, FormField

DEFAULT_MAX_LENGTH = {FieldType.TEXTAREA: 5000}
TEXT_MAX_LENGTH = 500
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,25}$")

MESSAGES: dict[str, dict[str, str]] = {
    "required": {"it": "Campo obbligatorio.", "en": "This field is required."},
    "type": {"it": "Valore non valido.", "en": "Invalid value."},
    "too_short": {"it": "Inserisci almeno {n} caratteri.", "en": "Enter at least {n} characters."},
    "too_long": {"it": "Inserisci al massimo {n} caratteri.", "en": "Enter at most {n} characters."},
    "pattern": {"it": "Formato non valido.", "en": "Invalid format."},
    "email": {"it": "Indirizzo e-mail non valido.", "en": "Invalid e-mail address."},
    "phone": {"it": "Numero di telefono non valido.", "en": "Invalid phone number."},
    "choice": {"it": "Scegli una delle opzioni.", "en": "Choose one of the options."},
    "date": {"it": "Data non valida (AAAA-MM-GG).", "en": "Invalid date (YYYY-MM-DD)."},
    "number": {"it": "Inserisci un numero.", "en": "Enter a number."},
    "min": {"it": "Il valore minimo è {n}.", "en": "The minimum is {n}."},
    "max": {"it": "Il valore massimo è {n}.", "en": "The maximum is {n}."},
}


class _Invalid(Exception):
    def __init__(self, key: str, **values: Any) -> None:
        self.key, self.values = key, values


def message(key: str, language: str, **values: Any) -> str:
    variants = MESSAGES[key]
    return (variants.get(language) or variants["en"]).format(**values)


def validate(
    fields: list[FormField], data: dict[str, Any], language: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The clean values of the known fields, and a message per field that is wrong."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        raw = data.get(field.name)
        if _empty(raw):
            if field.required:
                errors[field.name] = message("required", language)
            continue
        try:
            value = _check(field, raw)
        except _Invalid as invalid:
            errors[field.name] = message(invalid.key, language, **invalid.values)
            continue
        if field.required and field.type is FieldType.CHECKBOX and value in (False, []):
            errors[field.name] = message("required", language)
            continue
        clean[field.name] = value
    return clean, errors


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _check(field: FormField, raw: Any) -> Any:
    kind = field.type
    if kind is FieldType.CHECKBOX:
        return _checkbox(field, raw)
    if kind is FieldType.NUMBER:
        return _number(field, raw)
    if not isinstance(raw, str):
        raise _Invalid("type")
    value = raw.strip()
    if kind in CHOICE_TYPES:
        if value not in field.options:
            raise _Invalid("choice")
        return value
    if kind is FieldType.DATE:
        return _date(field, value)
    _length(field, value)
    if kind is FieldType.EMAIL:
        try:
            value = validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise _Invalid("email") from None
    if kind is FieldType.PHONE and (not _PHONE.match(value) or sum(c.isdigit() for c in value) < 6):
        raise _Invalid("phone")
    if field.pattern and not re.fullmatch(field.pattern, value):
        raise _Invalid("pattern")
    return value


def _length(field: FormField, value: str) -> None:
    longest = field.max_length or DEFAULT_MAX_LENGTH.get(field.type, TEXT_MAX_LENGTH)
    if len(value) > longest:
        raise _Invalid("too_long", n=longest)
    if field.min_length is not None and len(value) < field.min_length:
        raise _Invalid("too_short", n=field.min_length)


def _checkbox(field: FormField, raw: Any) -> Any:
    if field.options:
        values = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(v, str) and v in field.options for v in values):
            raise _Invalid("choice")
        return values
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "on", "1", 1):
        return True
    if raw in ("false", "off", "0", 0):
        return False
    raise _Invalid("type")


def _number(field: FormField, raw: Any) -> float | int:
    if isinstance(raw, bool):
        raise _Invalid("number")
    try:
        value = float(raw.replace(",", ".")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise _Invalid("number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _Invalid("number")
    if field.min is not None and value < field.min:
        raise _Invalid("min", n=_shown(field.min))
    if field.max is not None and value > field.max:
        raise _Invalid("max", n=_shown(field.max))
    return int(value) if value.is_integer() else value


def _date(field: FormField, value: str) -> str:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _Invalid("date") from None
    as_number = day.year * 10000 + day.month * 100 + day.day
    if field.min is not None and as_number < field.min:
        raise _Invalid("min", n=_as_date(field.min))
    if field.max is not None and as_number > field.max:
        raise _Invalid("max", n=_as_date(field.max))
    return day.isoformat()


def _shown(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


def _as_date(number: float) -> str:
    n = int(number)
    return f"{n // 10000:04d}-{n // 100 % 100:02d}-{n % 100:02d}"
