"""Signed summary returns that carry counts up the hierarchy of offices.

Each office's inspection department counts what it opened for a period
(:func:`summarise`), adds the returns of its child offices
(:func:`aggregate_returns`) and signs the result with its Ed25519 signing key
for its parent (:func:`sign_summary`). A return contains counts only, never
content, so the supreme office builds the national table from what it was
sent and nothing more. The returns that a parent still waits for are listed
by :func:`missing_returns`.

File format, version 1: one line of UTF-8 JSON with no spaces and the keys in
this order::

    {"threeregs_summary":1,"office":"330106","parent":"330100","period":"2022-Q1",
     "created_at":"2022-04-03T01:02:03.000000Z","offices":["330106"],"missing":[],
     "counts":[["records",4,"all",12],...],"signature":"<128 hex digits>"}

``offices`` lists every office whose counts are included, ``missing`` every
office below whose return had not arrived when a parent aggregated. A count
is ``[section, level, key, count]``: the level is that of the filers' offices
(1 supreme ... 4 basic), and only counts above zero are written. The
signature is Ed25519 over :data:`SIGNATURE_CONTEXT` followed by the same JSON
without the ``signature`` member. :func:`parse_summary` accepts exactly this
form, with one optional final line break.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any, Final, NoReturn

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import case, func, select

from threeregs._errors import (
    InvalidSummaryError,
    SummaryMismatchError,
    SummarySignatureError,
    ValidationError,
)
from threeregs._vocabulary import Bucket, Conduct, Provision
from threeregs.stats._monthly import ReturnState
from threeregs.stats._periods import Period, period_kind, period_months
from threeregs.stats._query import (
    STAFF_KEYS,
    Dimension,
    Measure,
    StatTable,
    choose,
    level_key,
)
from threeregs.stats._tables import check_stats_tables, stat_facts, stat_records
from threeregs.store._connection import connection_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from threeregs.routing._directory import Directory

__all__ = [
    "SIGNATURE_CONTEXT",
    "ReturnStatus",
    "SignedSummary",
    "SummaryCount",
    "SummaryReturn",
    "aggregate_returns",
    "missing_returns",
    "parse_summary",
    "sign_summary",
    "summarise",
    "summary_table",
    "verify_summary",
]

FORMAT_VERSION: Final = 1
#: Prefix of the signed bytes, so a summary signature can never be taken for
#: a signature over anything else made with the same key.
SIGNATURE_CONTEXT: Final = b"threeregs summary return v1\x00"
#: Largest summary file accepted, in bytes.
MAX_SIZE: Final = 16 * 1024 * 1024
#: Largest count accepted, far above a national year.
MAX_COUNT: Final = 10**12
_KEYS: Final = (
    "threeregs_summary",
    "office",
    "parent",
    "period",
    "created_at",
    "offices",
    "missing",
    "counts",
    "signature",
)
_CODE: Final = re.compile(r"[0-9A-Za-z_-]{1,16}")
_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_SIGNATURE: Final = re.compile(r"[0-9a-f]{128}")
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"

#: Keys allowed in each section, in display order.
SECTIONS: Final[dict[str, tuple[str, ...]]] = {
    "records": ("all",),
    "filings": ("all",),
    "zero_reports": ("all",),
    "provision": tuple(member.value for member in Provision),
    "conduct": tuple(member.value for member in Conduct),
    "bucket": tuple(member.value for member in Bucket),
    "staff": STAFF_KEYS,
    "direct": ("supreme", "provincial", "municipal"),
}
_SECTION_ORDER: Final = {name: index for index, name in enumerate(SECTIONS)}


def _check_code(field: str, value: object) -> None:
    if not isinstance(value, str) or _CODE.fullmatch(value) is None:
        raise ValidationError(
            field, value, "expected an office code of 1 to 16 characters from 0-9, A-Z, a-z, _ -"
        )


def _check_count(instance: SummaryCount, attribute: attrs.Attribute[Any], value: object) -> None:
    del instance, attribute
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_COUNT:
        raise ValidationError("count", value, f"expected a whole number from 1 to {MAX_COUNT}")


@attrs.frozen
class SummaryCount:
    """One count of a summary return: *section*, filer level and *key*."""

    section: str
    level: int
    key: str
    count: int = attrs.field(validator=_check_count)

    def __attrs_post_init__(self) -> None:
        if self.section not in SECTIONS:
            raise ValidationError("section", self.section, f"expected one of {', '.join(SECTIONS)}")
        if isinstance(self.level, bool) or self.level not in (1, 2, 3, 4):
            raise ValidationError("level", self.level, "expected a level number from 1 to 4")
        if self.key not in SECTIONS[self.section]:
            allowed = ", ".join(SECTIONS[self.section])
            raise ValidationError("key", self.key, f"section {self.section} has keys {allowed}")

    @property
    def order(self) -> tuple[int, int, int]:
        """Sort key: section, level, then key in display order."""
        return (
            _SECTION_ORDER[self.section],
            self.level,
            SECTIONS[self.section].index(self.key),
        )


def _sorted_codes(value: object) -> object:
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(sorted(set(value), key=str))
    return value


def _check_codes(instance: SummaryReturn, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise ValidationError(attribute.name, value, "expected a collection of office codes")
    for index, code in enumerate(value):
        _check_code(f"{attribute.name}[{index}]", code)


def _check_office(instance: SummaryReturn, attribute: attrs.Attribute[Any], value: object) -> None:
    _check_code("office", value)


def _check_parent(instance: SummaryReturn, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _check_code("parent", value)


def _sorted_counts(value: object) -> object:
    if isinstance(value, list | tuple) and all(isinstance(v, SummaryCount) for v in value):
        return tuple(sorted(value, key=lambda count: count.order))
    return value


def _check_counts(instance: SummaryReturn, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, SummaryCount) for v in value):
        raise ValidationError("counts", value, "expected a tuple of SummaryCount")
    seen: set[tuple[str, int, str]] = set()
    for count in value:
        triple = (count.section, count.level, count.key)
        if triple in seen:
            raise ValidationError("counts", triple, "appears twice; add the counts up")
        seen.add(triple)


def _check_time(instance: SummaryReturn, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError("created_at", value, "expected a timezone-aware datetime")


def _to_utc(value: object) -> object:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value


def _check_period(instance: SummaryReturn, attribute: attrs.Attribute[Any], value: object) -> None:
    if period_kind(value) is Period.SPAN:  # type: ignore[arg-type]
        raise ValidationError(
            "period", value, "a summary return covers a month, quarter, half-year or year"
        )


@attrs.frozen
class SummaryReturn:
    """Counts of one office and the offices below it for one period; no content."""

    office_code: str = attrs.field(validator=_check_office)
    parent_code: str | None = attrs.field(validator=_check_parent)
    period: str = attrs.field(validator=_check_period)
    created_at: dt.datetime = attrs.field(converter=_to_utc, validator=_check_time)
    offices: tuple[str, ...] = attrs.field(converter=_sorted_codes, validator=_check_codes)
    missing: tuple[str, ...] = attrs.field(converter=_sorted_codes, validator=_check_codes)
    counts: tuple[SummaryCount, ...] = attrs.field(
        converter=_sorted_counts, validator=_check_counts
    )

    def __attrs_post_init__(self) -> None:
        if self.office_code not in self.offices:
            raise ValidationError(
                "offices", self.offices, f"must include the sending office {self.office_code}"
            )
        if self.parent_code == self.office_code:
            raise ValidationError("parent", self.parent_code, "an office cannot be its own parent")
        both = set(self.offices) & set(self.missing)
        if both:
            raise ValidationError(
                "missing", sorted(both), "an office cannot be both included and missing"
            )

    def count(self, section: str, key: str = "all", level: int | None = None) -> int:
        """Return the count of *key* in *section*, for one filer level or all of them."""
        return sum(
            c.count
            for c in self.counts
            if c.section == section and c.key == key and (level is None or c.level == level)
        )

    def body(self) -> dict[str, Any]:
        """Return the members of the file except the signature, in file order."""
        return {
            "threeregs_summary": FORMAT_VERSION,
            "office": self.office_code,
            "parent": self.parent_code,
            "period": self.period,
            "created_at": self.created_at.strftime(_TIME_FORMAT),
            "offices": list(self.offices),
            "missing": list(self.missing),
            "counts": [[c.section, c.level, c.key, c.count] for c in self.counts],
        }

    def signed_bytes(self) -> bytes:
        """Return the bytes that the sender's signature covers."""
        return SIGNATURE_CONTEXT + _dumps(self.body())


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


