"""The page query of inboxes and rewrap jobs, against a plain reading of the rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threeregs.store._tables import SLOTS, addressed_seqs, envelopes

OFFICES = ("330106", "330100", "330000", "000000", "110105")
RECEIVED = dt.datetime(2024, 5, 17, tzinfo=dt.UTC)

# One envelope: its slots as (office, key version), offices distinct, 1 to 4 of them.
slot_lists = st.lists(
    st.tuples(st.sampled_from(OFFICES), st.integers(1, 3)),
    min_size=1,
    max_size=SLOTS,
    unique_by=lambda slot: slot[0],
)


def envelope_row(number: int, slots: list[tuple[str, int]]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "filing_id": f"{number:032x}",
        "digest": "0" * 64,
        "received_at": RECEIVED,
        "envelope": b"sealed",
    }
    for index in range(SLOTS):
        office, version = slots[index] if index < len(slots) else (None, None)
        row[f"slot{index}_office"] = office
        row[f"slot{index}_version"] = version
    return row


def expected_page(
    stored: list[tuple[int, list[tuple[str, int]]]],
    office: str,
    *,
    after: int,
    limit: int,
    other_than: int | None,
) -> list[int]:
    """Return the first *limit* seqs after *after* with a matching slot, as the rule reads."""
    matching = [
        seq
        for seq, slots in stored
        if seq > after and any(code == office and version != other_than for code, version in slots)
    ]
    return sorted(matching)[:limit]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    envelope_slots=st.lists(slot_lists, max_size=25),
    office=st.sampled_from(OFFICES),
    after_index=st.integers(0, 25),
    limit=st.integers(1, 8),
    other_than=st.none() | st.integers(1, 3),
)
def test_page_matches_the_rule(  # noqa: PLR0917 - one argument per drawn value
    engine: sa.Engine,
    envelope_slots: list[list[tuple[str, int]]],
    office: str,
    after_index: int,
    limit: int,
    other_than: int | None,
) -> None:
    with engine.connect() as conn, conn.begin() as transaction:
        stored = []
        for number, slots in enumerate(envelope_slots):
            inserted = conn.execute(sa.insert(envelopes), envelope_row(number, slots))
            stored.append((inserted.inserted_primary_key[0], slots))
        seqs = [seq for seq, _ in stored]
        after = seqs[after_index - 1] if 0 < after_index <= len(seqs) else 0

        page = conn.execute(
            addressed_seqs(office, after=after, limit=limit, other_than=other_than)
        ).scalars()

        assert list(page) == expected_page(
            stored, office, after=after, limit=limit, other_than=other_than
        )
        transaction.rollback()


@pytest.mark.parametrize("limit", [1, 3, 100])
def test_pages_cover_every_envelope_once(engine: sa.Engine, limit: int) -> None:
    chains = [[("330106", 1), ("330100", 1)], [("330100", 2)], [("110105", 1), ("330106", 2)]]
    with engine.begin() as conn:
        conn.execute(sa.insert(envelopes), [envelope_row(n, chains[n % 3]) for n in range(20)])

    seen: list[int] = []
    with engine.connect() as conn:
        after = 0
        while page := list(
            conn.execute(addressed_seqs("330106", after=after, limit=limit)).scalars()
        ):
            assert len(page) <= limit
            seen.extend(page)
            after = page[-1]
        everything = conn.execute(sa.select(envelopes.c.seq).order_by(envelopes.c.seq)).scalars()
        expected = [seq for n, seq in enumerate(everything) if n % 3 != 1]

    assert seen == expected
