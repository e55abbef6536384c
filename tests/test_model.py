from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

import attrs
import pytest
from hypothesis import given, settings

from strategies import filings, records
from threeregs._errors import ValidationError
from threeregs._model import (
    FUTURE_TOLERANCE,
    MAX_ATTACHMENTS,
    MAX_CONTENT,
    MAX_ID,
    MAX_NAME,
    MAX_PLACE,
    MAX_POSITION,
    MAX_RECORDS,
    MAX_RESPONSE,
    MAX_UNIT,
    Filer,
    Filing,
    Intervener,
    MonthlyObligation,
    Record,
    StageObligation,
)
from threeregs._vocabulary import Bucket, Conduct, IntervenerRole, Manner, Provision, StaffKind
from threeregs.routing import Level

FILED_AT = dt.datetime(2024, 5, 20, 9, 30, tzinfo=dt.UTC)
OCCURRED_AT = dt.datetime(2024, 5, 18, 20, 15, tzinfo=dt.UTC)
CONTENT = (
    "王某某以老同学身份致电承办检察官，询问其亲属涉嫌盗窃一案的办理进度，"
    "并请求从轻处理。承办人当即拒绝并告知将如实记录。"
)


def intervener(**changes: Any) -> Intervener:
    fields: dict[str, Any] = {
        "name": "王某某",
        "unit": "某市人民政府办公室",
        "position": "副主任",
        "role": IntervenerRole.LEADING_CADRE,
    }
    fields.update(changes)
    return Intervener(**fields)


def record(**changes: Any) -> Record:
    fields: dict[str, Any] = {
        "provision": Provision.P1,
        "conduct": Conduct.PLEADING,
        "bucket": Bucket.IMPROPER_INTERFERENCE,
        "intervener": intervener(),
        "occurred_at": OCCURRED_AT,
        "manner": Manner.PHONE,
        "content": CONTENT,
    }
    fields.update(changes)
    return Record(**fields)


def filer(**changes: Any) -> Filer:
    fields: dict[str, Any] = {
        "person_id": "P000123",
        "office_code": "330106",
        "staff_kind": StaffKind.PROSECUTOR,
    }
    fields.update(changes)
    return Filer(**fields)


def filing(**changes: Any) -> Filing:
    fields: dict[str, Any] = {
        "records": (record(),),
        "filed_at": FILED_AT,
    }
    fields.update(changes)
    obligation = fields.pop("obligation", StageObligation(case_id="2024-XS-17", stage="accept"))
    return Filing(fields.pop("filer", filer()), obligation, **fields)


def assert_invalid(error: ValidationError, field: str, value: object) -> None:
    assert error.field == field
    # Messages shorten long values to 60 characters of their repr.
    assert repr(value)[:50] in str(error)


# --- valid values ----------------------------------------------------------


def test_record_valid() -> None:
    item = record()
    assert item.provision is Provision.P1
    assert item.place == ""
    assert item.response == ""
    assert item.attachments == ()


def test_record_accepts_codes() -> None:
    item = record(provision="P3", conduct="contact", bucket="off_hours_contact", manner="in_person")
    assert item.provision is Provision.P3
    assert item.conduct is Conduct.CONTACT
    assert item.bucket is Bucket.OFF_HOURS_CONTACT
    assert item.manner is Manner.IN_PERSON


def test_record_is_frozen() -> None:
    item = record()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        item.content = "改写"  # type: ignore[misc]


def test_record_text_normalised_to_nfc() -> None:
    decomposed = "Cafe\u0301 会面"
    item = record(content=decomposed, place=decomposed)
    assert item.content == unicodedata.normalize("NFC", decomposed)
    assert item.place == "Café 会面"


def test_record_length_counted_after_nfc() -> None:
    # Each "e" + combining acute accent is two code points and one after NFC.
    item = record(content="e\u0301" * MAX_CONTENT)
    assert len(item.content) == MAX_CONTENT


def test_record_content_may_span_lines() -> None:
    item = record(content="第一行\n第二行\r\n\t第三行")
    assert item.content.count("\n") == 2


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("name", MAX_NAME),
        ("unit", MAX_UNIT),
        ("position", MAX_POSITION),
    ],
)
def test_intervener_text_at_limit(field: str, limit: int) -> None:
    person = intervener(**{field: "张" * limit})
    assert len(getattr(person, field)) == limit


