"""attrs field builders for the values of the matching subsystem.

They run the same checks as the filing model (:mod:`threeregs._checks`: NFC
text with length limits, ids of letters, digits and ``_ . : / -``, aware
timestamps) and raise :class:`~threeregs.ValidationError` naming the field.
Unlike the model, a matching timestamp may lie in the future or before 1990,
because clues from outside systems carry whatever times they were given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from threeregs._checks import (
    check_aware,
    check_id,
    check_member,
    check_text,
    member_converter,
    nfc,
    to_utc,
)
from threeregs._errors import ValidationError

if TYPE_CHECKING:
    import enum

__all__ = [
    "check_id",
    "check_timestamp",
    "identifier",
    "instance",
    "member",
    "text",
    "timestamp",
    "to_utc",
    "unit_interval",
]


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

    def validate(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
        check_text(attribute.name, value, max_length, allow_empty=allow_empty, multiline=multiline)

    if allow_empty:
        return attrs.field(default="", converter=nfc, validator=validate, kw_only=keyword)
    return attrs.field(converter=nfc, validator=validate, kw_only=keyword)


def check_timestamp(field: str, value: object) -> None:
    """Raise :class:`ValidationError` unless *value* is an aware datetime."""
    check_aware(field, value)


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

    code_to_member = member_converter(enum_type)

    def convert(value: object) -> object:
        return None if value is None else code_to_member(value)

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        check_member(attribute.name, value, enum_type)

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
