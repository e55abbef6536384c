from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from strategies import filings, nonzero_filings
from threeregs._canonical import MAX_SIZE, PREFIX, dumps, loads
from threeregs._errors import CanonicalFormError, ValidationError
from threeregs._model import Filer, Filing, Intervener, Record, StageObligation
from threeregs._vocabulary import Bucket, Conduct, IntervenerRole, Manner, Provision, StaffKind

# A filing with every kind of field, and its canonical bytes written out by
# hand from the rules of the format: sorted keys, no spaces, UTF-8 text,
# escaped quotes and line breaks, UTC timestamps with microseconds.
EXAMPLE = Filing(
    Filer("P000123", "330106", StaffKind.PROSECUTOR),
    StageObligation(case_id="2024-XS-17", stage="prosecution_review", round=2),
    records=(
        Record(
            provision=Provision.P1,
            conduct=Conduct.PLEADING,
            bucket=Bucket.IMPROPER_INTERFERENCE,
            intervener=Intervener(
                name="王某某",
                unit="某市人民政府办公室",
                position="副主任",
                role=IntervenerRole.LEADING_CADRE,
            ),
            occurred_at=dt.datetime(2024, 5, 18, 20, 15, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            manner=Manner.PHONE,
            content='致电询问案件进度，\n请求"从轻"处理。',
            attachments=("ab" * 32,),
        ),
    ),
    direct_to="provincial",
    filed_at=dt.datetime(2024, 5, 20, 9, 30, 0, 123, tzinfo=dt.UTC),
    filing_id="0123456789abcdef0123456789abcdef",
)
EXAMPLE_JSON = (
    '{"direct_to":"provincial","filed_at":"2024-05-20T09:30:00.000123Z",'
    '"filer":{"office_code":"330106","person_id":"P000123","staff_kind":"prosecutor"},'
    '"filing_id":"0123456789abcdef0123456789abcdef",'
    '"obligation":{"case_id":"2024-XS-17","kind":"stage","round":2,"stage":"prosecution_review"},'
    '"policy_version":null,'
    '"records":[{"attachments":["' + "ab" * 32 + '"],'
    '"bucket":"improper_interference","conduct":"pleading",'
    '"content":"致电询问案件进度，\\n请求\\"从轻\\"处理。",'
    '"intervener":{"name":"王某某","own_office_inspection":false,"own_office_leader":false,'
    '"position":"副主任","procuratorate_staff":false,"role":"leading_cadre",'
    '"unit":"某市人民政府办公室"},'
    '"manner":"phone","occurred_at":"2024-05-18T12:15:00.000000Z","place":"",'
    '"provision":"P1","response":""}],'
    '"supersedes":null}'
)
EXAMPLE_BYTES = b"TRF\x01" + EXAMPLE_JSON.encode("utf-8")


def tree_of(data: bytes) -> Any:
    return json.loads(data[len(PREFIX) :].decode("utf-8"))


def encode(tree: Any, **options: Any) -> bytes:
    options.setdefault("ensure_ascii", False)
    options.setdefault("separators", (",", ":"))
    return PREFIX + json.dumps(tree, **options).encode("utf-8")


def reverse_keys(tree: Any) -> Any:
    """Return the same JSON tree with every object's keys in reverse order."""
    if isinstance(tree, dict):
        return {key: reverse_keys(tree[key]) for key in sorted(tree, reverse=True)}
    if isinstance(tree, list):
        return [reverse_keys(item) for item in tree]
    return tree


# --- the canonical form ----------------------------------------------------


def test_example_bytes() -> None:
    assert dumps(EXAMPLE) == EXAMPLE_BYTES


def test_example_loads() -> None:
    assert loads(EXAMPLE_BYTES) == EXAMPLE


def test_prefix() -> None:
    assert PREFIX == b"TRF\x01"
    assert dumps(EXAMPLE).startswith(PREFIX)


def test_zero_report_bytes() -> None:
    zero = Filing.zero(
        Filer("P000123", "330106", StaffKind.CLERK),
        None,
        filed_at=dt.datetime(2024, 5, 20, tzinfo=dt.UTC),
    )
    tree = tree_of(dumps(zero))
    assert tree["records"] == []
    assert tree["obligation"] is None
    assert tree["filed_at"] == "2024-05-20T00:00:00.000000Z"


@settings(max_examples=100, deadline=None)
@given(filings())
def test_round_trip(filing: Filing) -> None:
    data = dumps(filing)
    assert loads(data) == filing
    assert dumps(loads(data)) == data


@settings(max_examples=50, deadline=None)
@given(filings())
def test_dumps_deterministic(filing: Filing) -> None:
    assert dumps(filing) == dumps(attrs.evolve(filing))


@settings(max_examples=50, deadline=None)
@given(filings())
def test_reordered_keys_rejected(filing: Filing) -> None:
    data = dumps(filing)
    with pytest.raises(CanonicalFormError):
        loads(encode(reverse_keys(tree_of(data))))


@settings(max_examples=50, deadline=None)
@given(filings(), st.sampled_from([(", ", ": "), (",", ": "), (", ", ":")]))
def test_spaced_json_rejected(filing: Filing, separators: tuple[str, str]) -> None:
    with pytest.raises(CanonicalFormError):
        loads(encode(tree_of(dumps(filing)), sort_keys=True, separators=separators))


@settings(max_examples=25, deadline=None)
@given(filings())
def test_indented_json_rejected(filing: Filing) -> None:
    with pytest.raises(CanonicalFormError):
        loads(encode(tree_of(dumps(filing)), sort_keys=True, indent=1))


@settings(max_examples=50, deadline=None)
@given(nonzero_filings())
def test_ascii_escaped_json_rejected(filing: Filing) -> None:
    with pytest.raises(CanonicalFormError):
        loads(encode(tree_of(dumps(filing)), sort_keys=True, ensure_ascii=True))


@settings(max_examples=25, deadline=None)
@given(filings(), st.sampled_from([b" ", b"\n", b"\r\n"]))
def test_trailing_whitespace_rejected(filing: Filing, tail: bytes) -> None:
    with pytest.raises(CanonicalFormError):
        loads(dumps(filing) + tail)


def test_decomposed_text_rejected() -> None:
    tree = tree_of(EXAMPLE_BYTES)
    tree["records"][0]["place"] = "Cafe\u0301"
    with pytest.raises(CanonicalFormError):
        loads(encode(tree, sort_keys=True))


def test_float_rejected() -> None:
    data = EXAMPLE_BYTES.replace(b'"round":2', b'"round":2.0')
    with pytest.raises(CanonicalFormError) as info:
        loads(data)
    assert "floating-point" in info.value.reason


@pytest.mark.parametrize("number", [b"2e0", b"NaN", b"Infinity", b"-0", b"02", b"1" * 5000])
def test_other_numbers_rejected(number: bytes) -> None:
    with pytest.raises(CanonicalFormError):
        loads(EXAMPLE_BYTES.replace(b'"round":2', b'"round":' + number))


def test_duplicate_key_rejected() -> None:
    data = EXAMPLE_BYTES.replace(b'"supersedes":null}', b'"supersedes":null,"supersedes":null}')
    with pytest.raises(CanonicalFormError):
        loads(data)


def test_timestamp_with_offset_rejected() -> None:
    data = EXAMPLE_BYTES.replace(b"2024-05-20T09:30:00.000123Z", b"2024-05-20T17:30:00.000123+08")
    with pytest.raises(CanonicalFormError) as info:
        loads(data)
    assert info.value.field == "filed_at"


def test_timestamp_without_microseconds_rejected() -> None:
    data = EXAMPLE_BYTES.replace(b"2024-05-18T12:15:00.000000Z", b"2024-05-18T12:15:00Z")
    with pytest.raises(CanonicalFormError) as info:
        loads(data)
    assert info.value.field == "records[0].occurred_at"


# --- rejected structure, with the field named ----------------------------


def test_unknown_version() -> None:
    with pytest.raises(CanonicalFormError) as info:
        loads(b"TRF\x02" + EXAMPLE_BYTES[4:])
    assert info.value.field == "version"
    assert "02" in str(info.value)


@pytest.mark.parametrize("data", [b"", b"TR", b"TRE\x01{}", b"{}", b"\x00" * 10])
def test_bad_magic(data: bytes) -> None:
    with pytest.raises(CanonicalFormError) as info:
        loads(data)
    assert info.value.field == "data"


def test_too_long() -> None:
    with pytest.raises(CanonicalFormError) as info:
        loads(PREFIX + b" " * MAX_SIZE)
    assert str(MAX_SIZE + len(PREFIX)) in str(info.value)


def test_not_bytes() -> None:
    with pytest.raises(CanonicalFormError) as info:
        loads(EXAMPLE_BYTES.decode("utf-8"))  # type: ignore[arg-type]
    assert "str" in str(info.value)


def test_memoryview_accepted() -> None:
    assert loads(memoryview(EXAMPLE_BYTES)) == EXAMPLE  # type: ignore[arg-type]


def test_invalid_utf8() -> None:
    with pytest.raises(CanonicalFormError) as info:
        loads(EXAMPLE_BYTES.replace("王".encode(), b"\xe7\x8e"))
    assert "UTF-8" in info.value.reason


def test_deep_nesting() -> None:
    with pytest.raises(CanonicalFormError):
        loads(PREFIX + b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("filer",), "filer.staff_kind"),
        (("records", 0), "records[0].provision"),
        (("records", 0, "intervener"), "records[0].intervener.role"),
    ],
)
def test_missing_key_named(path: tuple[str | int, ...], field: str) -> None:
    tree = tree_of(EXAMPLE_BYTES)
    node = tree
    for step in path:
        node = node[step]
    del node[field.rsplit(".", 1)[-1]]
    with pytest.raises(CanonicalFormError) as info:
        loads(encode(tree, sort_keys=True))
    assert info.value.field == field
    assert "missing" in info.value.reason


