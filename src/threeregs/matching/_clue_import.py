"""Reading clue files: CSV, a JSON array, or JSON lines.

Every format has the same fields (``docs/matching.md`` documents them). A
readable file gives an :class:`ImportResult`: the good rows become clues, and
each bad row is listed with the line it starts on and the reason. A file that
cannot be read at all (missing, not text, no header, not JSON) raises
:class:`~threeregs.ClueImportError` naming the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final

from threeregs import _i18n
from threeregs._errors import ClueImportError, ValidationError
from threeregs.matching._clues import Clue, ImportResult, IntervenerDetails, RejectedRow
from threeregs.matching._kinds import ClueSource, EventKind, kind_label

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

#: Offset applied to clue times written without one: China Standard Time.
CHINA_STANDARD_TIME: Final = dt.timezone(dt.timedelta(hours=8), "CST")

REQUIRED_FIELDS: Final = ("clue_id", "source", "occurred_from")
OPTIONAL_FIELDS: Final = (
    "occurred_to",
    "person_id",
    "person_name",
    "case_id",
    "intervener_name",
    "intervener_unit",
    "intervener_position",
    "description",
    "event_kind",
)
FIELDS: Final = REQUIRED_FIELDS + OPTIONAL_FIELDS
_INTERVENER_FIELDS: Final = ("intervener_name", "intervener_unit", "intervener_position")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Largest clue file read, in bytes. Clue files are exports of a few hundred
#: thousand rows at most; a larger file is more likely a wrong path.
MAX_FILE_SIZE: Final = 1 << 30


def _source_names() -> dict[str, ClueSource]:
    names: dict[str, ClueSource] = {}
    for source in ClueSource:
        names[source.value] = source
        for locale in _i18n.SUPPORTED_LOCALES:
            names[kind_label(source, locale).casefold()] = source
    return names


def parse_time(field: str, value: str, timezone: dt.tzinfo, *, end: bool) -> dt.datetime:
    """Parse an ISO 8601 time or date; a date stands for the whole day in *timezone*."""
    text = value.strip()
    if _DATE.fullmatch(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationError(field, value, "not a valid date") from None
        moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
        return moment.replace(tzinfo=timezone).astimezone(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            field,
            value,
            "expected an ISO 8601 time such as 2024-03-05T14:30:00+08:00 or a "
            "date such as 2024-03-05",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValidationError(field, value, "lies outside the supported range of years") from None


class _RowReader:
    """Turn one row, a mapping of field name to text, into a :class:`Clue`."""

    def __init__(self, timezone: dt.tzinfo) -> None:
        self.timezone = timezone
        self.sources = _source_names()

    def clue(self, row: Mapping[str, str | None]) -> Clue:
        def value(name: str) -> str:
            return (row.get(name) or "").strip()

        source_text = value("source")
        source = self.sources.get(source_text.casefold())
        if source is None:
            allowed = ", ".join(s.value for s in ClueSource)
            raise ValidationError(
                "source", source_text, f"unknown source; expected one of {allowed}"
            )
        event_text = value("event_kind")
        event_kind: EventKind | None = None
        if event_text:
            try:
                event_kind = EventKind(event_text)
            except ValueError:
                allowed = ", ".join(k.value for k in EventKind)
                raise ValidationError(
                    "event_kind", event_text, f"unknown event kind; expected one of {allowed}"
                ) from None

        for name in REQUIRED_FIELDS:
            if not value(name):
                raise ValidationError(name, "", "missing")
        occurred_from = parse_time(
            "occurred_from", value("occurred_from"), self.timezone, end=False
        )
        occurred_to = (
            parse_time("occurred_to", value("occurred_to"), self.timezone, end=True)
            if value("occurred_to")
            # A date alone stands for the whole day.
            else parse_time("occurred_from", value("occurred_from"), self.timezone, end=True)
        )

        intervener = None
        if any(value(name) for name in _INTERVENER_FIELDS):
            if not value("intervener_name"):
                raise ValidationError(
                    "intervener_name", "", "missing, but the intervener's unit or position is given"
                )
            intervener = IntervenerDetails(
                value("intervener_name"), value("intervener_unit"), value("intervener_position")
            )

        return Clue(
            value("clue_id"),
            source,
            occurred_from,
            occurred_to=occurred_to,
            person_id=value("person_id") or None,
            person_name=value("person_name"),
            case_id=value("case_id") or None,
            intervener=intervener,
            description=row.get("description") or "",
            event_kind=event_kind,
        )


class _Collector:
    """Gather clues and rejected rows, rejecting a repeated clue id."""

    def __init__(self, timezone: dt.tzinfo) -> None:
        self.reader = _RowReader(timezone)
        self.clues: list[Clue] = []
        self.rejected: list[RejectedRow] = []
        self.first_line: dict[str, int] = {}

    def add(self, line: int, row: Mapping[str, str | None]) -> None:
        raw_id = (row.get("clue_id") or "").strip() or None
        try:
            clue = self.reader.clue(row)
        except ValidationError as exc:
            self.rejected.append(RejectedRow(line, str(exc), raw_id))
            return
        first = self.first_line.get(clue.clue_id)
        if first is not None:
            self.rejected.append(
                RejectedRow(
                    line, f"clue_id {clue.clue_id!r} repeats the row on line {first}", raw_id
                )
            )
            return
        self.first_line[clue.clue_id] = line
        self.clues.append(clue)

    def reject(self, line: int, reason: str, clue_id: str | None = None) -> None:
        self.rejected.append(RejectedRow(line, reason, clue_id))

    def result(self, source: str, *, strict: bool) -> ImportResult:
        result = ImportResult(source, tuple(self.clues), tuple(self.rejected))
        if strict and result.rejected:
            first = result.rejected[0]
            raise ClueImportError(
                f"{source}: rows rejected: {len(result.rejected)}; the first is on line "
                f"{first.line}: {first.reason}",
                path=source,
                rejected=result.rejected,
            )
        return result


# --- CSV -----------------------------------------------------------------


def parse_clues_csv(
    text: str,
    *,
    source: str = "<string>",
    timezone: dt.tzinfo = CHINA_STANDARD_TIME,
    strict: bool = False,
) -> ImportResult:
    """Parse clues from CSV *text* with a header row naming the fields.

    Times without an offset are taken in *timezone*. With *strict*, any
    rejected row raises :class:`~threeregs.ClueImportError` carrying all of them.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ClueImportError(
            f"{source}: the header row is not valid CSV: {exc}", path=source
        ) from None
    if header is None or not any(cell.strip() for cell in header):
        raise ClueImportError(
            f"{source}: no header row; the first line must name the fields, starting with "
            f"{', '.join(REQUIRED_FIELDS)}",
            path=source,
        )
    names = [cell.strip().lower() for cell in header]
    _check_header(names, source)

    collector = _Collector(timezone)
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            collector.reject(line, f"not valid CSV: {exc}")
            line = reader.line_num + 1
            continue
        start, line = line, reader.line_num + 1
        if not cells or not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            position = names.index("clue_id")
            clue_id = cells[position].strip() or None if position < len(cells) else None
            collector.reject(
                start, f"expected {len(names)} fields as in the header, found {len(cells)}", clue_id
            )
            continue
        collector.add(start, dict(zip(names, cells, strict=True)))
    return collector.result(source, strict=strict)


