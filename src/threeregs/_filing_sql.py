"""SQL statements behind :meth:`threeregs.StageGate.file`, each built once.

Building a SQLAlchemy statement on every call can cost as much as running it
on SQLite, so every builder here is cached and the gate passes only
parameters. Parameter names end in ``_`` because an INSERT or UPDATE keeps the
bare column names of its table for SQLAlchemy's own parameters.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)

from threeregs._model import StageObligation
from threeregs.crypto._keys import CertifiedKey
from threeregs.store import _tables as t

if TYPE_CHECKING:
    from sqlalchemy import Dialect, Table
    from sqlalchemy.exc import IntegrityError

    from threeregs._model import Filing, MonthlyObligation

#: Columns of an envelope row that the gate fills (``seq`` is generated).
ENVELOPE_COLUMNS = (
    "filing_id",
    "digest",
    "received_at",
    *(f"slot{index}_office" for index in range(t.SLOTS)),
    *(f"slot{index}_version" for index in range(t.SLOTS)),
    "envelope",
)


class ClaimKind(NamedTuple):
    """The variant of a claim statement: the obligation it records and its key check.

    With ``offices`` above 0 the claim also requires that the keys given for
    that many offices are still their newest active keys (see
    :func:`key_parameters`).
    """

    obligation: Literal["stage", "month"]
    offices: int


def obligation_parameters(
    filing: Filing, obligation: StageObligation | MonthlyObligation
) -> dict[str, Any]:
    """Return the parameters that name the filer's obligation in every claim statement."""
    if isinstance(obligation, StageObligation):
        return {
            "case_id_": obligation.case_id,
            "stage_": obligation.stage,
            "round_": obligation.round,
            "person_": filing.filer.person_id,
        }
    return {
        "person_": filing.filer.person_id,
        "month_": obligation.month,
        "office_code_": filing.filer.office_code,
    }


def key_parameters(codes: list[str], keys: dict[str, CertifiedKey]) -> dict[str, Any]:
    """Return the parameters of a claim's key check for *keys* of the offices *codes*."""
    parameters: dict[str, Any] = {}
    for index, code in enumerate(codes):
        parameters[f"code{index}_"] = code
        parameters[f"version{index}_"] = keys[code].record.key_version
        parameters[f"certificate{index}_"] = keys[code].to_bytes()
    return parameters


@functools.lru_cache(maxsize=1024)
def parse_certificate(certificate: bytes) -> CertifiedKey:
    """Parse a stored certificate, remembering the result: every filing reads four of them."""
    return CertifiedKey.from_bytes(certificate)


def violates(error: IntegrityError, table: Table) -> bool:
    """Return whether the driver names *table* as the table of the key that *error* broke.

    Of the supported drivers only psycopg and psycopg2 expose the server's
    error fields, so with the others this returns False.
    """
    diagnostics = getattr(error.orig, "diag", None)
    return getattr(diagnostics, "table_name", None) == table.name


@functools.cache
def keys_select(offices: int) -> Any:
    """Build the SELECT of the active keys of *offices* offices and of filing ``filing_id``.

    The office codes are the parameters ``code0``, ``code1`` and so on. One
    statement per chain length, instead of an expanding IN parameter, lets
    SQLAlchemy reuse the compiled SQL without rendering it again on each call.
    """
    k, e = t.office_keys, t.envelopes
    codes = [bindparam(f"code{index}", type_=String) for index in range(offices)]
    return (
        select(k.c.office_code, k.c.key_version, k.c.certificate, e.c.digest, e.c.received_at)
        .select_from(k.outerjoin(e, e.c.filing_id == bindparam("filing_id")))
        .where(k.c.office_code.in_(codes), k.c.retired_at.is_(None))
    )


@functools.cache
def envelope_insert() -> Any:
    """Build the INSERT of an envelope row, with one parameter per column."""
    return insert(t.envelopes)


@functools.cache
def stage_bump() -> Any:
    """Build the UPDATE that bumps the version of a case still open in the filing's stage."""
    c = t.cases
    return (
        update(c)
        .where(
            c.c.case_id == bindparam("case_id_"),
            c.c.stage == bindparam("stage_"),
            c.c.round == bindparam("round_"),
            c.c.closed.is_(False),
        )
        .values(version=c.c.version + 1)
    )


def bump_reports_keys(dialect: Dialect) -> bool:
    """Return whether *dialect* can run :func:`stage_bump_reporting_keys`.

    That takes UPDATE … RETURNING, which PostgreSQL and SQLite 3.35 or later
    have and MariaDB does not.
    """
    return bool(dialect.update_returning)


@functools.cache
def stage_bump_reporting_keys(offices: int) -> Any:
    """Build the UPDATE of :func:`stage_bump` that also returns whether the given keys are current.

    It bumps the version whatever the keys, and returns one row with the
    boolean ``keys_current`` when the case was bumped. Its parameters are
    those of :func:`stage_bump` with *offices* keys.
    """
    return stage_bump().returning(_keys_unchanged(offices).label("keys_current"))


@functools.cache
def stage_on_case() -> Any:
    """Build the SELECT of whether the filer is on the case in its current visit."""
    on_case, _ = _stage_tests(bindparam("person_", type_=String))
    return select(on_case.label("on_case")).where(t.cases.c.case_id == bindparam("case_id_"))


