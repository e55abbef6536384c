"""Summary returns: signing, verifying, aggregating, missing children and the strict parser."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from threeregs import ThreeregsError
from threeregs._errors import (
    InvalidSummaryError,
    StatsError,
    SummaryMismatchError,
    SummarySignatureError,
)
from threeregs.routing import Directory
from threeregs.stats import (
    ReturnState,
    SignedSummary,
    SummaryCount,
    SummaryReturn,
    aggregate_returns,
    missing_returns,
    parse_summary,
    sign_summary,
    verify_summary,
)
from threeregs.stats._summary import SECTIONS

AT = dt.datetime(2022, 4, 3, 1, 2, 3, 456789, tzinfo=dt.UTC)
KEYS = {
    code: Ed25519PrivateKey.generate()
    for code in ("000000", "330000", "330100", "330106", "330108", "110000", "110105")
}
PUBLIC = {code: key.public_key() for code, key in KEYS.items()}


def _summary(
    office: str,
    parent: str | None,
    *,
    records: int = 10,
    period: str = "2022-Q1",
    level: int = 4,
) -> SummaryReturn:
    return SummaryReturn(
        office,
        parent,
        period,
        AT,
        (office,),
        (),
        (
            SummaryCount("records", level, "all", records),
            SummaryCount("filings", level, "all", records + 40),
            SummaryCount("zero_reports", level, "all", 38),
            SummaryCount("bucket", level, "routine_inquiry", records),
            SummaryCount("direct", level, "provincial", 1),
        ),
    )


def _signed(office: str, parent: str | None, **options: object) -> SignedSummary:
    return sign_summary(_summary(office, parent, **options), KEYS[office])  # type: ignore[arg-type]


# --- signing and the file format -----------------------------------------


def test_round_trip() -> None:
    signed = _signed("330106", "330100")

    parsed = parse_summary(signed.to_bytes())

    assert parsed == signed
    assert verify_summary(parsed, PUBLIC) == signed.summary


def test_file_starts_with_format_version() -> None:
    data = _signed("330106", "330100").to_bytes()

    assert data.startswith(b'{"threeregs_summary":1,')
    assert data.endswith(b"\n")
    assert data.count(b"\n") == 1


def test_file_holds_counts_only() -> None:
    document = json.loads(_signed("330106", "330100").to_bytes())

    assert set(document) == {
        "threeregs_summary",
        "office",
        "parent",
        "period",
        "created_at",
        "offices",
        "missing",
        "counts",
        "signature",
    }
    assert all(isinstance(count[3], int) for count in document["counts"])


def test_tampered_count_rejected() -> None:
    data = _signed("330106", "330100", records=12).to_bytes()
    tampered = data.replace(b'["records",4,"all",12]', b'["records",4,"all",13]')
    assert tampered != data

    parsed = parse_summary(tampered)

    with pytest.raises(SummarySignatureError):
        verify_summary(parsed, PUBLIC)


def test_signature_of_another_office_rejected() -> None:
    summary = _summary("330106", "330100")
    forged = sign_summary(summary, KEYS["330108"])

    with pytest.raises(SummarySignatureError):
        verify_summary(forged, PUBLIC)


def test_unknown_sender_rejected() -> None:
    with pytest.raises(SummarySignatureError, match="no public key"):
        verify_summary(_signed("330106", "330100"), {})


def test_sign_needs_ed25519_key() -> None:
    with pytest.raises(ThreeregsError):
        sign_summary(_summary("330106", "330100"), "not a key")  # type: ignore[arg-type]


# --- aggregating ---------------------------------------------------------


@pytest.fixture(scope="module")
def directory() -> Directory:
    from threeregs.routing import Level, Office

    rows = (
        ("000000", "最高人民检察院", Level.SUPREME, None),
        ("330000", "浙江省人民检察院", Level.PROVINCIAL, "000000"),
        ("330100", "杭州市人民检察院", Level.MUNICIPAL, "330000"),
        ("330106", "西湖区人民检察院", Level.BASIC, "330100"),
        ("330108", "滨江区人民检察院", Level.BASIC, "330100"),
        ("110000", "北京市人民检察院", Level.PROVINCIAL, "000000"),
        ("110105", "朝阳区人民检察院", Level.BASIC, "110000"),
    )
    return Directory(Office(code=c, name=n, level=lv, parent_code=p) for c, n, lv, p in rows)


def test_aggregate_adds_children(directory: Directory) -> None:
    own = _summary("330100", "330000", records=5, level=3)
    children = [_signed("330106", "330100", records=10), _signed("330108", "330100", records=20)]

    total = aggregate_returns(own, children, directory=directory, public_keys=PUBLIC)

    assert total.count("records") == 35
    assert total.count("records", level=4) == 30
    assert total.count("direct", "provincial") == 3
    assert total.offices == ("330100", "330106", "330108")
    assert total.missing == ()
    assert total.parent_code == "330000"


def test_aggregate_lists_missing_child(directory: Directory) -> None:
    own = _summary("330100", "330000", level=3)

    total = aggregate_returns(
        own, [_signed("330106", "330100")], directory=directory, public_keys=PUBLIC
    )

    assert total.missing == ("330108",)


def test_missing_offices_travel_up(directory: Directory) -> None:
    municipal = aggregate_returns(
        _summary("330100", "330000", level=3),
        [_signed("330106", "330100")],
        directory=directory,
        public_keys=PUBLIC,
    )
    provincial = aggregate_returns(
        _summary("330000", "000000", level=2),
        [sign_summary(municipal, KEYS["330100"])],
        directory=directory,
        public_keys=PUBLIC,
    )

    national = aggregate_returns(
        _summary("000000", None, level=1),
        [sign_summary(provincial, KEYS["330000"])],
        directory=directory,
        public_keys=PUBLIC,
    )

    assert national.missing == ("110000", "330108")
    assert national.count("records") == 40


def test_aggregate_rejects_tampered_child(directory: Directory) -> None:
    data = _signed("330106", "330100", records=12).to_bytes()
    tampered = parse_summary(data.replace(b'"all",12]', b'"all",99]'))

    with pytest.raises(SummarySignatureError):
        aggregate_returns(
            _summary("330100", "330000", level=3),
            [tampered],
            directory=directory,
            public_keys=PUBLIC,
        )


@pytest.mark.parametrize(
    ("child", "reason"),
    [
        (("110105", "330100"), "not a child"),
        (("330106", "330000"), "addressed to"),
        (("330106", "330100", "2022-Q2"), "covers"),
    ],
)
def test_aggregate_rejects_mismatch(
    directory: Directory, child: tuple[str, ...], reason: str
) -> None:
    office, parent, *period = child
    signed = _signed(office, parent, **({"period": period[0]} if period else {}))

    with pytest.raises(SummaryMismatchError, match=reason):
        aggregate_returns(
            _summary("330100", "330000", level=3),
            [signed],
            directory=directory,
            public_keys=PUBLIC,
        )


def test_aggregate_rejects_second_return(directory: Directory) -> None:
    with pytest.raises(SummaryMismatchError, match="two returns"):
        aggregate_returns(
            _summary("330100", "330000", level=3),
            [_signed("330106", "330100"), _signed("330106", "330100", records=3)],
            directory=directory,
            public_keys=PUBLIC,
        )


def test_missing_returns_after_due(directory: Directory) -> None:
    due = dt.datetime(2022, 4, 10, tzinfo=dt.UTC)
    received = {"330106": due + dt.timedelta(hours=3)}

    statuses = missing_returns(
        directory, "330100", received, due=due, as_of=due + dt.timedelta(days=1)
    )

    assert [(s.office_code, s.state) for s in statuses] == [
        ("330106", ReturnState.LATE),
        ("330108", ReturnState.MISSING),
    ]
    assert statuses[0].received_at == due + dt.timedelta(hours=3)


def test_missing_returns_before_due(directory: Directory) -> None:
    due = dt.datetime(2022, 4, 10, tzinfo=dt.UTC)

    statuses = missing_returns(directory, "330100", {}, due=due, as_of=due - dt.timedelta(days=1))

    assert statuses == ()


def test_missing_returns_on_time(directory: Directory) -> None:
    due = dt.datetime(2022, 4, 10, tzinfo=dt.UTC)
    received = {"110000": due, "330000": due - dt.timedelta(days=2)}

    assert missing_returns(directory, "000000", received, due=due, as_of=due) == ()


# --- values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "level", "key", "count"),
    [
        ("records", 4, "all", 0),
        ("records", 4, "all", -1),
        ("records", 5, "all", 1),
        ("records", 4, "P1", 1),
        ("colour", 4, "all", 1),
        ("staff", 4, "procuratorate_staff", True),
    ],
)
def test_count_validated(section: str, level: int, key: str, count: int) -> None:
    with pytest.raises(ThreeregsError):
        SummaryCount(section, level, key, count)


def test_summary_must_include_sender() -> None:
    with pytest.raises(ThreeregsError, match="must include"):
        SummaryReturn("330106", "330100", "2022-Q1", AT, ("330108",), (), ())


def test_summary_period_cannot_be_span() -> None:
    with pytest.raises(ThreeregsError):
        SummaryReturn("330106", "330100", "2022-01..2022-03", AT, ("330106",), (), ())


# --- the strict parser ----------------------------------------------------


def _valid() -> bytes:
    return _signed("330106", "330100").to_bytes()


def _edit(document: dict[str, object]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n",
        b"[]",
        b"null",
        b"\xff\xfe",
        b'{"threeregs_summary":1}',
        b"{" * 100_000,
        b'{"threeregs_summary":NaN}',
        b'{"threeregs_summary":1.0}',
    ],
)
def test_parser_rejects_malformed(data: bytes) -> None:
    with pytest.raises(InvalidSummaryError):
        parse_summary(data)


def _variants() -> list[bytes]:
    """Return files that differ from a valid one in one field or in their form."""
    document = json.loads(_valid())
    variants = []

    for key, value in (
        ("threeregs_summary", 2),
        ("threeregs_summary", True),
        ("office", 330106),
        ("office", "330 106"),
        ("parent", 1),
        ("period", "2022-Q5"),
        ("created_at", "2022-04-03 01:02:03"),
        ("created_at", "2022-13-03T01:02:03.000000Z"),
        ("offices", ["330108"]),
        ("offices", ["330106", "330106"]),
        ("missing", ["330106"]),
        ("counts", [["records", 4, "all", 1.5]]),
        ("counts", [["records", 4, "all", True]]),
        ("counts", [["records", 4, "all", 10**13]]),
        ("counts", [["records", 4, "all"]]),
        ("counts", [["zero_reports", 4, "all", 1], ["records", 4, "all", 1]]),
        ("counts", [["records", 4, "all", 1], ["records", 4, "all", 1]]),
        ("counts", {"records": 1}),
        ("signature", "00"),
        ("signature", "A" * 128),
    ):
        changed = dict(document)
        changed[key] = value
        variants.append(_edit(changed))

    reordered = dict(reversed(list(document.items())))
    variants.append(_edit(reordered))
    extra = dict(document)
    extra["note"] = "x"
    variants.append(_edit(extra))

    spaced = json.dumps(document, ensure_ascii=False).encode()
    variants.append(spaced)
    duplicated = _valid().replace(b'"office":"330106"', b'"office":"330106","office":"330106"')
    variants.append(duplicated)
    variants.append(_valid() + b"\n")
    variants.append(_valid().replace(b"\n", b"\r\n"))
    return variants


@pytest.mark.parametrize("data", _variants())
def test_parser_rejects_invalid_fields(data: bytes) -> None:
    with pytest.raises(InvalidSummaryError):
        parse_summary(data)


def test_parser_accepts_missing_final_line_break() -> None:
    assert parse_summary(_valid().rstrip(b"\n")) == parse_summary(_valid())


def test_parser_errors_are_stats_errors() -> None:
    with pytest.raises(StatsError) as caught:
        parse_summary(b"{}")

    assert isinstance(caught.value, ValueError)


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_parser_fuzz_random_bytes(data: bytes) -> None:
    # Anything but InvalidSummaryError escapes and fails the test.
    with contextlib.suppress(InvalidSummaryError):
        parse_summary(data)


@settings(max_examples=300)
@given(st.data())
def test_parser_fuzz_mutated_file(data: st.DataObject) -> None:
    valid = _valid()
    position = data.draw(st.integers(0, len(valid) - 1))
    replacement = data.draw(st.binary(min_size=0, max_size=3))
    mutated = valid[:position] + replacement + valid[position + 1 :]

    try:
        signed = parse_summary(mutated)
    except InvalidSummaryError:
        return
    try:
        verify_summary(signed, PUBLIC)
    except SummarySignatureError:
        return
    # Only an edit that leaves the signed content as it was can verify.
    assert signed.summary == _summary("330106", "330100")


_counts = st.lists(
    st.sampled_from([(section, key) for section, keys in SECTIONS.items() for key in keys]).flatmap(
        lambda pair: st.builds(
            SummaryCount,
            st.just(pair[0]),
            st.integers(1, 4),
            st.just(pair[1]),
            st.integers(1, 10**12),
        )
    ),
    max_size=20,
    unique_by=lambda count: (count.section, count.level, count.key),
)
_codes = st.from_regex(r"[0-9A-Za-z_-]{1,16}", fullmatch=True)


@given(
    office=_codes,
    others=st.lists(_codes, max_size=5),
    counts=_counts,
    period=st.sampled_from(["2022-03", "2022-Q1", "2022-H2", "2022"]),
)
def test_any_summary_round_trips(
    office: str, others: list[str], counts: list[SummaryCount], period: str
) -> None:
    summary = SummaryReturn(
        office,
        None,
        period,
        AT,
        (office, *others),
        (),
        tuple(counts),
    )
    signed = sign_summary(summary, KEYS["330106"])

    assert parse_summary(signed.to_bytes()) == signed
