"""Office directory: the procuratorates, their levels and who is above whom.

A :class:`Directory` is a tree of :class:`Office` values rooted at the single
supreme office. Every other office names a parent at a higher level (a smaller
:class:`Level` number), so the chain from any office up to the root has at most
four offices. :meth:`Directory.national` loads the directory shipped with the
library, which is built from the GB/T 2260 administrative division codes. A
host with its own office codes loads a CSV file of the same shape with
:meth:`Directory.from_csv`.
"""

from __future__ import annotations

import csv
import enum
import functools
import os
import re
from importlib import resources
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Final, NoReturn, final

import attrs

from threeregs._errors import UnknownOfficeError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

__all__ = ["Directory", "Level", "Office"]

MAX_NAME_LENGTH: Final = 64
_CODE_PATTERN: Final = re.compile(r"[0-9A-Za-z_-]{1,16}")
_CSV_COLUMNS: Final = ("code", "name", "level", "parent_code")


class Level(enum.IntEnum):
    """Level of an office; a smaller number is a higher level."""

    SUPREME = 1
    PROVINCIAL = 2
    MUNICIPAL = 3
    BASIC = 4

    @classmethod
    def parse(cls, text: str) -> Level:
        """Parse a lowercase level name such as ``"basic"``."""
        for level in cls:
            if text == level.name.lower():
                return level
        expected = ", ".join(level.name.lower() for level in cls)
        raise ValidationError(field="level", value=text, reason=f"expected one of {expected}")


def _check_code(field: str, value: object) -> None:
    if not isinstance(value, str) or _CODE_PATTERN.fullmatch(value) is None:
        raise ValidationError(
            field=field,
            value=value,
            reason="expected 1 to 16 characters from 0-9, A-Z, a-z, '_' and '-'",
        )