def test_unknown_key_named() -> None:
    tree = tree_of(EXAMPLE_BYTES)
    tree["records"][0]["intervener"]["phone"] = "13800000000"
    with pytest.raises(CanonicalFormError) as info:
        loads(encode(tree, sort_keys=True))
    assert info.value.field == "records[0].intervener.phone"
    assert "unknown" in info.value.reason


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conduct": "contact"}, "records[0].conduct"),
        ({"bucket": "routine_inquiry"}, "records[0].bucket"),
        ({"provision": "P9"}, "records[0].provision"),
        ({"content": ""}, "records[0].content"),
        ({"attachments": "ab"}, "records[0].attachments"),
        ({"attachments": ["AB" * 32]}, "records[0].attachments[0]"),
    ],
)
def test_invalid_record_value_named(change: dict[str, Any], field: str) -> None:
    tree = tree_of(EXAMPLE_BYTES)
    tree["records"][0].update(change)
    with pytest.raises(CanonicalFormError) as info:
        loads(encode(tree, sort_keys=True))
    assert info.value.field == field


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("records", {}, "records"),
        ("obligation", [], "obligation"),
        ("obligation", {"kind": "yearly"}, "obligation.kind"),
        ("direct_to", "basic", "direct_to"),
        ("filing_id", "xyz", "filing_id"),
        ("filer", "P000123", "filer"),
    ],
)
def test_invalid_top_value_named(key: str, value: object, field: str) -> None:
    tree = tree_of(EXAMPLE_BYTES)
    tree[key] = value
    with pytest.raises(CanonicalFormError) as info:
        loads(encode(tree, sort_keys=True))
    assert info.value.field == field