@pytest.mark.parametrize(
    ("field", "limit"),
    [("content", MAX_CONTENT), ("place", MAX_PLACE), ("response", MAX_RESPONSE)],
)
def test_record_text_at_limit(field: str, limit: int) -> None:
    item = record(**{field: "案" * limit})
    assert len(getattr(item, field)) == limit


def test_record_future_within_tolerance() -> None:
    soon = dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE - dt.timedelta(seconds=30)
    assert record(occurred_at=soon).occurred_at == soon


def test_record_time_converted_to_utc() -> None:
    beijing = dt.timezone(dt.timedelta(hours=8))
    item = record(occurred_at=dt.datetime(2024, 5, 18, 20, 15, tzinfo=beijing))
    assert item.occurred_at.tzinfo is dt.UTC
    assert item.occurred_at == dt.datetime(2024, 5, 18, 12, 15, tzinfo=dt.UTC)


def test_record_max_attachments() -> None:
    digests = tuple(f"{i:064x}" for i in range(MAX_ATTACHMENTS))
    assert record(attachments=digests).attachments == digests


def test_filing_zero() -> None:
    zero = Filing.zero(filer(), StageObligation(case_id="2024-XS-17", stage="accept"))
    assert zero.is_zero
    assert zero.records == ()
    assert zero.kind == "stage"
    assert len(zero.filing_id) == 32


def test_filing_kinds() -> None:
    assert filing().kind == "stage"
    assert filing(obligation=MonthlyObligation(month="2024-05")).kind == "monthly"
    assert filing(obligation=None).kind == "anytime"


def test_filing_direct_to_text() -> None:
    assert filing(direct_to="provincial").direct_to is Level.PROVINCIAL


def test_filing_ids_unique() -> None:
    assert filing().filing_id != filing().filing_id


def test_filing_max_records() -> None:
    assert len(filing(records=(record(),) * MAX_RECORDS).records) == MAX_RECORDS


def test_evolve_validates_again() -> None:
    with pytest.raises(ValidationError) as info:
        attrs.evolve(record(), conduct=Conduct.CONTACT)
    assert info.value.field == "conduct"


@settings(max_examples=50, deadline=None)
@given(filings())
def test_generated_filings_valid(value: Filing) -> None:
    assert attrs.evolve(value) == value
    assert value.is_zero == (not value.records)
    for item in value.records:
        assert item.occurred_at <= value.filed_at


@settings(max_examples=50, deadline=None)
@given(records())
def test_generated_records_nfc(value: Record) -> None:
    assert unicodedata.is_normalized("NFC", value.content)
    assert unicodedata.is_normalized("NFC", value.intervener.name)


# --- invalid values --------------------------------------------------------


def test_record_missing_fields_type_error() -> None:
    # attrs builds a plain __init__, so a missing argument is Python's own
    # TypeError rather than a ValidationError.
    with pytest.raises(TypeError, match="missing"):
        Record()