@functools.cache
def amendment_select(kind: Literal["stage", "month"]) -> Any:
    """Build the SELECT of whether the filer is on the case and has filed, and the earlier filing.

    Its parameters are those of :func:`obligation_parameters` and ``supersedes_``.
    """
    earlier = exists().where(t.envelopes.c.filing_id == bindparam("supersedes_"))
    if kind == "month":
        return select(
            true().label("on_case"), _month_filed().label("already"), earlier.label("earlier")
        )
    on_case, already = _stage_tests(bindparam("person_", type_=String))
    return select(
        on_case.label("on_case"), already.label("already"), earlier.label("earlier")
    ).where(t.cases.c.case_id == bindparam("case_id_"))


@functools.cache
def claim(kind: ClaimKind) -> Any:
    """Build the INSERT … SELECT that records the filer's obligation as met, if it is not yet.

    A stage claim inserts the row for the case's current visit only if the
    filer is on the case then; its parameters are those of
    :func:`obligation_parameters` and ``filed_at_``.
    """
    conditions = [_keys_unchanged(kind.offices)] if kind.offices else []
    if kind.obligation == "month":
        m = t.monthly_returns
        rows = select(
            bindparam("person_", type_=String),
            bindparam("month_", type_=String),
            bindparam("office_code_", type_=String),
            bindparam("filed_at_", type_=t.Time),
        ).where(~_month_filed(), *conditions)
        statement = insert(m).from_select(["person_id", "month", "office_code", "filed_at"], rows)
    else:
        c, s = t.cases, t.stage_filings
        person = bindparam("person_", type_=String)
        on_case, already = _stage_tests(person)
        rows = select(
            c.c.case_id,
            c.c.visit,
            person,
            c.c.stage,
            c.c.round,
            bindparam("filed_at_", type_=t.Time),
        ).where(c.c.case_id == bindparam("case_id_"), on_case, ~already, *conditions)
        statement = insert(s).from_select(
            ["case_id", "visit", "person_id", "stage", "round", "filed_at"], rows
        )
    # SQLAlchemy keeps the row count of UPDATE and DELETE only, unless this option is set.
    return statement.execution_options(preserve_rowcount=True)


def merges_claim_and_store(dialect: Dialect) -> bool:
    """Return whether *dialect* runs :func:`claim_and_store` (PostgreSQL does)."""
    return dialect.name == "postgresql"


@functools.cache
def claim_and_store(kind: ClaimKind) -> Any:
    """Build one statement that runs the claim and inserts the envelope row only if it claimed.

    PostgreSQL runs the claim as a data-modifying WITH query whose RETURNING
    row lets the envelope INSERT proceed. The parameters are the claim's and
    one per envelope column, named after it with ``_`` appended. The row
    count is 1 when both rows were inserted and 0 when neither was.
    """
    claimed = claim(kind)
    claimed = claimed.returning(claimed.table.c.person_id).cte("claimed")
    e = t.envelopes
    values = select(
        *(bindparam(f"{name}_", type_=e.c[name].type) for name in ENVELOPE_COLUMNS)
    ).where(exists(select(literal(1)).select_from(claimed)))
    return (
        insert(e)
        .from_select(list(ENVELOPE_COLUMNS), values)
        .add_cte(claimed)
        .execution_options(preserve_rowcount=True)
    )


def _stage_tests(person: Any) -> tuple[Any, Any]:
    """Build the tests whether *person* is on the case, and has filed, in its current visit."""
    c, a, s = t.cases, t.assignments, t.stage_filings
    on_case = exists().where(
        a.c.case_id == c.c.case_id,
        a.c.person_id == person,
        a.c.from_visit <= c.c.visit,
        or_(a.c.to_visit.is_(None), a.c.to_visit >= c.c.visit),
    )
    already = exists().where(
        s.c.case_id == c.c.case_id, s.c.visit == c.c.visit, s.c.person_id == person
    )
    return on_case, already


def _month_filed() -> Any:
    """Build the test whether the filer has filed the monthly return for the month."""
    m = t.monthly_returns
    return exists().where(
        m.c.person_id == bindparam("person_", type_=String),
        m.c.month == bindparam("month_", type_=String),
    )


def _keys_unchanged(offices: int) -> Any:
    """Build the test that the given key of each office is still its newest active key.

    It sums over the active keys at or above the given versions. Each given
    key with the same certificate counts 1, and any other key counts more
    than all offices together. The sum therefore equals the number of
    offices only when nothing has changed.
    """
    k = t.office_keys
    codes = [bindparam(f"code{index}_", type_=String) for index in range(offices)]
    versions = [bindparam(f"version{index}_", type_=Integer) for index in range(offices)]
    certificates = [bindparam(f"certificate{index}_", type_=t.Blob) for index in range(offices)]
    at_or_above = or_(
        *(
            and_(k.c.office_code == code, k.c.key_version >= version)
            for code, version in zip(codes, versions, strict=True)
        )
    )
    same = or_(
        *(
            and_(
                k.c.office_code == code,
                k.c.key_version == version,
                k.c.certificate == certificate,
            )
            for code, version, certificate in zip(codes, versions, certificates, strict=True)
        )
    )
    weights = (
        select(func.sum(case((same, 1), else_=offices + 1)))
        .where(k.c.retired_at.is_(None), at_or_above)
        .scalar_subquery()
    )
    return weights == offices