def test_not_an_object() -> None:
    with pytest.raises(CanonicalFormError) as info:
        loads(PREFIX + b"[]")
    assert info.value.field == "filing"


def test_error_is_validation_error() -> None:
    with pytest.raises(ValidationError):
        loads(b"")


# --- fuzzing ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    with pytest.raises(CanonicalFormError):
        loads(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_after_prefix(data: bytes) -> None:
    with pytest.raises(CanonicalFormError):
        loads(PREFIX + data)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_JSON_VALUES)
def test_fuzz_json_values(tree: Any) -> None:
    with pytest.raises(CanonicalFormError):
        loads(encode(tree, sort_keys=True))


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    """Single-byte changes, insertions, deletions and truncations of *data*."""
    position = st.integers(min_value=0, max_value=len(data) - 1)
    byte = st.integers(min_value=0, max_value=255)
    changed = st.tuples(position, byte).map(
        lambda pair: data[: pair[0]] + bytes([pair[1]]) + data[pair[0] + 1 :]
    )
    inserted = st.tuples(position, byte).map(
        lambda pair: data[: pair[0]] + bytes([pair[1]]) + data[pair[0] :]
    )
    deleted = position.map(lambda index: data[:index] + data[index + 1 :])
    truncated = position.map(lambda index: data[:index])
    return st.one_of(changed, inserted, deleted, truncated)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_canonical_bytes(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from([EXAMPLE_BYTES, dumps(Filing.zero(EXAMPLE.filer, None))]))
    mutated = data.draw(_mutations(original))
    assume(mutated != original)
    try:
        filing = loads(mutated)
    except CanonicalFormError:
        return
    # A few changes give another valid filing (a digit of an id, a character
    # of text); then the bytes must be that filing's canonical form.
    assert dumps(filing) == mutated
    assert filing != loads(original)


@settings(max_examples=50, deadline=None)
@given(filings(max_records=2), st.data())
def test_fuzz_mutated_generated_filings(filing: Filing, data: st.DataObject) -> None:
    original = dumps(filing)
    mutated = data.draw(_mutations(original))
    assume(mutated != original)
    try:
        parsed = loads(mutated)
    except CanonicalFormError:
        return
    assert dumps(parsed) == mutated