def test_intervener_missing_name_type_error() -> None:
    with pytest.raises(TypeError, match="name"):
        Intervener(unit="", position="", role=IntervenerRole.LAWYER)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("provision", "P4"),
        ("conduct", "bribery"),
        ("bucket", "serious"),
        ("manner", "email"),
        ("provision", 1),
        ("conduct", None),
    ],
)
def test_record_unknown_code(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        record(**{field: value})
    assert_invalid(info.value, field, value)
    assert "expected one of" in info.value.reason


def test_intervener_unknown_role() -> None:
    with pytest.raises(ValidationError) as info:
        intervener(role="neighbour")
    assert_invalid(info.value, "role", "neighbour")


def test_filer_unknown_staff_kind() -> None:
    with pytest.raises(ValidationError) as info:
        filer(staff_kind="volunteer")
    assert_invalid(info.value, "staff_kind", "volunteer")


@pytest.mark.parametrize(
    ("provision", "conduct"),
    [
        (Provision.P3, Conduct.PLEADING),
        (Provision.P3, Conduct.INQUIRY),
        (Provision.P1, Conduct.CONTACT),
        (Provision.P2, Conduct.ACCEPTING_BENEFITS),
    ],
)
def test_record_conduct_not_of_provision(provision: Provision, conduct: Conduct) -> None:
    with pytest.raises(ValidationError) as info:
        record(provision=provision, conduct=conduct)
    assert_invalid(info.value, "conduct", conduct.value)
    assert provision.value in info.value.reason


@pytest.mark.parametrize(
    ("provision", "conduct", "bucket"),
    [
        (Provision.P1, Conduct.INQUIRY, Bucket.IMPROPER_INTERFERENCE),
        (Provision.P1, Conduct.PLEADING, Bucket.ROUTINE_INQUIRY),
        (Provision.P3, Conduct.CONTACT, Bucket.IMPROPER_INTERFERENCE),
        (Provision.P3, Conduct.BORROWING, Bucket.OFF_HOURS_CONTACT),
    ],
)
def test_record_bucket_not_of_conduct(
    provision: Provision, conduct: Conduct, bucket: Bucket
) -> None:
    with pytest.raises(ValidationError) as info:
        record(provision=provision, conduct=conduct, bucket=bucket)
    assert_invalid(info.value, "bucket", bucket.value)
    assert conduct.value in info.value.reason


def test_record_future_beyond_tolerance() -> None:
    later = dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE + dt.timedelta(minutes=1)
    with pytest.raises(ValidationError) as info:
        record(occurred_at=later)
    assert_invalid(info.value, "occurred_at", later)
    assert "future" in info.value.reason


def test_filing_filed_in_future() -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as info:
        filing(records=(), filed_at=later)
    assert_invalid(info.value, "filed_at", later)


def test_record_naive_time() -> None:
    naive = dt.datetime(2024, 5, 18, 20, 15)  # noqa: DTZ001 - the invalid input under test
    with pytest.raises(ValidationError) as info:
        record(occurred_at=naive)
    assert_invalid(info.value, "occurred_at", naive)


def test_record_time_before_1990() -> None:
    old = dt.datetime(1989, 12, 31, tzinfo=dt.UTC)
    with pytest.raises(ValidationError) as info:
        record(occurred_at=old)
    assert_invalid(info.value, "occurred_at", old)


def test_record_time_overflow_rejected() -> None:
    ancient = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with pytest.raises(ValidationError) as info:
        record(occurred_at=ancient)
    assert info.value.field == "occurred_at"


def test_record_after_filing_time() -> None:
    late = FILED_AT + FUTURE_TOLERANCE + dt.timedelta(seconds=1)
    with pytest.raises(ValidationError) as info:
        filing(records=(record(), record(occurred_at=late)))
    assert_invalid(info.value, "records[1].occurred_at", late)


@pytest.mark.parametrize(
    ("field", "limit"),
    [("name", MAX_NAME), ("unit", MAX_UNIT), ("position", MAX_POSITION)],
)
def test_intervener_text_over_limit(field: str, limit: int) -> None:
    text = "张" * (limit + 1)
    with pytest.raises(ValidationError) as info:
        intervener(**{field: text})
    assert_invalid(info.value, field, text)
    assert str(limit) in info.value.reason


@pytest.mark.parametrize(
    ("field", "limit"),
    [("content", MAX_CONTENT), ("place", MAX_PLACE), ("response", MAX_RESPONSE)],
)
def test_record_text_over_limit(field: str, limit: int) -> None:
    text = "案" * (limit + 1)
    with pytest.raises(ValidationError) as info:
        record(**{field: text})
    assert_invalid(info.value, field, text)
    assert f"{limit + 1} characters" in info.value.reason


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
def test_record_empty_content(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        record(content=text)
    assert_invalid(info.value, "content", text)


def test_intervener_empty_name() -> None:
    with pytest.raises(ValidationError) as info:
        intervener(name=" ")
    assert_invalid(info.value, "name", " ")


@pytest.mark.parametrize("value", [42, b"\xe7\x8e\x8b", None])
def test_intervener_name_not_text(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        intervener(name=value)
    assert_invalid(info.value, "name", value)


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("content", "王某\x00来电"),
        ("content", "王某\x07来电"),
        ("content", "王某\x1b[31m来电"),
        ("response", "拒绝\x7f"),
        ("place", "办公室\n二楼"),
        ("place", "办公室\t二楼"),
    ],
)
def test_record_control_character(field: str, text: str) -> None:
    with pytest.raises(ValidationError) as info:
        record(**{field: text})
    assert_invalid(info.value, field, text)
    assert "control character" in info.value.reason


@pytest.mark.parametrize("text", ["王\n某", "王\r某", "王\x00某"])
def test_intervener_name_control_character(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        intervener(name=text)
    assert_invalid(info.value, "name", text)


@pytest.mark.parametrize("text", ["王某\ud800来电", "\udfff"])
def test_record_lone_surrogate(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        record(content=text)
    assert info.value.field == "content"


@pytest.mark.parametrize(
    ("flag", "value"),
    [("procuratorate_staff", 1), ("own_office_leader", "yes"), ("own_office_inspection", None)],
)
def test_intervener_flag_not_bool(flag: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        intervener(**{flag: value})
    assert_invalid(info.value, flag, value)


@pytest.mark.parametrize(
    "digest",
    ["A" * 64, "a" * 63, "g" * 64, "e3b0c442" * 8 + "0"],
)
def test_record_bad_attachment_digest(digest: str) -> None:
    with pytest.raises(ValidationError) as info:
        record(attachments=("0" * 64, digest))
    assert_invalid(info.value, "attachments[1]", digest)


def test_record_too_many_attachments() -> None:
    digests = tuple(f"{i:064x}" for i in range(MAX_ATTACHMENTS + 1))
    with pytest.raises(ValidationError) as info:
        record(attachments=digests)
    assert_invalid(info.value, "attachments", MAX_ATTACHMENTS + 1)


def test_record_attachments_not_iterable() -> None:
    with pytest.raises(ValidationError) as info:
        record(attachments=5)
    assert info.value.field == "attachments"


def test_record_intervener_wrong_type() -> None:
    # attrs.validators.instance_of raises TypeError, unlike the other fields.
    with pytest.raises(TypeError):
        record(intervener={"name": "王某某"})


def test_filing_too_many_records() -> None:
    with pytest.raises(ValidationError) as info:
        filing(records=(record(),) * (MAX_RECORDS + 1))
    assert_invalid(info.value, "records", MAX_RECORDS + 1)


def test_filing_record_not_record() -> None:
    with pytest.raises(ValidationError) as info:
        filing(records=(record(), "王某来电"))
    assert_invalid(info.value, "records[1]", "王某来电")


def test_filing_records_not_iterable() -> None:
    with pytest.raises(ValidationError) as info:
        filing(records=5)
    assert info.value.field == "records"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("basic", Level.BASIC), (Level.BASIC, Level.BASIC), ("county", "county"), (3, 3)],
)
def test_filing_bad_direct_to(value: object, shown: object) -> None:
    with pytest.raises(ValidationError) as info:
        filing(direct_to=value)
    assert_invalid(info.value, "direct_to", shown)


@pytest.mark.parametrize("value", ["abc", "A" * 32, "0" * 33, 7])
def test_filing_bad_filing_id(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        filing(filing_id=value)
    assert_invalid(info.value, "filing_id", value)


def test_filing_supersedes_itself() -> None:
    with pytest.raises(ValidationError) as info:
        filing(filing_id="ab" * 16, supersedes="ab" * 16)
    assert_invalid(info.value, "supersedes", "ab" * 16)


@pytest.mark.parametrize("value", ["", "v" * (MAX_ID + 1), 3])
def test_filing_bad_policy_version(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        filing(policy_version=value)
    assert_invalid(info.value, "policy_version", value)


def test_filing_bad_obligation() -> None:
    with pytest.raises(ValidationError) as info:
        filing(obligation="accept")
    assert_invalid(info.value, "obligation", "accept")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("person_id", "-P1"),
        ("person_id", "王检察官"),
        ("person_id", "P" * (MAX_ID + 1)),
        ("person_id", ""),
        ("office_code", "330 106"),
        ("office_code", None),
    ],
)
def test_filer_bad_id(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        filer(**{field: value})
    assert_invalid(info.value, field, value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stage", "Accept"),
        ("stage", "审查起诉"),
        ("stage", "1accept"),
        ("round", 0),
        ("round", 100),
        ("round", True),
        ("round", "1"),
        ("case_id", "案件/1"),
    ],
)
def test_stage_obligation_bad_field(field: str, value: object) -> None:
    fields: dict[str, Any] = {"case_id": "2024-XS-17", "stage": "accept", "round": 1}
    fields[field] = value
    with pytest.raises(ValidationError) as info:
        StageObligation(**fields)
    assert_invalid(info.value, field, value)


@pytest.mark.parametrize("value", ["2024-13", "2024-00", "1989-12", "2024-5", "2024/05", 202405])
def test_monthly_obligation_bad_month(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        MonthlyObligation(month=value)
    assert_invalid(info.value, "month", value)


def test_validation_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="invalid conduct"):
        record(conduct="bribery")
