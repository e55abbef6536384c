"""The field checks shared by the filing model and the matching values."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threeregs import ValidationError
from threeregs._checks import check_text, member_converter, nfc, to_utc
from threeregs._vocabulary import Conduct, IntervenerRole, Manner

# Mostly ordinary text that often contains a control character, a line break
# or a lone surrogate, which are what the check looks for.
awkward_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x00", "\t", "\n", "\r", "\x0b", "\x1f", "\x7f", "\ud800", "\udfff"]),
        st.sampled_from(["人", "民", "检", "察", "院", " "]),
    ),
    max_size=30,
)


def acceptable(value: str, max_length: int, *, allow_empty: bool, multiline: bool) -> bool:
    """Say whether *value* fits a text field, written out plainly as the rule reads."""
    if not allow_empty and not value.strip():
        return False
    if len(value) > max_length:
        return False
    allowed_breaks = {"\t", "\n", "\r"} if multiline else set()
    for character in value:
        if 0xD800 <= ord(character) <= 0xDFFF:
            return False
        if (ord(character) < 0x20 or character == "\x7f") and character not in allowed_breaks:
            return False
    return True


@given(
    value=awkward_text,
    max_length=st.integers(0, 40),
    allow_empty=st.booleans(),
    multiline=st.booleans(),
)
def test_check_text_follows_the_rule(
    value: str, max_length: int, allow_empty: bool, multiline: bool
) -> None:
    expected = acceptable(value, max_length, allow_empty=allow_empty, multiline=multiline)

    if expected:
        check_text("content", value, max_length, allow_empty=allow_empty, multiline=multiline)
    else:
        with pytest.raises(ValidationError) as caught:
            check_text("content", value, max_length, allow_empty=allow_empty, multiline=multiline)
        assert caught.value.field == "content"


@pytest.mark.parametrize("multiline", [False, True])
def test_check_text_on_every_ascii_character_and_surrogates(multiline: bool) -> None:
    characters = [chr(code) for code in range(0x80)] + ["\ud800", "\udbff", "\udc00", "\udfff"]
    for character in characters:
        value = f"a{character}b"
        expected = acceptable(value, 10, allow_empty=False, multiline=multiline)
        try:
            check_text("content", value, 10, multiline=multiline)
        except ValidationError:
            accepted = False
        else:
            accepted = True
        assert accepted == expected, repr(character)


@pytest.mark.parametrize(
    ("value", "multiline", "reason"),
    [
        ("a\ud800b", True, "lone surrogate"),
        ("a\x00b", True, "control character '\\x00'"),
        ("a\nb", False, "control character '\\n'"),
        ("   ", False, "must not be empty"),
        (42, False, "expected text"),
    ],
)
def test_check_text_names_the_problem(value: object, multiline: bool, reason: str) -> None:
    with pytest.raises(ValidationError, match="place") as caught:
        check_text("place", value, 10, multiline=multiline)

    assert reason in str(caught.value)


def test_check_text_names_the_limit() -> None:
    with pytest.raises(ValidationError) as caught:
        check_text("name", "张" * 51, 50)

    assert "51 characters long, the limit is 50" in str(caught.value)


@given(value=st.one_of(st.text(max_size=25), st.integers(), st.none(), st.lists(st.text())))
def test_member_converter_maps_codes_and_passes_the_rest(value: object) -> None:
    convert = member_converter(Conduct)
    codes = {member.value: member for member in Conduct}

    converted = convert(value)

    if isinstance(value, str) and value in codes:
        assert converted is codes[value]
    else:
        assert converted is value


@pytest.mark.parametrize("enum_type", [Conduct, IntervenerRole, Manner])
def test_member_converter_keeps_members(enum_type: type[Conduct]) -> None:
    convert = member_converter(enum_type)

    for member in enum_type:
        assert convert(member) is member
        assert convert(member.value) is member


@given(st.text(max_size=20))
def test_nfc_normalises_text(value: str) -> None:
    assert nfc(value) == unicodedata.normalize("NFC", value)


def test_to_utc_converts_offsets_and_keeps_utc() -> None:
    beijing = dt.timezone(dt.timedelta(hours=8))
    local = dt.datetime(2024, 3, 1, 8, 0, tzinfo=beijing)
    utc = dt.datetime(2024, 3, 1, 0, 0, tzinfo=dt.UTC)

    assert to_utc(local) == utc
    assert to_utc(local).tzinfo is dt.UTC  # type: ignore[union-attr]
    assert to_utc(utc) is utc
    assert to_utc("2024-03-01") == "2024-03-01"
    naive = dt.datetime(2024, 3, 1)  # noqa: DTZ001 - a naive value is the case under test
    assert to_utc(naive) is naive
