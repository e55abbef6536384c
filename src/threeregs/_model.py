"""The filing model: records, filings and receipts.

All values are frozen attrs classes validated on construction; change one
with :func:`attrs.evolve`, which validates again. Text fields are normalised
to Unicode NFC so that the same text always has the same canonical bytes.
Limits below are part of the documented canonical form (the "Canonical
form" section of ``docs/envelope.md``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import TYPE_CHECKING, Any, Final

import attrs

from threeregs._checks import (
    MAX_ID,
    check_aware,
    check_id,
    check_member,
    check_text,
    member_converter,
    nfc,
    to_utc,
)
from threeregs._errors import ValidationError
from threeregs._vocabulary import (
    BUCKETS_BY_CONDUCT,
    CONDUCT_BY_PROVISION,
    Bucket,
    Conduct,
    IntervenerRole,
    Manner,
    Provision,
    StaffKind,
)
from threeregs.routing._directory import Level

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

#: How far in the future a timestamp may lie, to absorb clock skew between the
#: host's servers.
FUTURE_TOLERANCE: Final = dt.timedelta(minutes=5)
#: Maximum lengths in characters (after NFC normalisation).
MAX_NAME: Final = 50
MAX_UNIT: Final = 100
MAX_POSITION: Final = 50
MAX_PLACE: Final = 200
MAX_CONTENT: Final = 5000
MAX_RESPONSE: Final = 1000
#: Maximum number of records in one filing and attachments in one record.
MAX_RECORDS: Final = 20
MAX_ATTACHMENTS: Final = 20

_FILING_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_DIGEST_PATTERN = re.compile(r"[0-9a-f]{64}")
_MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")
_STAGE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,47}")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text_validator(
    max_length: int, *, allow_empty: bool = False, multiline: bool = False
) -> Callable[[object, attrs.Attribute[str], object], None]:
    """Build a validator for text of at most *max_length* characters."""

    def validate(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
        check_text(attribute.name, value, max_length, allow_empty=allow_empty, multiline=multiline)

    return validate


def _text(max_length: int, *, allow_empty: bool = False, multiline: bool = False) -> Any:
    """Build a required attrs field for NFC-normalised text."""
    return attrs.field(
        converter=nfc,
        validator=_text_validator(max_length, allow_empty=allow_empty, multiline=multiline),
    )


def _check_identifier(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_id(attribute.name, value)


def _identifier() -> Any:
    """Build a required field for an id."""
    return attrs.field(validator=_check_identifier)


def _enum(enum_type: type[Any]) -> Any:
    """Build a field that accepts a member of *enum_type* or its code."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_member(attribute.name, value, enum_type)

    return attrs.field(converter=member_converter(enum_type), validator=validate)


