"""Checks and conversions shared by the value classes of the library.

The filing model and the matching values accept the same kinds of field:
NFC text with a length limit, ids, enum codes and aware timestamps. The
checks live here once, so that both raise the same
:class:`~threeregs.ValidationError` for the same bad value.

They run for every field of every filing an inbox opens, so each one does
the common case with as few Python operations as it can.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from typing import TYPE_CHECKING, Final

from threeregs._errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

#: Maximum length of an id, in characters.
MAX_ID: Final = 64

ID_PATTERN: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:/-]*")
# One search finds what a single-line text must not contain (control
# characters, line breaks) and what no text may contain (a lone surrogate,
# which has no UTF-8 form). Multi-line text may contain tabs and line breaks.
_BAD_IN_LINE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def nfc(value: object) -> object:
    """Return text in Unicode NFC, and anything else unchanged for a validator to reject."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    return value


def check_text(
    field: str,
    value: object,
    max_length: int,
    *,
    allow_empty: bool = False,
    multiline: bool = False,
) -> None:
    """Raise :class:`ValidationError` unless *value* is text that fits the field."""
    if not isinstance(value, str):
        raise ValidationError(field, value, "expected text")
    if not allow_empty and not value.strip():
        raise ValidationError(field, value, "must not be empty")
    if len(value) > max_length:
        raise ValidationError(
            field, value, f"is {len(value)} characters long, the limit is {max_length}"
        )
    bad = (_BAD_IN_TEXT if multiline else _BAD_IN_LINE).search(value)
    if bad is not None:
        if "\ud800" <= bad.group() <= "\udfff":
            raise ValidationError(field, value, "contains a lone surrogate; it is not valid UTF-8")
        raise ValidationError(
            field, value, f"contains the control character {bad.group()!r}; remove it"
        )


def check_id(field: str, value: object) -> None:
    """Raise :class:`ValidationError` unless *value* is an id."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ValidationError(
            field,
            value,
            "expected an id of letters, digits and _ . : / - starting with a letter or digit",
        )
    if len(value) > MAX_ID:
        raise ValidationError(field, value, f"ids are at most {MAX_ID} characters")


def member_converter(enum_type: type[enum.Enum]) -> Callable[[object], object]:
    """Build a converter from a code of *enum_type* to its member.

    Anything that is not a code is passed through for the validator to name.
    A dictionary lookup is used because calling the enum class costs several
    times as much.
    """
    members: dict[object, enum.Enum] = {member.value: member for member in enum_type}

    def convert(value: object) -> object:
        if isinstance(value, enum_type):
            return value
        try:
            return members.get(value, value)
        except TypeError:  # unhashable, such as a list
            return value

    return convert


def check_member(field: str, value: object, enum_type: type[enum.Enum]) -> None:
    """Raise :class:`ValidationError` unless *value* is a member of *enum_type*."""
    if not isinstance(value, enum_type):
        allowed = ", ".join(str(member.value) for member in enum_type)
        raise ValidationError(field, value, f"unknown value; expected one of {allowed}")


def to_utc(value: object) -> object:
    """Convert an aware datetime to UTC, and return anything else unchanged for a validator."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        if value.tzinfo is dt.UTC:
            return value
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            return value  # out of range, so the validator rejects it
    return value


def check_aware(field: str, value: object) -> dt.datetime:
    """Return *value* if it is a timezone-aware datetime, else raise :class:`ValidationError`."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError(field, value, "expected a timezone-aware datetime (use datetime.UTC)")
    return value