@attrs.frozen
class SignedSummary:
    """A summary return with the sender's Ed25519 signature, not yet verified."""

    summary: SummaryReturn
    signature: bytes

    def to_bytes(self) -> bytes:
        """Serialise to the file format, ending with a line break."""
        document = self.summary.body()
        document["signature"] = self.signature.hex()
        return _dumps(document) + b"\n"


def sign_summary(summary: SummaryReturn, key: Ed25519PrivateKey) -> SignedSummary:
    """Sign *summary* with the sending office's Ed25519 private key."""
    if not isinstance(key, Ed25519PrivateKey):
        raise ValidationError("key", type(key).__name__, "expected an Ed25519PrivateKey")
    return SignedSummary(summary, key.sign(summary.signed_bytes()))


def verify_summary(
    signed: SignedSummary, public_keys: Mapping[str, Ed25519PublicKey]
) -> SummaryReturn:
    """Check the signature of *signed* with its sender's key from *public_keys*.

    *public_keys* maps office codes to the Ed25519 public keys the caller
    trusts. Raises :class:`SummarySignatureError` when the sender has no key
    there or the signature does not verify.
    """
    office = signed.summary.office_code
    key = public_keys.get(office)
    if key is None:
        raise SummarySignatureError(
            f"no public key for office {office!r}; add the office's summary signing key "
            "to the keys passed in"
        )
    if not isinstance(key, Ed25519PublicKey):
        raise SummarySignatureError(f"the key for office {office!r} is not an Ed25519 public key")
    try:
        key.verify(signed.signature, signed.summary.signed_bytes())
    except InvalidSignature:
        raise SummarySignatureError(
            f"the summary return of office {office!r} for {signed.summary.period} does not "
            "verify with the office's public key; it was altered or signed with another key"
        ) from None
    return signed.summary


