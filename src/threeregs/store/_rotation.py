"""Key rotation across the store: issue a new key version, rewrap, retire.

A new key version is used by new filings at once. The rewrap job then moves
every existing slot of the office to the new version, batch by batch, each
batch in its own transaction. The job stores the highest envelope ``seq`` it
has done, so a job that was interrupted resumes where it stopped, and running
it again after it finished changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, Final

import attrs
from sqlalchemy import bindparam, func, insert, literal, select, update

from threeregs._errors import InvalidEnvelopeError, KeyNotFoundError, UntrustedKeyError
from threeregs.crypto._envelope import parse_header, rewrap_slot
from threeregs.crypto._keys import OfficeKeyPair, Suite
from threeregs.store import _tables as t
from threeregs.store._offices import add_office_key, office_keys

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sqlalchemy import ColumnElement, Connection, Engine, Row, Update

    from threeregs.crypto._keys import AnchorSigner, PublicKey, TrustAnchor
    from threeregs.crypto._keystore import KeyStore, MemoryKeyStore

logger = logging.getLogger(__name__)

BATCH: Final = 200


def issue_key(
    conn: Connection,
    signer: AnchorSigner,
    keystore: MemoryKeyStore,
    office_code: str,
    *,
    level: int,
    valid_for: dt.timedelta = dt.timedelta(days=3 * 365),
    suite: Suite = Suite.X25519,
    at: dt.datetime | None = None,
) -> OfficeKeyPair:
    """Generate, certify and store the office's next key version.

    The private key goes into *keystore* (save it if it is a file store);
    the certified public record goes into the database.
    """
    when = at or dt.datetime.now(dt.UTC)
    existing = office_keys(conn, office_code)
    version = max((cert.record.key_version for cert, _ in existing), default=0) + 1
    pair = OfficeKeyPair.generate(office_code, key_version=version, suite=suite)
    certified = signer.certify_pair(
        pair, level=level, not_before=when - dt.timedelta(minutes=5), not_after=when + valid_for
    )
    add_office_key(conn, certified, anchor=signer.anchor, at=when)
    keystore.add(pair)
    logger.info("issued key version %d for office %s", version, office_code)
    return pair


@attrs.frozen
class RewrapProgress:
    """How far a rewrap job has come."""

    office_code: str
    to_version: int
    done_through: int
    rewrapped: int
    remaining: int


def _pending(office_code: str, to_version: int) -> ColumnElement[bool]:
    return t.slots_of(office_code, other_than=to_version)


def rewrap_office(
    engine: Engine,
    office_code: str,
    keystore: KeyStore,
    anchor: TrustAnchor,
    *,
    batch: int = BATCH,
    progress: Callable[[RewrapProgress], None] | None = None,
) -> RewrapProgress:
    """Move every slot of *office_code* to its newest active key version.

    Runs its own transactions on *engine*, one per batch. Raises
    :class:`KeyNotFoundError` when *keystore* lacks an old key a slot needs,
    after committing the batches done so far.
    """
    with engine.begin() as conn:
        keys = [cert for cert, retired in office_keys(conn, office_code) if not retired]
        if not keys:
            raise KeyNotFoundError(f"office {office_code!r} has no active key to rewrap to")
        target = keys[-1]
        record = anchor.verify(target, office_code=office_code, at=dt.datetime.now(dt.UTC))
        conn.execute(
            insert(t.rewrap_jobs).from_select(
                ["office_code", "to_version", "done_through", "started_at"],
                select(
                    literal(office_code),
                    literal(record.key_version),
                    literal(0),
                    literal(dt.datetime.now(dt.UTC), t.Time),
                ).where(
                    ~select(t.rewrap_jobs.c.office_code)
                    .where(
                        t.rewrap_jobs.c.office_code == office_code,
                        t.rewrap_jobs.c.to_version == record.key_version,
                    )
                    .exists()
                ),
            )
        )
    private = keystore.keys_for(office_code)
    public = record.public()
    rewrapped = 0
    pending = None
    if progress:
        # Counted once: filings sealed while the job runs use the new key, so
        # the slots left to move are the ones counted here less those moved.
        with engine.connect() as conn:
            pending = conn.execute(
                select(func.count()).where(_pending(office_code, record.key_version))
            ).scalar_one()
    while True:
        with engine.begin() as conn:
            job = t.rewrap_jobs
            done_through = conn.execute(
                select(job.c.done_through).where(
                    job.c.office_code == office_code, job.c.to_version == record.key_version
                )
            ).scalar_one()
            # The page is found through the slot indexes and then read by seq,
            # so each batch costs the same however many envelopes follow it.
            page = list(
                conn.execute(
                    t.addressed_seqs(
                        office_code, after=done_through, limit=batch, other_than=record.key_version
                    )
                ).scalars()
            )
            rows: Sequence[Row[Any]] = ()
            if page:
                rows = conn.execute(
                    select(t.envelopes)
                    .where(t.envelopes.c.seq.in_(page))
                    .order_by(t.envelopes.c.seq)
                ).all()
            if not rows:
                conn.execute(
                    update(job)
                    .where(job.c.office_code == office_code, job.c.to_version == record.key_version)
                    .values(finished_at=dt.datetime.now(dt.UTC))
                )
                remaining = 0
                final = RewrapProgress(
                    office_code, record.key_version, done_through, rewrapped, remaining
                )
                if progress:
                    progress(final)
                return final
            # New envelope bytes by slot index: one UPDATE per index for the batch.
            moved: dict[int, list[dict[str, Any]]] = {}
            for row in rows:
                change = _rewrap_row(
                    row,
                    office_code=office_code,
                    private=private,
                    to_version=record.key_version,
                    public=public,
                )
                if change is not None:
                    index, data = change
                    moved.setdefault(index, []).append({"seq_": row.seq, "envelope_": data})
            for index, changes in moved.items():
                conn.execute(_slot_update(index, record.key_version), changes)
                rewrapped += len(changes)
            conn.execute(
                update(job)
                .where(job.c.office_code == office_code, job.c.to_version == record.key_version)
                .values(done_through=rows[-1].seq)
            )
            step = None
            if pending is not None:
                left = max(int(pending) - rewrapped, 0)
                step = RewrapProgress(
                    office_code, record.key_version, rows[-1].seq, rewrapped, left
                )
        # Report a batch only once it is committed, so that an exception in
        # the callback cannot undo work that was reported as done.
        if progress and step is not None:
            progress(step)


def _slot_update(index: int, to_version: int) -> Update:
    """Build the UPDATE that stores rewrapped envelope bytes with slot *index* at *to_version*."""
    e = t.envelopes
    return (
        update(e)
        .where(e.c.seq == bindparam("seq_"))
        .values({"envelope": bindparam("envelope_"), f"slot{index}_version": to_version})
    )


def _rewrap_row(
    row: Row[Any],
    *,
    office_code: str,
    private: Mapping[int, OfficeKeyPair],
    to_version: int,
    public: PublicKey,
) -> tuple[int, bytes] | None:
    """Return the slot index and new bytes of the envelope in *row*, or None if it needs none."""
    mapping = row._mapping
    data = bytes(mapping["envelope"])
    header = parse_header(data)
    slot = header.slot_for(office_code)
    if slot is None or slot.key_version == to_version:
        return None
    old = private.get(slot.key_version)
    if old is None:
        raise KeyNotFoundError(
            f"the key store lacks key version {slot.key_version} of office {office_code!r}, "
            f"needed to rewrap filing {mapping['filing_id']}"
        )
    try:
        new_data = rewrap_slot(data, office_code, old, to_version, public)
    except InvalidEnvelopeError:
        raise UntrustedKeyError(
            f"filing {mapping['filing_id']} could not be opened with key version "
            f"{slot.key_version} of office {office_code!r}; it may be damaged (run verify)"
        ) from None
    return slot.index, new_data