def _bool() -> Any:
    def validate(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
        if not isinstance(value, bool):
            raise ValidationError(attribute.name, value, "expected True or False")

    return attrs.field(default=False, validator=validate, kw_only=True)


def _check_timestamp(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    value = check_aware(attribute.name, value)
    if value.year < 1990:
        raise ValidationError(attribute.name, value, "lies before 1990")
    if value - _utcnow() > FUTURE_TOLERANCE:
        raise ValidationError(
            attribute.name,
            value,
            f"lies in the future by more than {FUTURE_TOLERANCE}; check the clock",
        )


def _timestamp() -> Any:
    """Build a required field for an aware timestamp, converted to UTC."""
    return attrs.field(converter=to_utc, validator=_check_timestamp)


def _instance_of(cls: type) -> Any:
    """Build a required field holding an instance of *cls*."""
    return attrs.field(validator=attrs.validators.instance_of(cls))


def _to_tuple(value: Iterable[Any]) -> Any:
    # Other values reach the validator, which names the field.
    return tuple(value) if isinstance(value, list | tuple) else value


@attrs.frozen
class Intervener:
    """The person who intervened in a case or had contact with the filer."""

    name: str = _text(MAX_NAME)
    unit: str = _text(MAX_UNIT, allow_empty=True)
    position: str = _text(MAX_POSITION, allow_empty=True)
    role: IntervenerRole = _enum(IntervenerRole)
    #: Whether the intervener works for a procuratorate.
    procuratorate_staff: bool = _bool()
    #: Whether the intervener is a mid-level-or-higher leader of the filer's
    #: own office.
    own_office_leader: bool = _bool()
    #: Whether the intervener works in the inspection department of the
    #: filer's own office.
    own_office_inspection: bool = _bool()


def _check_attachments(instance: Record, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise ValidationError("attachments", value, "expected a tuple of SHA-256 hex digests")
    if len(value) > MAX_ATTACHMENTS:
        raise ValidationError(
            "attachments", len(value), f"at most {MAX_ATTACHMENTS} attachments per record"
        )
    for index, digest in enumerate(value):
        if not isinstance(digest, str) or not _DIGEST_PATTERN.fullmatch(digest):
            raise ValidationError(
                f"attachments[{index}]", digest, "expected 64 lowercase hex digits of SHA-256"
            )


@attrs.frozen
class Record:
    """One intervention or contact, as the filer reports it."""

    provision: Provision = _enum(Provision)
    conduct: Conduct = _enum(Conduct)
    bucket: Bucket = _enum(Bucket)
    intervener: Intervener = _instance_of(Intervener)
    occurred_at: dt.datetime = _timestamp()
    manner: Manner = _enum(Manner)
    content: str = _text(MAX_CONTENT, multiline=True)
    place: str = attrs.field(
        default="",
        kw_only=True,
        converter=nfc,
        validator=_text_validator(MAX_PLACE, allow_empty=True),
    )
    response: str = attrs.field(
        default="",
        kw_only=True,
        converter=nfc,
        validator=_text_validator(MAX_RESPONSE, allow_empty=True, multiline=True),
    )
    attachments: tuple[str, ...] = attrs.field(
        default=(), converter=_to_tuple, validator=_check_attachments, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if self.conduct not in CONDUCT_BY_PROVISION[self.provision]:
            raise ValidationError(
                "conduct",
                self.conduct.value,
                f"is not a category of provision {self.provision.value}; "
                f"use one of {_codes(CONDUCT_BY_PROVISION[self.provision])}",
            )
        if self.bucket not in BUCKETS_BY_CONDUCT[self.conduct]:
            raise ValidationError(
                "bucket",
                self.bucket.value,
                f"does not fit conduct {self.conduct.value}; "
                f"use one of {_codes(BUCKETS_BY_CONDUCT[self.conduct])}",
            )


def _codes(members: frozenset[Any]) -> str:
    return ", ".join(sorted(m.value for m in members))


@attrs.frozen
class Filer:
    """The member of staff who files: person id, office and staff kind."""

    person_id: str = _identifier()
    office_code: str = _identifier()
    staff_kind: StaffKind = _enum(StaffKind)


def _check_stage(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not _STAGE_PATTERN.fullmatch(value):
        raise ValidationError(
            attribute.name, value, "expected a stage code of lowercase letters, digits and _"
        )


def _check_round(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 99:
        raise ValidationError(attribute.name, value, "expected a whole number from 1 to 99")


@attrs.frozen
class StageObligation:
    """The duty to file for one round of one stage of a case."""

    case_id: str = attrs.field(validator=_check_identifier)
    stage: str = attrs.field(validator=_check_stage)
    round: int = attrs.field(default=1, validator=_check_round)


def _check_month(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    match = _MONTH_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1990:
        raise ValidationError(attribute.name, value, "expected a month as YYYY-MM")


@attrs.frozen
class MonthlyObligation:
    """The duty to file a monthly major-matters return."""

    month: str = attrs.field(validator=_check_month)


#: Duty a filing meets: a stage round, a month, or nothing (an anytime record).
Obligation = StageObligation | MonthlyObligation | None


def _new_filing_id() -> str:
    return uuid.uuid4().hex


def _check_records(instance: Filing, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise ValidationError("records", value, "expected a tuple of Record")
    if len(value) > MAX_RECORDS:
        raise ValidationError(
            "records",
            len(value),
            f"at most {MAX_RECORDS} records per filing; file the rest as a second anytime record",
        )
    for index, record in enumerate(value):
        if not isinstance(record, Record):
            raise ValidationError(f"records[{index}]", record, "expected a Record")


def _check_obligation(instance: Filing, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, StageObligation | MonthlyObligation):
        raise ValidationError(
            "obligation", value, "expected StageObligation, MonthlyObligation or None"
        )


def _convert_level(value: object) -> object:
    if isinstance(value, str):
        try:
            return Level.parse(value)
        except ValidationError:
            return value
    return value


def _check_direct_to(instance: Filing, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Level) or value is Level.BASIC:
        raise ValidationError(
            "direct_to",
            value,
            "a direct report goes to the municipal, provincial or supreme level, or None",
        )


def _check_optional_id(instance: Filing, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not _FILING_ID_PATTERN.fullmatch(value):
        raise ValidationError(attribute.name, value, "expected a filing id of 32 hex digits")


def _check_policy_version(instance: Filing, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (
        not isinstance(value, str) or not 0 < len(value) <= MAX_ID or not _encodable(value)
    ):
        raise ValidationError("policy_version", value, f"expected text of 1 to {MAX_ID} characters")


@attrs.frozen
class Filing:
    """A report filed by one member of staff, holding zero or more records.

    A filing with no records is a zero report. ``obligation`` says what duty
    it meets; ``direct_to`` makes it a direct report to the inspection
    department of that level in the filer's chain. ``policy_version`` is set
    by the gate when it accepts the filing.
    """

    filer: Filer = attrs.field(validator=attrs.validators.instance_of(Filer))
    obligation: Obligation = attrs.field(validator=_check_obligation)
    records: tuple[Record, ...] = attrs.field(
        default=(), converter=_to_tuple, validator=_check_records, kw_only=True
    )
    direct_to: Level | None = attrs.field(
        default=None, converter=_convert_level, validator=_check_direct_to, kw_only=True
    )
    supersedes: str | None = attrs.field(default=None, validator=_check_optional_id, kw_only=True)
    filed_at: dt.datetime = attrs.field(
        factory=_utcnow, converter=to_utc, validator=_check_timestamp, kw_only=True
    )
    filing_id: str = attrs.field(factory=_new_filing_id, validator=_check_optional_id, kw_only=True)
    policy_version: str | None = attrs.field(
        default=None, validator=_check_policy_version, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if self.supersedes == self.filing_id:
            raise ValidationError("supersedes", self.supersedes, "a filing cannot supersede itself")
        for index, record in enumerate(self.records):
            if record.occurred_at - self.filed_at > FUTURE_TOLERANCE:
                raise ValidationError(
                    f"records[{index}].occurred_at",
                    record.occurred_at,
                    "lies after the time of filing",
                )

    @classmethod
    def zero(
        cls,
        filer: Filer,
        obligation: Obligation,
        *,
        direct_to: Level | None = None,
        supersedes: str | None = None,
        filed_at: dt.datetime | None = None,
    ) -> Filing:
        """Build a zero report: the filer declares there was nothing to record."""
        return cls(
            filer,
            obligation,
            direct_to=direct_to,
            supersedes=supersedes,
            filed_at=filed_at or _utcnow(),
        )

    @property
    def is_zero(self) -> bool:
        """Whether this is a zero report."""
        return not self.records

    @property
    def kind(self) -> str:
        """``"stage"``, ``"monthly"`` or ``"anytime"``, after the obligation."""
        if isinstance(self.obligation, StageObligation):
            return "stage"
        if isinstance(self.obligation, MonthlyObligation):
            return "monthly"
        return "anytime"


@attrs.frozen
class Receipt:
    """Proof, kept by the filer, that a filing was stored.

    ``digest`` is the SHA-256, in hex, of the envelope's header core and
    payload ciphertext (:func:`threeregs.crypto.content_digest`), which key
    rotation leaves unchanged.
    """

    filing_id: str
    digest: str
    received_at: dt.datetime
    #: Advice from the routing policy, as codes (for example
    #: ``"direct_report_suggested:own_office_leader"``).
    notices: tuple[str, ...] = attrs.field(default=(), kw_only=True)