# --- parsing --------------------------------------------------------------


def _fail(where: str, reason: str) -> NoReturn:
    raise InvalidSummaryError(where, reason)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _fail(key, "the member appears twice")
        result[key] = value
    return result


def _no_constant(name: str) -> NoReturn:
    _fail("", f"{name} is not allowed")


def _no_float(text: str) -> NoReturn:
    _fail("", f"the number {text[:20]} is not a whole number")


def _text(document: dict[str, Any], key: str) -> str:
    value = document[key]
    if not isinstance(value, str):
        _fail(key, "expected a string")
    return value


def _code_list(document: dict[str, Any], key: str) -> list[str]:
    value = document[key]
    if not isinstance(value, list):
        _fail(key, "expected a list of office codes")
    for index, code in enumerate(value):
        if not isinstance(code, str) or _CODE.fullmatch(code) is None:
            _fail(f"{key}[{index}]", "expected an office code")
    if value != sorted(set(value)):
        _fail(key, "office codes must be sorted and listed once")
    return value


def _count_list(document: dict[str, Any]) -> list[SummaryCount]:
    value = document["counts"]
    if not isinstance(value, list):
        _fail("counts", "expected a list of counts")
    counts = []
    for index, item in enumerate(value):
        where = f"counts[{index}]"
        if not isinstance(item, list) or len(item) != 4:
            _fail(where, "expected [section, level, key, count]")
        section, level, key, count = item
        if not isinstance(section, str) or not isinstance(key, str):
            _fail(where, "section and key must be strings")
        if isinstance(level, bool) or not isinstance(level, int):
            _fail(f"{where}.level", "expected a whole number")
        if isinstance(count, bool) or not isinstance(count, int):
            _fail(f"{where}.count", "expected a whole number")
        try:
            counts.append(SummaryCount(section, level, key, count))
        except ValidationError as error:
            _fail(f"{where}.{error.field}", error.reason)
    orders = [count.order for count in counts]
    if orders != sorted(set(orders)):
        _fail("counts", "counts must be sorted by section, level and key, each listed once")
    return counts


