"""Reading the other inputs of a matching run from files: opened filings and stage windows.

Opened filings come as JSON lines, one canonical filing per line as
:func:`threeregs._canonical.filing_to_dict` writes it (``threeregs inbox
export`` adds a ``received_at`` key, which is ignored). Stage windows come as
CSV with the columns ``case_id, stage, round, start, end``. A bad line in
either file raises :class:`~threeregs.MatchingInputError` naming the file and
the line, because a damaged export should be produced again rather than
matched in part.
"""

from __future__ import annotations

import csv
import json
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Final

from threeregs._canonical import filing_from_dict
from threeregs._checks import MAX_ID
from threeregs._errors import MatchingInputError, ValidationError
from threeregs.matching import _fields
from threeregs.matching._clue_import import CHINA_STANDARD_TIME, parse_time
from threeregs.matching._facts import FilingFacts, StageWindow, facts_from_filing

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Generator, Iterable, Iterator

    from threeregs.policy import Policy

#: Keys that exports add to a canonical filing and that matching ignores.
_EXPORT_KEYS: Final = ("received_at",)
WINDOW_FIELDS: Final = ("case_id", "stage", "round", "start", "end")


def _open_text(path: Path, what: str) -> Generator[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            yield from stream
    except FileNotFoundError:
        raise MatchingInputError(f"{path}: no such {what} file") from None
    except UnicodeDecodeError:
        raise MatchingInputError(f"{path}: the {what} file is not UTF-8 text") from None
    except OSError as exc:
        raise MatchingInputError(f"{path}: cannot read the {what} file: {exc.strerror}") from None


def iter_filing_facts(path: str | Path, *, policy: Policy) -> Iterator[FilingFacts]:
    """Read opened filings from a JSON-lines file and project each to :class:`FilingFacts`.

    The file is read as a stream, so only the projections stay in memory.
    """
    file = Path(path)
    # closing() shuts the file as soon as a bad line raises, instead of
    # leaving it to the garbage collector.
    with closing(_open_text(file, "filings")) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                tree = json.loads(line)
            except (RecursionError, ValueError) as exc:
                raise MatchingInputError(f"{file}, line {number}: not valid JSON: {exc}") from None
            if isinstance(tree, dict):
                for key in _EXPORT_KEYS:
                    tree.pop(key, None)
            try:
                filing = filing_from_dict(tree)
            except ValidationError as exc:
                raise MatchingInputError(
                    f"{file}, line {number}: not a canonical filing: {exc}"
                ) from None
            yield facts_from_filing(filing, policy=policy)


def read_filing_facts(path: str | Path, *, policy: Policy) -> list[FilingFacts]:
    """Read every opened filing of a JSON-lines file (see :func:`iter_filing_facts`)."""
    return list(iter_filing_facts(path, policy=policy))


def _window_row(row: dict[str, str], timezone: dt.tzinfo) -> StageWindow:
    case_id = row["case_id"].strip()
    _fields.check_id("case_id", case_id)
    stage = row["stage"].strip()
    if not stage or len(stage) > MAX_ID:
        raise ValidationError("stage", stage, "expected a stage code")
    try:
        round_ = int(row["round"])
    except ValueError:
        raise ValidationError("round", row["round"], "expected a whole number") from None
    start = parse_time("start", row["start"], timezone, end=False)
    end_text = row["end"].strip()
    end = parse_time("end", end_text, timezone, end=False) if end_text else None
    if end is not None and end < start:
        raise ValidationError("end", end_text, "lies before start")
    return StageWindow(case_id, stage, round_, start, end)


def _read_windows(file: Path, text: Iterable[str], timezone: dt.tzinfo) -> list[StageWindow]:
    reader = csv.DictReader(text)
    try:
        header = [name.strip().lower() for name in reader.fieldnames or ()]
    except csv.Error as exc:
        raise MatchingInputError(f"{file}: the header row is not valid CSV: {exc}") from None
    missing = [name for name in WINDOW_FIELDS if name not in header]
    if missing:
        raise MatchingInputError(
            f"{file}: the header lacks the column {missing[0]!r}; the columns are "
            f"{', '.join(WINDOW_FIELDS)}"
        )
    reader.fieldnames = header

    windows: list[StageWindow] = []
    line = reader.line_num + 1
    try:
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise MatchingInputError(
                    f"{file}, line {line}: expected {len(header)} fields as in the header"
                )
            try:
                windows.append(_window_row(row, timezone))
            except ValidationError as exc:
                raise MatchingInputError(f"{file}, line {line}: {exc}") from None
            line = reader.line_num + 1
    except csv.Error as exc:
        raise MatchingInputError(f"{file}, line {line}: not valid CSV: {exc}") from None
    return windows


def read_windows_csv(
    path: str | Path, *, timezone: dt.tzinfo = CHINA_STANDARD_TIME
) -> list[StageWindow]:
    """Read stage windows from CSV with the columns ``case_id, stage, round, start, end``.

    ``end`` is empty while the case is still in the stage; times without an
    offset are taken in *timezone*.
    """
    file = Path(path)
    with closing(_open_text(file, "stage windows")) as text:
        return _read_windows(file, text, timezone)
