"""attrs field builders for the values of the matching subsystem.

They mirror the checks of the filing model (NFC text with length limits,
ids of letters, digits and ``_ . : / -``, aware timestamps) and raise
:class:`~threeregs.ValidationError` naming the field.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from typing import Any, Final

import attrs

from threeregs._errors import ValidationError
from threeregs._model import MAX_ID

ID_PATTERN: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:/-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")


def check_id(field: str, value: object) -> None:
    """Raise :class:`ValidationError` unless *value* is a valid id."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ValidationError(
            field,
            value,
            "expected an id of letters, digits and _ . : / - starting with a letter or digit",
        )
    if len(value) > MAX_ID:
        raise ValidationError(field, value, f"ids are at most {MAX_ID} characters")


def identifier(*, optional: bool = False) -> Any:
    """Build a field for an id; an optional one is keyword-only and defaults to None."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        check_id(attribute.name, value)

    if optional:
        return attrs.field(default=None, validator=validate, kw_only=True)
    return attrs.field(validator=validate)


def text(
    max_length: int, *, allow_empty: bool = False, multiline: bool = False, keyword: bool = False
) -> Any:
    """Build a field for NFC text of at most *max_length* characters.

    A text that may be empty defaults to ``""``; with *keyword* the field is
    keyword-only.
    """

    def convert(value: object) -> object:
        return unicodedata.normalize("NFC", value) if isinstance(value, str) else value

    def validate(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
        name = attribute.name
        if not isinstance(value, str):
            raise ValidationError(name, value, "expected text")
        if not allow_empty and not value.strip():
            raise ValidationError(name, value, "must not be empty")
        if len(value) > max_length:
            raise ValidationError(
                name, value, f"is {len(value)} characters long, the limit is {max_length}"
            )
        bad = (_CONTROL if multiline else _CONTROL_OR_BREAK).search(value)
        if bad:
            raise ValidationError(
                name, value, f"contains the control character {bad.group()!r}; remove it"
            )

    if allow_empty:
        return attrs.field(default="", converter=convert, validator=validate, kw_only=keyword)
    return attrs.field(converter=convert, validator=validate, kw_only=keyword)


def check_timestamp(field: str, value: object) -> None:
    """Raise :class:`ValidationError` unless *value* is an aware datetime."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError(field, value, "expected a timezone-aware datetime")


def to_utc(value: object) -> object:
    """Convert an aware datetime to UTC and leave anything else for the validator."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value


def timestamp(*, optional: bool = False) -> Any:
    """Build a field for an aware datetime, stored in UTC."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        check_timestamp(attribute.name, value)

    if optional:
        return attrs.field(default=None, converter=to_utc, validator=validate, kw_only=True)
    return attrs.field(converter=to_utc, validator=validate)


def member(enum_type: type[enum.Enum], *, optional: bool = False) -> Any:
    """Build a field that accepts a member of *enum_type* or its value."""

    def convert(value: object) -> object:
        if value is None or isinstance(value, enum_type):
            return value
        try:
            return enum_type(value)
        except ValueError:
            return value

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, enum_type):
            allowed = ", ".join(str(m.value) for m in enum_type)
            raise ValidationError(
                attribute.name, value, f"unknown value; expected one of {allowed}"
            )

    if optional:
        return attrs.field(default=None, converter=convert, validator=validate, kw_only=True)
    return attrs.field(converter=convert, validator=validate)


def instance(cls: type[object]) -> Any:
    """Build a field that contains an instance of *cls*."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, cls):
            raise ValidationError(attribute.name, value, f"expected {cls.__name__}")

    return attrs.field(validator=validate)


def unit_interval(field: str, value: object) -> float:
    """Return *value* as a float in [0, 1], or raise :class:`ValidationError`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, value, "expected a number from 0 to 1")
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValidationError(field, value, "expected a number from 0 to 1")
    return number