def parse_summary(data: bytes) -> SignedSummary:
    """Parse a summary return file strictly; the signature is not checked here.

    Raises :class:`InvalidSummaryError`, and nothing else, for any input that
    is not exactly the documented form. Verify the result with
    :func:`verify_summary` before trusting it.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        _fail("", f"expected bytes, not {type(data).__name__}")
    raw = bytes(data)
    if len(raw) > MAX_SIZE:
        _fail("", f"the file has {len(raw)} bytes, more than the limit of {MAX_SIZE}")
    body = raw[:-1] if raw.endswith(b"\n") else raw
    try:
        text = body.decode("utf-8")
        document = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_float=_no_float,
        )
    except InvalidSummaryError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        _fail("", f"not a JSON document in UTF-8 ({type(error).__name__})")

    if not isinstance(document, dict):
        _fail("", "expected a JSON object")
    if tuple(document) != _KEYS:
        _fail("", f"expected the members {', '.join(_KEYS)} in this order")
    version = document["threeregs_summary"]
    if version != FORMAT_VERSION or isinstance(version, bool):
        _fail(
            "threeregs_summary",
            f"unsupported format version; this library reads version {FORMAT_VERSION}",
        )

    parent = document["parent"]
    if parent is not None and not isinstance(parent, str):
        _fail("parent", "expected an office code or null")
    created = _text(document, "created_at")
    if _TIME.fullmatch(created) is None:
        _fail("created_at", "expected a UTC time as YYYY-MM-DDTHH:MM:SS.ffffffZ")
    signature = _text(document, "signature")
    if _SIGNATURE.fullmatch(signature) is None:
        _fail("signature", "expected 128 lowercase hex digits")

    try:
        created_at = dt.datetime.strptime(created, _TIME_FORMAT).replace(tzinfo=dt.UTC)
        summary = SummaryReturn(
            _text(document, "office"),
            parent,
            _text(document, "period"),
            created_at,
            tuple(_code_list(document, "offices")),
            tuple(_code_list(document, "missing")),
            _count_list(document),
        )
    except ValidationError as error:
        _fail(error.field, error.reason)
    except ValueError as error:
        _fail("created_at", f"not a valid time ({error})")

    signed = SignedSummary(summary, bytes.fromhex(signature))
    if signed.to_bytes() != body + b"\n":
        _fail("", "not in canonical form; write the file with SignedSummary.to_bytes()")
    return signed


# --- counting and aggregating --------------------------------------------


def summarise(
    stat_conn: object,
    office_code: str,
    period: str,
    *,
    directory: Directory,
    created_at: dt.datetime | None = None,
) -> SummaryReturn:
    """Count what *office_code*'s inspection department opened in *period*.

    The counts come from the statistics database *stat_conn*, grouped in SQL,
    and cover the filings whose recipient is this office: its own staff's
    filings and the direct reports sent to it. The parent is taken from
    *directory*; the supreme office's return has none.
    """
    db = connection_of(stat_conn)
    check_stats_tables(db)
    office = directory.get(office_code)
    (first_year, first_month), (last_year, last_month) = period_months(period)
    f, r = stat_facts.c, stat_records.c
    where = [
        f.recipient_code == office_code,
        f.superseded.is_(False),
        f.year_month >= first_year * 100 + first_month,
        f.year_month <= last_year * 100 + last_month,
    ]
    counts: dict[tuple[str, int, str], int] = {}

    def add(section: str, level: int, key: str, count: int) -> None:
        if count:
            counts[section, int(level), key] = counts.get((section, int(level), key), 0) + count

    not_monthly = f.kind != "monthly"
    rows = db.execute(
        select(
            f.level,
            func.count(),
            func.coalesce(func.sum(_when(f.is_zero, 1)), 0),
            func.coalesce(func.sum(_when(not_monthly, f.record_count)), 0),
        )
        .where(*where)
        .group_by(f.level)
    )
    for level, filings, zero, records in rows:
        add("filings", level, "all", int(filings))
        add("zero_reports", level, "all", int(zero))
        add("records", level, "all", int(records))

    rows = db.execute(
        select(f.level, f.direct_to, func.count())
        .where(*where, f.direct_to.is_not(None))
        .group_by(f.level, f.direct_to)
    )
    for level, direct_to, number in rows:
        add("direct", level, level_key(direct_to), int(number))

    # Record rows carry their filing's level, period and recipient.
    record_where = [
        r.recipient_code == office_code,
        r.superseded.is_(False),
        r.kind != "monthly",
        r.year_month >= first_year * 100 + first_month,
        r.year_month <= last_year * 100 + last_month,
    ]
    for section, column in (
        ("provision", r.provision),
        ("conduct", r.conduct),
        ("bucket", r.bucket),
        ("staff", r.procuratorate_staff),
    ):
        rows = db.execute(
            select(r.level, column, func.count()).where(*record_where).group_by(r.level, column)
        )
        for level, value, number in rows:
            key = str(value)
            if section == "staff":
                key = STAFF_KEYS[0] if value else STAFF_KEYS[1]
            add(section, level, key, int(number))

    return SummaryReturn(
        office_code,
        office.parent_code,
        period,
        created_at or dt.datetime.now(dt.UTC),
        (office_code,),
        (),
        tuple(SummaryCount(s, lv, k, n) for (s, lv, k), n in counts.items()),
    )


def _when(condition: Any, value: Any) -> Any:
    return case((condition, value), else_=0)


def aggregate_returns(
    own: SummaryReturn,
    children: Iterable[SignedSummary],
    *,
    directory: Directory,
    public_keys: Mapping[str, Ed25519PublicKey],
    created_at: dt.datetime | None = None,
) -> SummaryReturn:
    """Add the signed returns of *own*'s child offices to *own*'s counts.

    Each child return is verified with its sender's key from *public_keys*,
    or :class:`SummarySignatureError` is raised. It must come from a child
    office of *own* in *directory*, be addressed to it and cover the same
    period, or :class:`SummaryMismatchError` is raised. Child
    offices without a return are listed in ``missing``, together with the
    offices that the children themselves listed as missing.
    """
    expected = {office.code for office in directory.children(own.office_code)}
    counts: dict[tuple[str, int, str], int] = {}
    offices = set(own.offices)
    missing = set(own.missing)
    received: set[str] = set()

    def add(summary: SummaryReturn) -> None:
        for c in summary.counts:
            counts[c.section, c.level, c.key] = counts.get((c.section, c.level, c.key), 0) + c.count

    add(own)
    for signed in children:
        summary = verify_summary(signed, public_keys)
        sender = summary.office_code
        if sender not in expected:
            raise SummaryMismatchError(
                f"office {sender!r} is not a child of office {own.office_code!r} in the "
                "directory; send its return to its own parent"
            )
        if summary.parent_code != own.office_code:
            raise SummaryMismatchError(
                f"the return of office {sender!r} is addressed to {summary.parent_code!r}, "
                f"not to {own.office_code!r}"
            )
        if summary.period != own.period:
            raise SummaryMismatchError(
                f"the return of office {sender!r} covers {summary.period}, not {own.period}"
            )
        if sender in received:
            raise SummaryMismatchError(
                f"office {sender!r} sent two returns for {own.period}; keep the newer one"
            )
        overlap = offices & set(summary.offices)
        if overlap:
            raise SummaryMismatchError(
                f"offices {', '.join(sorted(overlap))} are counted twice; the return of office "
                f"{sender!r} includes them again"
            )
        received.add(sender)
        offices.update(summary.offices)
        missing.update(summary.missing)
        add(summary)

    missing.update(expected - received)
    return SummaryReturn(
        own.office_code,
        own.parent_code,
        own.period,
        created_at or dt.datetime.now(dt.UTC),
        tuple(offices),
        tuple(missing - offices),
        tuple(SummaryCount(s, lv, k, n) for (s, lv, k), n in counts.items()),
    )


@attrs.frozen
class ReturnStatus:
    """A child office whose summary return has not arrived or arrived late."""

    office_code: str
    state: ReturnState
    #: When the return arrived, for a late one.
    received_at: dt.datetime | None = None


def missing_returns(
    directory: Directory,
    office_code: str,
    received: Mapping[str, dt.datetime],
    *,
    due: dt.datetime,
    as_of: dt.datetime,
) -> tuple[ReturnStatus, ...]:
    """List the child offices of *office_code* whose return is missing or was late.

    *received* maps the code of each child office whose return arrived to the
    time it arrived. A return not received is listed as missing once *as_of*
    is at or past *due*; one received after *due* is listed as late.
    """
    for name, value in (("due", due), ("as_of", as_of)):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValidationError(name, value, "expected a timezone-aware datetime")
    statuses = []
    for child in directory.children(office_code):
        arrived = received.get(child.code)
        if arrived is None:
            if as_of >= due:
                statuses.append(ReturnStatus(child.code, ReturnState.MISSING))
        elif arrived > due:
            statuses.append(ReturnStatus(child.code, ReturnState.LATE, arrived))
    return tuple(statuses)


def summary_table(
    summary: SummaryReturn, by: Dimension | str, *, measure: Measure | str | None = None
) -> StatTable:
    """Return the counts of *summary* as a one-period :class:`StatTable`.

    Tables by level count records, filings or zero reports; the other
    dimensions are those of :func:`tabulate`, except office, which a summary
    does not break down.
    """
    dimension = choose(Dimension, by, "by")
    if dimension is Dimension.OFFICE:
        raise ValidationError("by", "office", "a summary return has no counts by office")
    if dimension is Dimension.LEVEL:
        chosen = Measure.RECORDS if measure is None else choose(Measure, measure, "measure")
        section = chosen.value
    else:
        chosen = Measure.FILINGS if dimension is Dimension.DIRECT else Measure.RECORDS
        if measure is not None and choose(Measure, measure, "measure") is not chosen:
            raise ValidationError(
                "measure", str(measure), f"a summary counts {dimension.value} as {chosen.value}"
            )
        section = dimension.value
    triples = [
        (summary.period, level_key(c.level) if c.key == "all" else c.key, c.count)
        for c in summary.counts
        if c.section == section
    ]
    return StatTable.from_counts(dimension, period_kind(summary.period), chosen, triples)