def _validate_code(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    _check_code(attribute.name, value)


def _validate_name(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field="name", value=value, reason="expected a non-empty string")
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(
            field="name", value=value, reason=f"longer than {MAX_NAME_LENGTH} characters"
        )
    if value != value.strip() or not value.isprintable():
        raise ValidationError(
            field="name",
            value=value,
            reason="remove leading or trailing spaces and control characters",
        )


def _validate_level(_instance: object, _attribute: attrs.Attribute[Level], value: Level) -> None:
    if not isinstance(value, Level):
        raise ValidationError(
            field="level", value=value, reason="expected a Level; use Level.parse for text"
        )


def _validate_parent_code(
    _instance: object, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None:
        _check_code(attribute.name, value)


@attrs.frozen(kw_only=True)
class Office:
    """One procuratorate: its code, name, level and the code of the office above it.

    The supreme office has no parent code, and every other office has one.
    Codes are GB/T 2260 division codes in the national directory, but a host
    may use its own codes of up to 16 characters.
    """

    code: str = attrs.field(validator=_validate_code)
    name: str = attrs.field(validator=_validate_name)
    level: Level = attrs.field(validator=_validate_level)
    parent_code: str | None = attrs.field(default=None, validator=_validate_parent_code)

    def __attrs_post_init__(self) -> None:
        if self.level is Level.SUPREME and self.parent_code is not None:
            raise ValidationError(
                field="parent_code",
                value=self.parent_code,
                reason="the supreme office has no parent; leave the parent code empty",
            )
        if self.level is not Level.SUPREME and self.parent_code is None:
            raise ValidationError(
                field="parent_code",
                value=None,
                reason=f"a {self.level.name.lower()} office needs the code of its parent office",
            )
        if self.parent_code == self.code:
            raise ValidationError(
                field="parent_code",
                value=self.parent_code,
                reason="an office cannot be its own parent",
            )


@final
class Directory:
    """Immutable tree of offices, indexed by code.

    The constructor checks that codes are unique, that there is exactly one
    supreme office, that every parent code names an office of the directory at
    a higher level, and that no chain of parents loops. It raises
    :class:`~threeregs.ValidationError` naming the offending office.
    """

    __slots__ = ("_children", "_offices", "_supreme")

    _offices: Mapping[str, Office]
    _children: Mapping[str, tuple[Office, ...]]
    _supreme: Office

    def __init__(self, offices: Iterable[Office]) -> None:
        listed = list(offices)
        self._setup(listed, "offices", lambda index, field: f"offices[{index}].{field}")

    def _setup(
        self, offices: Sequence[Office], source: str, locate: Callable[[int, str], str]
    ) -> None:
        supreme = _validate(offices, source, locate)
        ordered = sorted(offices, key=lambda office: office.code)
        children: dict[str, list[Office]] = {office.code: [] for office in ordered}
        for office in ordered:
            if office.parent_code is not None:
                children[office.parent_code].append(office)

        # Bypass __setattr__, which rejects every change once the directory exists.
        object.__setattr__(self, "_offices", MappingProxyType({o.code: o for o in ordered}))
        object.__setattr__(
            self,
            "_children",
            MappingProxyType({code: tuple(kids) for code, kids in children.items()}),
        )
        object.__setattr__(self, "_supreme", supreme)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Directory is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Directory is immutable; cannot delete {name!r}")

    def __repr__(self) -> str:
        return f"<Directory of {len(self._offices)} offices>"

    def __len__(self) -> int:
        return len(self._offices)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._offices

    def __iter__(self) -> Iterator[Office]:
        """Iterate over the offices in code order."""
        return iter(self._offices.values())

    @property
    def supreme(self) -> Office:
        """The supreme office at the root of the tree."""
        return self._supreme

    def get(self, code: str) -> Office:
        """Return the office with this code, or raise UnknownOfficeError."""
        try:
            return self._offices[code]
        except KeyError:
            raise UnknownOfficeError(
                f"no office with code {code!r} is in the directory; "
                f"check the code against the office directory in use"
            ) from None

    def chain(self, code: str) -> tuple[Office, ...]:
        """Return the office with this code followed by each office above it, up to the root."""
        office = self.get(code)
        chain = [office]
        while office.parent_code is not None:
            office = self._offices[office.parent_code]
            chain.append(office)
        return tuple(chain)

    def children(self, code: str) -> tuple[Office, ...]:
        """Return the offices whose parent is the office with this code, in code order."""
        self.get(code)
        return self._children[code]

    def by_level(self, level: Level) -> tuple[Office, ...]:
        """Return the offices at this level, in code order."""
        return tuple(office for office in self._offices.values() if office.level is level)

    @classmethod
    def from_csv(
        cls, file: str | os.PathLike[str] | IO[str], *, source: str | None = None
    ) -> Directory:
        """Load a directory from CSV with the columns code, name, level and parent_code.

        ``file`` is a path or an open text stream. ``source`` names the file in
        error messages, and defaults to the file name of a path. Errors name the
        line and column, as in ``offices.csv:17:level``. Extra columns are ignored
        and blank lines are skipped.
        """
        if isinstance(file, str | os.PathLike):
            path = os.fspath(file)
            label = source if source is not None else os.path.basename(path)
            with open(path, encoding="utf-8-sig", newline="") as stream:
                return cls._read_csv(stream, label)
        return cls._read_csv(file, source if source is not None else "<stream>")

    @classmethod
    def _read_csv(cls, stream: IO[str], source: str) -> Directory:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise ValidationError(
                field=f"{source}:1",
                value="",
                reason=f"missing header; expected the columns {','.join(_CSV_COLUMNS)}",
            )
        # A file saved with a byte order mark by a spreadsheet program keeps it
        # when the caller opened it as plain UTF-8.
        header = [column.removeprefix("\ufeff") for column in header]
        missing = [column for column in _CSV_COLUMNS if column not in header]
        if missing:
            raise ValidationError(
                field=f"{source}:1",
                value=",".join(header),
                reason=f"missing column {', '.join(missing)}; "
                f"expected the columns {','.join(_CSV_COLUMNS)}",
            )
        positions = [header.index(column) for column in _CSV_COLUMNS]

        offices: list[Office] = []
        lines: list[int] = []
        end_of_previous = reader.line_num
        for row in reader:
            # line_num counts physical lines, so a quoted field with a line
            # break still reports the line on which its row starts.
            line = end_of_previous + 1
            end_of_previous = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                raise ValidationError(
                    field=f"{source}:{line}",
                    value=",".join(row),
                    reason=f"expected {len(header)} fields as in the header, found {len(row)}",
                )
            offices.append(_parse_row([row[i] for i in positions], f"{source}:{line}"))
            lines.append(line)

        directory = cls.__new__(cls)
        directory._setup(offices, source, lambda index, field: f"{source}:{lines[index]}:{field}")
        return directory

    @classmethod
    def national(cls) -> Directory:
        """Return the shipped directory of Chinese procuratorates, loaded once."""
        return _national()


def _parse_row(values: list[str], where: str) -> Office:
    code, name, level_text, parent_code = values
    try:
        level = Level.parse(level_text)
        return Office(
            code=code, name=name, level=level, parent_code=parent_code if parent_code else None
        )
    except ValidationError as error:
        raise ValidationError(
            field=f"{where}:{error.field}", value=error.value, reason=error.reason
        ) from error


def _validate(offices: Sequence[Office], source: str, locate: Callable[[int, str], str]) -> Office:
    """Check that the offices form one tree and return its supreme office.

    ``source`` names the whole collection and ``locate(index, field)`` a field
    of the office at ``index`` in errors.
    """
    first_index: dict[str, int] = {}
    supreme_index: int | None = None
    for index, office in enumerate(offices):
        if office.code in first_index:
            where = locate(first_index[office.code], "code")
            raise ValidationError(
                field=locate(index, "code"),
                value=office.code,
                reason=f"duplicate code, already used at {where}; give each office its own code",
            )
        first_index[office.code] = index
        if office.level is Level.SUPREME:
            if supreme_index is not None:
                where = locate(supreme_index, "level")
                raise ValidationError(
                    field=locate(index, "level"),
                    value="supreme",
                    reason=f"a second supreme office; the first is at {where}",
                )
            supreme_index = index
    if supreme_index is None:
        raise ValidationError(
            field=source,
            value=len(offices),
            reason="no supreme office; the directory needs exactly one office at level supreme",
        )

    for index, office in enumerate(offices):
        if office.parent_code is not None and office.parent_code not in first_index:
            raise ValidationError(
                field=locate(index, "parent_code"),
                value=office.parent_code,
                reason="no office with this code is in the directory; add it or fix the code",
            )

    _check_cycles(offices, first_index, locate)

    for index, office in enumerate(offices):
        if office.parent_code is None:
            continue
        parent = offices[first_index[office.parent_code]]
        if parent.level >= office.level:
            raise ValidationError(
                field=locate(index, "parent_code"),
                value=office.parent_code,
                reason=f"the parent is a {parent.level.name.lower()} office, which is not above "
                f"this {office.level.name.lower()} office",
            )

    return offices[supreme_index]


def _check_cycles(
    offices: Sequence[Office], index_of: dict[str, int], locate: Callable[[int, str], str]
) -> None:
    # Walk up from each office. A walk that reaches an office already known to
    # lead to the root stops there, so the whole check is linear.
    reaches_root: set[str] = set()
    for office in offices:
        path: list[str] = []
        on_path: set[str] = set()
        current: Office | None = office
        while current is not None and current.code not in reaches_root:
            if current.code in on_path:
                loop = [*path[path.index(current.code) :], current.code]
                start = min(index_of[code] for code in loop)
                raise ValidationError(
                    field=locate(start, "parent_code"),
                    value=offices[start].parent_code,
                    reason=f"the parent codes form a cycle {' -> '.join(loop)}; "
                    f"every chain must end at the supreme office",
                )
            path.append(current.code)
            on_path.add(current.code)
            parent_code = current.parent_code
            current = offices[index_of[parent_code]] if parent_code is not None else None
        reaches_root.update(path)


@functools.cache
def _national() -> Directory:
    data = resources.files("threeregs.routing") / "data" / "offices.csv"
    with data.open("r", encoding="utf-8") as stream:
        return Directory.from_csv(stream, source="offices.csv")
