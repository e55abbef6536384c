"""What a database administrator sees: no column or length depends on the content or route.

The tests store every kind of filing through the gate, then look at the
envelope table as someone with full read access and no office key would.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import random
from typing import TYPE_CHECKING

import sqlalchemy as sa

from threeregs import (
    Bucket,
    Conduct,
    Filer,
    Filing,
    Intervener,
    IntervenerRole,
    Level,
    Manner,
    MonthlyObligation,
    Provision,
    Record,
    StageGate,
    StageObligation,
)
from threeregs.store import _tables as t

if TYPE_CHECKING:
    from collections.abc import Sequence

OFFICE = "330106"
#: Columns that differ between any two rows by design: ids, order and time.
UNIQUE_COLUMNS = {"seq", "filing_id", "digest", "received_at", "envelope"}


def _record(text_length: int, *, seed: int) -> Record:
    rng = random.Random(seed)
    content = "".join(
        rng.choice("请托说情要求从轻处理案件进度询问安排见面律师当事人") for _ in range(text_length)
    )
    return Record(
        Provision.P1,
        Conduct.PLEADING,
        Bucket.IMPROPER_INTERFERENCE,
        Intervener("欧阳明", "某区人民政府", "副区长", IntervenerRole.LEADING_CADRE),
        dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        Manner.PHONE,
        content,
        place="办公室",
        response="当即拒绝，并告知将如实记录。",
    )


def _store_every_kind(engine: sa.Engine, gate: StageGate, copies: int) -> dict[str, list[str]]:
    """File *copies* filings of each kind; return their filing ids by kind."""
    kinds: dict[str, list[str]] = collections.defaultdict(list)
    typical = _record(340, seed=1)  # about 1 KiB of Chinese text
    long_one = _record(1000, seed=2)
    three = (_record(600, seed=3), _record(600, seed=4), _record(600, seed=5))
    with engine.begin() as conn:
        for n in range(copies):
            case_id = f"DBA-{n}"
            gate.open_case(conn, case_id, business_line="criminal", office_code=OFFICE)
            people = [f"dba-{n}-{k}" for k in range(4)]
            for person in people:
                gate.assign(conn, case_id, person, role="handler")
            duty = StageObligation(case_id, "accept")
            filers = [Filer(person, OFFICE, "prosecutor") for person in people]
            filings = {
                "stage zero": Filing.zero(filers[0], duty),
                "stage one record": Filing(filers[1], duty, records=(typical,)),
                "stage three records": Filing(filers[2], duty, records=three),
                "stage direct provincial": Filing(
                    filers[3], duty, records=(long_one,), direct_to=Level.PROVINCIAL
                ),
                "anytime": Filing(filers[0], None, records=(typical,)),
                "anytime direct supreme": Filing(
                    filers[1], None, records=(typical,), direct_to=Level.SUPREME
                ),
                "anytime direct municipal": Filing(
                    filers[2], None, records=(long_one,), direct_to=Level.MUNICIPAL
                ),
                "monthly zero": Filing.zero(filers[3], MonthlyObligation(f"2026-{n % 12 + 1:02d}")),
            }
            for kind, filing in filings.items():
                gate.file(conn, filing)
                kinds[kind].append(filing.filing_id)
    return kinds


def _rows(conn: sa.Connection) -> dict[str, dict[str, object]]:
    return {row.filing_id: dict(row._mapping) for row in conn.execute(sa.select(t.envelopes))}


def test_every_kind_looks_the_same(engine: sa.Engine, gate: StageGate) -> None:
    kinds = _store_every_kind(engine, gate, copies=2)
    with engine.connect() as conn:
        rows = _rows(conn)
        columns = set(t.envelopes.c.keys())

    views = {}
    for kind, ids in kinds.items():
        for filing_id in ids:
            row = rows[filing_id]
            visible = {name: row[name] for name in columns - UNIQUE_COLUMNS}
            visible["length"] = len(bytes(row["envelope"]))  # type: ignore[arg-type]
            visible["digest length"] = len(str(row["digest"]))
            views[kind] = visible

    reference = views["stage zero"]
    for kind, view in views.items():
        assert view == reference, kind


def test_header_bytes_do_not_depend_on_kind(engine: sa.Engine, gate: StageGate) -> None:
    kinds = _store_every_kind(engine, gate, copies=1)
    with engine.connect() as conn:
        rows = _rows(conn)
    envelopes = [bytes(rows[ids[0]]["envelope"]) for ids in kinds.values()]  # type: ignore[arg-type]

    # Magic, version, suite, slot count and padded length: the same for all.
    fixed = {data[:5] + data[21:26] for data in envelopes}
    offices = {data[58 : 58 + 16 * 4] for data in envelopes}
    versions = {tuple(data[122 + i * 84 : 126 + i * 84] for i in range(4)) for data in envelopes}

    assert len(fixed) == 1
    assert len(offices) == 1
    assert len(versions) == 1


def _features(row: dict[str, object]) -> list[object]:
    """Everything a database reader could feed a classifier, minus ids and time."""
    data = bytes(row["envelope"])  # type: ignore[arg-type]
    visible = [row[name] for name in sorted(set(t.envelopes.c.keys()) - UNIQUE_COLUMNS)]
    return [
        len(data),
        *visible,
        *data[:64],  # the header core, including the commitment
        *data[122:134],  # start of the first slot
        *data[-32:],  # end of the payload ciphertext and its tag
    ]


def _stump_accuracy(
    train: Sequence[tuple[list[object], bool]], test: Sequence[tuple[list[object], bool]]
) -> float:
    """Pick the single feature that best predicts the training labels; return its test accuracy.

    For each feature, each value predicts the majority label it had in
    training, and unseen values predict the overall majority. Among features
    equally good in training, the one with the fewest distinct values wins,
    because it generalises best. A leak in any one feature (a length, a
    column, a header byte) is found this way.
    """
    majority = collections.Counter(label for _, label in train).most_common(1)[0][0]
    width = len(train[0][0])
    best: tuple[float, int, int, dict[object, bool]] | None = None
    for index in range(width):
        votes: dict[object, collections.Counter[bool]] = collections.defaultdict(
            collections.Counter
        )
        for features, label in train:
            votes[features[index]][label] += 1
        rule = {value: count.most_common(1)[0][0] for value, count in votes.items()}
        right = sum(rule[features[index]] == label for features, label in train)
        candidate = (right / len(train), -len(rule), index, rule)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    assert best is not None
    _, _, index, rule = best
    correct = sum(rule.get(features[index], majority) == label for features, label in test)
    return correct / len(test)


def _classify(rows: dict[str, dict[str, object]], labels: dict[str, bool]) -> float:
    examples = [(_features(rows[filing_id]), label) for filing_id, label in labels.items()]
    random.Random(7).shuffle(examples)
    half = len(examples) // 2
    return _stump_accuracy(examples[:half], examples[half:])


def _chance_bound(test_size: int) -> float:
    # Four standard deviations above chance for a fair coin: a classifier
    # that knows nothing passes this with probability above 0.9999.
    return 0.5 + 4 * math.sqrt(0.25 / test_size)


def test_classifier_cannot_tell_zero_from_real(engine: sa.Engine, gate: StageGate) -> None:
    kinds = _store_every_kind(engine, gate, copies=40)
    with engine.connect() as conn:
        rows = _rows(conn)
    labels = dict.fromkeys(kinds["stage zero"] + kinds["monthly zero"], True)
    labels |= dict.fromkeys(kinds["stage one record"] + kinds["stage three records"], False)

    accuracy = _classify(rows, labels)

    assert accuracy <= _chance_bound(len(labels) // 2)


def test_classifier_cannot_tell_the_route(engine: sa.Engine, gate: StageGate) -> None:
    kinds = _store_every_kind(engine, gate, copies=40)
    with engine.connect() as conn:
        rows = _rows(conn)
    direct = kinds["stage direct provincial"] + kinds["anytime direct supreme"]
    direct += kinds["anytime direct municipal"]
    own = kinds["stage one record"] + kinds["anytime"] + kinds["stage three records"]
    labels = dict.fromkeys(direct, True) | dict.fromkeys(own, False)

    accuracy = _classify(rows, labels)

    assert accuracy <= _chance_bound(len(labels) // 2)


def test_classifier_finds_a_planted_leak(engine: sa.Engine, gate: StageGate) -> None:
    # The same classifier must notice a real leak, or the two tests above
    # would prove nothing. Plant the leak that padding prevents: envelopes of
    # real reports 16 bytes longer than those of zero reports.
    kinds = _store_every_kind(engine, gate, copies=40)
    with engine.connect() as conn:
        rows = _rows(conn)
    zero = kinds["stage zero"] + kinds["monthly zero"]
    real = kinds["stage one record"] + kinds["stage three records"]
    for filing_id in real:
        rows[filing_id]["envelope"] = bytes(rows[filing_id]["envelope"]) + bytes(16)  # type: ignore[arg-type]
    labels = dict.fromkeys(zero, True) | dict.fromkeys(real, False)

    accuracy = _classify(rows, labels)

    assert accuracy > 0.9