def _check_header(names: list[str], source: str) -> None:
    unknown = [name for name in names if name not in FIELDS]
    if unknown:
        raise ClueImportError(
            f"{source}: unknown column {unknown[0]!r} in the header; the columns are "
            f"{', '.join(FIELDS)}",
            path=source,
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ClueImportError(f"{source}: column {repeated[0]!r} appears twice", path=source)
    missing = [name for name in REQUIRED_FIELDS if name not in names]
    if missing:
        raise ClueImportError(
            f"{source}: the header lacks the required column {missing[0]!r}; required columns "
            f"are {', '.join(REQUIRED_FIELDS)}",
            path=source,
        )


# --- JSON ----------------------------------------------------------------


def _json_row(value: object) -> dict[str, str | None]:
    """Check that *value* is an object of known fields with text values."""
    if not isinstance(value, dict):
        raise ValidationError("row", value, "expected a JSON object")
    unknown = sorted(str(key) for key in value if key not in FIELDS)
    if unknown:
        raise ValidationError(
            unknown[0], None, f"unknown field; the fields are {', '.join(FIELDS)}"
        )
    row: dict[str, str | None] = {}
    for key, item in value.items():
        if item is None or isinstance(item, str):
            row[key] = item
        elif isinstance(item, int) and not isinstance(item, bool) and key.endswith("_id"):
            # Spreadsheets and databases often export numeric ids as numbers.
            row[key] = str(item)
        else:
            raise ValidationError(key, item, "expected a JSON string or null")
    return row


def _add_json(collector: _Collector, line: int, value: object) -> None:
    try:
        row = _json_row(value)
    except ValidationError as exc:
        clue_id = value.get("clue_id") if isinstance(value, dict) else None
        collector.reject(line, str(exc), clue_id if isinstance(clue_id, str) else None)
        return
    collector.add(line, row)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _array_items(text: str, source: str) -> Iterator[tuple[int, object]]:
    """Yield the line and value of each item of the JSON array that *text* holds."""
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if position >= len(text) or text[position] != "[":
        raise ClueImportError(
            f"{source}: expected a JSON array of clue objects (or JSON lines in a .jsonl file)",
            path=source,
        )
    line, counted = 1, 0
    position = _skip_space(text, position + 1)
    if position < len(text) and text[position] == "]":
        position += 1
    else:
        while True:
            try:
                value, end = decoder.raw_decode(text, position)
            except json.JSONDecodeError as exc:
                raise ClueImportError(
                    f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                    path=source,
                ) from None
            line += text.count("\n", counted, position)
            counted = position
            yield line, value
            position = _skip_space(text, end)
            if position < len(text) and text[position] == ",":
                position = _skip_space(text, position + 1)
                continue
            if position < len(text) and text[position] == "]":
                position += 1
                break
            line += text.count("\n", counted, position)
            counted = position
            raise ClueImportError(
                f"{source}: not valid JSON at line {line}: expected ',' or ']' after an item",
                path=source,
            )
    if _skip_space(text, position) != len(text):
        raise ClueImportError(f"{source}: unexpected text after the JSON array", path=source)


def parse_clues_json(
    text: str,
    *,
    source: str = "<string>",
    timezone: dt.tzinfo = CHINA_STANDARD_TIME,
    strict: bool = False,
) -> ImportResult:
    """Parse clues from a JSON array of objects with the same fields as the CSV columns."""
    collector = _Collector(timezone)
    try:
        for line, value in _array_items(text.removeprefix("\ufeff"), source):
            _add_json(collector, line, value)
    except (RecursionError, ValueError) as exc:
        # Nesting too deep for the decoder, or an integer too long to convert.
        raise ClueImportError(f"{source}: not valid JSON: {exc}", path=source) from None
    return collector.result(source, strict=strict)


def parse_clues_jsonl(
    text: str,
    *,
    source: str = "<string>",
    timezone: dt.tzinfo = CHINA_STANDARD_TIME,
    strict: bool = False,
) -> ImportResult:
    """Parse clues from JSON lines: one object per line, blank lines ignored.

    A line that is not valid JSON is a rejected row, not a failure of the file.
    """
    collector = _Collector(timezone)
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (RecursionError, ValueError) as exc:
            collector.reject(number, f"not valid JSON: {exc}")
            continue
        _add_json(collector, number, value)
    return collector.result(source, strict=strict)


# --- files ---------------------------------------------------------------

_PARSERS: Final = {
    "csv": parse_clues_csv,
    "json": parse_clues_json,
    "jsonl": parse_clues_jsonl,
}
_SUFFIXES: Final = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _decode(data: bytes, source: str) -> str:
    # Spreadsheet software in China saves CSV in GB18030 (or its subset GBK)
    # by default, so that is the fallback after UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ClueImportError(f"{source}: the file is neither UTF-8 nor GB18030 text", path=source)


def read_clues(
    path: str | Path,
    *,
    format: str | None = None,
    timezone: dt.tzinfo = CHINA_STANDARD_TIME,
    strict: bool = False,
) -> ImportResult:
    """Read a clue file: CSV, a JSON array or JSON lines.

    The format comes from *format* (``"csv"``, ``"json"`` or ``"jsonl"``) or
    else from the file suffix (``.csv``, ``.json``, ``.jsonl`` or ``.ndjson``).
    The file is UTF-8 (with or without a byte-order mark) or GB18030.

    Raises:
        ClueImportError: the file cannot be read at all, or with *strict* a
            row was rejected.
    """
    file = Path(path)
    source = str(file)
    kind = format or _SUFFIXES.get(file.suffix.lower())
    if kind not in _PARSERS:
        raise ClueImportError(
            f"{source}: unknown clue file format {kind or file.suffix!r}; use a .csv, .json or "
            ".jsonl file, or name the format",
            path=source,
        )
    try:
        size = file.stat().st_size
        if size > MAX_FILE_SIZE:
            raise ClueImportError(
                f"{source}: the file is {size} bytes, more than the limit of {MAX_FILE_SIZE}; "
                "split it",
                path=source,
            )
        data = file.read_bytes()
    except FileNotFoundError:
        raise ClueImportError(f"{source}: no such clue file", path=source) from None
    except OSError as exc:
        raise ClueImportError(
            f"{source}: cannot read the clue file: {exc.strerror or exc}", path=source
        ) from None
    parser = _PARSERS[kind]
    return parser(_decode(data, source), source=source, timezone=timezone, strict=strict)
