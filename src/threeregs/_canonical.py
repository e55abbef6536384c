"""Canonical, versioned serialisation of filings.

Format version 1 is the four bytes ``b"TRF\\x01"`` followed by UTF-8 JSON with
keys sorted, no insignificant white space, no ASCII escaping of non-ASCII
text, no floating-point numbers, and timestamps as
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC. Text is in Unicode NFC (the model
normalises on construction). The same value therefore always gives the same
bytes, and :func:`loads` accepts only bytes that :func:`dumps` would produce.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final

from threeregs._errors import CanonicalFormError, ValidationError
from threeregs._model import (
    Filer,
    Filing,
    Intervener,
    MonthlyObligation,
    Obligation,
    Record,
    StageObligation,
)
from threeregs.routing._directory import Level

MAGIC: Final = b"TRF"
VERSION: Final = 1
PREFIX: Final = MAGIC + bytes([VERSION])
#: Upper bound on the size of one canonical filing; the model's limits keep a
#: valid filing well below it.
MAX_SIZE: Final = 1 << 20


# Built once: json.dumps() with options builds a new encoder on every call.
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dumps(filing: Filing) -> bytes:
    """Serialise *filing* to its canonical bytes."""
    return PREFIX + _ENCODER.encode(filing_to_dict(filing)).encode("utf-8")


def loads(data: bytes) -> Filing:
    """Parse canonical bytes back into a :class:`Filing`.

    Raises :class:`CanonicalFormError` for anything that :func:`dumps` would
    not have produced, including valid JSON in another layout.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CanonicalFormError("data", type(data).__name__, "expected bytes")
    data = bytes(data)
    if len(data) > MAX_SIZE:
        raise CanonicalFormError("data", len(data), f"longer than {MAX_SIZE} bytes")
    if data[:3] != MAGIC:
        raise CanonicalFormError("data", data[:4], "not a canonical filing (bad magic)")
    if data[3:4] != bytes([VERSION]):
        raise CanonicalFormError(
            "version", data[3:4].hex(), f"unsupported format version; this library reads {VERSION}"
        )
    try:
        tree = _DECODER.decode(data[4:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CanonicalFormError("data", data[4:40], f"not UTF-8 JSON: {exc}") from None
    try:
        filing = filing_from_dict(tree)
    except CanonicalFormError:
        raise
    except ValidationError as exc:
        raise CanonicalFormError(exc.field, exc.value, exc.reason) from None
    if dumps(filing) != data:
        raise CanonicalFormError("data", data[:40], "valid filing but not in canonical layout")
    return filing


def _reject_float(text: str) -> Any:
    raise CanonicalFormError("data", text, "floating-point numbers are not allowed")


# Built once: json.loads() with an option builds a new decoder on every call.
_DECODER: Final = json.JSONDecoder(parse_float=_reject_float)


def format_time(value: dt.datetime) -> str:
    """Format an aware datetime the canonical way (UTC, microseconds, ``Z``)."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    # For a UTC value with timespec="microseconds", isoformat() writes four
    # year digits, six microsecond digits and "+00:00". It is faster than strftime().
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_time(field: str, value: object) -> dt.datetime:
    """Parse a canonical timestamp, raising :class:`CanonicalFormError`."""
    if (
        not isinstance(value, str)
        or len(value) != 27
        or value[10] != "T"
        or value[19] != "."
        or value[26] != "Z"
    ):
        raise CanonicalFormError(field, value, "expected YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:
        # fromisoformat is many times faster than strptime and reads the Z as
        # UTC. The checks above and the canonical re-serialisation in loads()
        # keep the layout strict.
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise CanonicalFormError(field, value, "expected YYYY-MM-DDTHH:MM:SS.ffffffZ") from None


def filing_to_dict(filing: Filing) -> dict[str, Any]:
    """Convert *filing* to plain JSON types, as stored in the canonical form."""
    return {
        "direct_to": None if filing.direct_to is None else filing.direct_to.name.lower(),
        "filed_at": format_time(filing.filed_at),
        "filer": {
            "office_code": filing.filer.office_code,
            "person_id": filing.filer.person_id,
            "staff_kind": filing.filer.staff_kind.value,
        },
        "filing_id": filing.filing_id,
        "obligation": _obligation_to_dict(filing.obligation),
        "policy_version": filing.policy_version,
        "records": [_record_to_dict(record) for record in filing.records],
        "supersedes": filing.supersedes,
    }


def _obligation_to_dict(obligation: Obligation) -> dict[str, Any] | None:
    if isinstance(obligation, StageObligation):
        return {
            "case_id": obligation.case_id,
            "kind": "stage",
            "round": obligation.round,
            "stage": obligation.stage,
        }
    if isinstance(obligation, MonthlyObligation):
        return {"kind": "monthly", "month": obligation.month}
    return None


def _record_to_dict(record: Record) -> dict[str, Any]:
    person = record.intervener
    return {
        "attachments": list(record.attachments),
        "bucket": record.bucket.value,
        "conduct": record.conduct.value,
        "content": record.content,
        "intervener": {
            "name": person.name,
            "own_office_inspection": person.own_office_inspection,
            "own_office_leader": person.own_office_leader,
            "position": person.position,
            "procuratorate_staff": person.procuratorate_staff,
            "role": person.role.value,
            "unit": person.unit,
        },
        "manner": record.manner.value,
        "occurred_at": format_time(record.occurred_at),
        "place": record.place,
        "provision": record.provision.value,
        "response": record.response,
    }


_FILING_KEYS: Final = frozenset(
    {
        "direct_to",
        "filed_at",
        "filer",
        "filing_id",
        "obligation",
        "policy_version",
        "records",
        "supersedes",
    }
)
_FILER_KEYS: Final = frozenset({"office_code", "person_id", "staff_kind"})
_STAGE_KEYS: Final = frozenset({"case_id", "kind", "round", "stage"})
_MONTHLY_KEYS: Final = frozenset({"kind", "month"})
_RECORD_KEYS: Final = frozenset(
    {
        "attachments",
        "bucket",
        "conduct",
        "content",
        "intervener",
        "manner",
        "occurred_at",
        "place",
        "provision",
        "response",
    }
)
_INTERVENER_KEYS: Final = frozenset(
    {
        "name",
        "own_office_inspection",
        "own_office_leader",
        "position",
        "procuratorate_staff",
        "role",
        "unit",
    }
)


def _object(path: str, tree: object, keys: frozenset[str]) -> dict[str, Any]:
    """Return *tree* if it is a JSON object with exactly *keys*, else raise."""
    if type(tree) is not dict or tree.keys() != keys:
        _reject_object(path, tree, keys)
    return tree  # type: ignore[return-value]


def _reject_object(path: str, tree: object, keys: frozenset[str]) -> None:
    """Raise the error for a JSON value that is not an object with exactly *keys*."""
    if not isinstance(tree, dict):
        raise CanonicalFormError(path or "filing", tree, "expected a JSON object")
    missing = keys - tree.keys()
    if missing:
        raise CanonicalFormError(_join(path, sorted(missing)[0]), None, "missing")
    extra = tree.keys() - keys
    if extra:
        raise CanonicalFormError(_join(path, sorted(extra)[0]), None, "unknown field")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _build(path: str, build: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return build(*args, **kwargs)
    except ValidationError as exc:
        raise CanonicalFormError(_join(path, exc.field), exc.value, exc.reason) from None
    except TypeError as exc:
        raise CanonicalFormError(path or "filing", None, str(exc)) from None


def filing_from_dict(tree: object) -> Filing:
    """Build a :class:`Filing` from the plain JSON types of :func:`filing_to_dict`."""
    top = _object("", tree, _FILING_KEYS)
    filer_tree = _object("filer", top["filer"], _FILER_KEYS)
    filer = _build(
        "filer",
        Filer,
        person_id=filer_tree["person_id"],
        office_code=filer_tree["office_code"],
        staff_kind=filer_tree["staff_kind"],
    )
    records_tree = top["records"]
    if not isinstance(records_tree, list):
        raise CanonicalFormError("records", records_tree, "expected a list")
    records = tuple(_record_from_dict(f"records[{i}]", r) for i, r in enumerate(records_tree))
    direct_to = top["direct_to"]
    if direct_to is not None:
        direct_to = _build("", Level.parse, direct_to) if isinstance(direct_to, str) else direct_to
    return _build(  # type: ignore[no-any-return]
        "",
        Filing,
        filer,
        _obligation_from_dict(top["obligation"]),
        records=records,
        direct_to=direct_to,
        supersedes=top["supersedes"],
        filed_at=parse_time("filed_at", top["filed_at"]),
        filing_id=top["filing_id"],
        policy_version=top["policy_version"],
    )


def _obligation_from_dict(tree: object) -> Obligation:
    if tree is None:
        return None
    if not isinstance(tree, dict):
        raise CanonicalFormError("obligation", tree, "expected a JSON object or null")
    kind = tree.get("kind")
    if kind == "stage":
        stage = _object("obligation", tree, _STAGE_KEYS)
        return _build(  # type: ignore[no-any-return]
            "obligation",
            StageObligation,
            case_id=stage["case_id"],
            stage=stage["stage"],
            round=stage["round"],
        )
    if kind == "monthly":
        monthly = _object("obligation", tree, _MONTHLY_KEYS)
        return _build("obligation", MonthlyObligation, month=monthly["month"])  # type: ignore[no-any-return]
    raise CanonicalFormError("obligation.kind", kind, "expected 'stage' or 'monthly'")


def _record_from_dict(path: str, tree: object) -> Record:
    record = _object(path, tree, _RECORD_KEYS)
    person_path = f"{path}.intervener"
    person = _object(person_path, record["intervener"], _INTERVENER_KEYS)
    intervener = _build(
        person_path,
        Intervener,
        name=person["name"],
        unit=person["unit"],
        position=person["position"],
        role=person["role"],
        procuratorate_staff=person["procuratorate_staff"],
        own_office_leader=person["own_office_leader"],
        own_office_inspection=person["own_office_inspection"],
    )
    attachments = record["attachments"]
    if not isinstance(attachments, list):
        raise CanonicalFormError(f"{path}.attachments", attachments, "expected a list")
    return _build(  # type: ignore[no-any-return]
        path,
        Record,
        provision=record["provision"],
        conduct=record["conduct"],
        bucket=record["bucket"],
        intervener=intervener,
        occurred_at=parse_time(f"{path}.occurred_at", record["occurred_at"]),
        manner=record["manner"],
        content=record["content"],
        place=record["place"],
        response=record["response"],
        attachments=tuple(attachments),
    )
