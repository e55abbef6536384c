"""The tamper-evident filing log: leaves, the sequencer and proofs.

``StageGate.file`` only inserts an envelope row, so that filers never queue
on one shared row. The **sequencer** (:func:`sequence`) later appends the
committed envelopes that are not in the log yet, in ``seq`` order, to
``threeregs_log``: entry *i* gets the leaf :class:`LogLeaf` and its RFC 9162
leaf hash, and the single row of ``threeregs_log_head`` keeps the size, the
root hash and the right edge of the Merkle tree. Sequencers lock that row,
so two of them never interleave.

Which envelopes a run scans: every ``seq`` above the head's ``floor_seq``.
Because a transaction may commit an envelope with a lower ``seq`` after one
with a higher ``seq`` was sequenced, the floor only moves up to a ``seq`` that
was seen at least one grace period (:data:`DEFAULT_GRACE`) ago. This assumes
that no transaction that calls ``file`` stays open longer than the grace
period. An envelope committed later than that is never sequenced, and
``verify`` reports it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import struct
import uuid
from typing import TYPE_CHECKING, Any, Final

import attrs
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite

from threeregs._errors import (
    CheckpointError,
    LogError,
    NotInLogError,
    UnknownFilingError,
    ValidationError,
)
from threeregs.store import _tables as t
from threeregs.store._checkpoint import Checkpoint
from threeregs.store._connection import connection_of
from threeregs.store._merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    ConsistencyProof,
    Frontier,
    InclusionProof,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    perfect_parts,
    split_point,
    verify_consistency_path,
    verify_inclusion_path,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sqlalchemy import Connection, Row
    from sqlalchemy.orm import Session

    from threeregs._model import Receipt
    from threeregs.store._checkpoint import CheckpointKey

    Conn = Connection | Session

logger = logging.getLogger(__name__)

#: How long a transaction that files may stay open, at most, before commit.
#: Sequencing and ``verify`` rely on it as the module docstring explains.
DEFAULT_GRACE: Final = dt.timedelta(minutes=15)
#: Envelopes read per round trip while sequencing.
BATCH: Final = 1000

LEAF_VERSION: Final = 1
#: Leaf format v1: version, log index, filing id, content digest, receipt time.
_LEAF: Final = struct.Struct(">BQ16s32sq")
LEAF_SIZE: Final = _LEAF.size
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)
_FILING_ID: Final = re.compile(r"[0-9a-f]{32}")
_DIGEST: Final = re.compile(r"[0-9a-f]{64}")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_microseconds(value: dt.datetime) -> int:
    """Return an aware datetime as whole microseconds since 1970-01-01 UTC."""
    if value.tzinfo is None:
        raise ValidationError("received_at", value, "expected an aware datetime")
    return (value - _EPOCH) // _MICROSECOND


def _check_hex(pattern: re.Pattern[str], what: str) -> Callable[[Any, Any, Any], None]:
    def check(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValidationError(attribute.name, value, f"expected {what}")

    return check


@attrs.frozen
class LogLeaf:
    """Leaf of log entry *log_index*: one filing, as its receipt names it.

    Format v1 is 65 bytes, integers big-endian: version ``0x01`` (1 byte), log
    index (8), filing id (16), content digest (32), receipt time in
    microseconds since 1970-01-01 UTC (8, signed). The log index is part of
    the leaf so that an entry moved to another position no longer matches
    its own leaf. The slot bytes are not: key rotation rewrites them.
    """

    log_index: int
    filing_id: str = attrs.field(validator=_check_hex(_FILING_ID, "32 lowercase hex digits"))
    digest: str = attrs.field(validator=_check_hex(_DIGEST, "64 lowercase hex digits"))
    received_at: dt.datetime

    def __attrs_post_init__(self) -> None:
        if isinstance(self.log_index, bool) or not 0 <= self.log_index < 2**63:
            raise ValidationError("log_index", self.log_index, "expected 0 to 2**63 - 1")
        if self.received_at.tzinfo is None:
            raise ValidationError("received_at", self.received_at, "expected an aware datetime")

    def to_bytes(self) -> bytes:
        """Encode the leaf in format v1."""
        return encode_leaf(
            self.log_index,
            bytes.fromhex(self.filing_id),
            bytes.fromhex(self.digest),
            to_microseconds(self.received_at),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> LogLeaf:
        """Decode format v1, raising :class:`LogError` for anything else."""
        if len(data) != LEAF_SIZE or data[0] != LEAF_VERSION:
            raise LogError(f"a log leaf is {LEAF_SIZE} bytes starting with version {LEAF_VERSION}")
        _, index, filing_id, digest, micros = _LEAF.unpack(data)
        try:
            received_at = _EPOCH + dt.timedelta(microseconds=micros)
        except OverflowError:
            raise LogError(f"log leaf {index} has a receipt time out of range") from None
        return cls(index, filing_id.hex(), digest.hex(), received_at)

    @property
    def hash(self) -> bytes:
        """The RFC 9162 leaf hash."""
        return leaf_hash(self.to_bytes())

    @classmethod
    def of_receipt(cls, receipt: Receipt, log_index: int) -> LogLeaf:
        """Build the leaf that entry *log_index* must hold for *receipt*."""
        return cls(log_index, receipt.filing_id.lower(), receipt.digest, receipt.received_at)


def encode_leaf(log_index: int, filing_id: bytes, digest: bytes, micros: int) -> bytes:
    """Encode leaf format v1 from its raw fields."""
    return _LEAF.pack(LEAF_VERSION, log_index, filing_id, digest, micros)


def unpack_leaf(data: bytes) -> tuple[int, int, bytes, bytes, int]:
    """Split leaf bytes into version, log index, filing id, digest and microseconds."""
    version, index, filing_id, digest, micros = _LEAF.unpack(data)
    return version, index, filing_id, digest, micros


# --- the head row --------------------------------------------------------


@attrs.frozen
class LogHead:
    """The log's head row: its id, size, root and sequencer bookkeeping."""

    log_id: str
    size: int
    root: bytes = attrs.field(repr=lambda b: b.hex()[:16] + "...")
    frontier: tuple[bytes, ...] = attrs.field(repr=False)
    floor_seq: int
    candidate_seq: int | None
    candidate_at: dt.datetime | None
    drained_at: dt.datetime | None


def _head_of(row: Row[Any]) -> LogHead:
    blob = bytes(row.frontier)
    size = int(row.size)
    if len(blob) != HASH_SIZE * size.bit_count() or size < 0:
        raise LogError(
            f"the log head row is damaged (a frontier of {len(blob)} bytes for size {size}); "
            "run `threeregs verify`"
        )
    frontier = tuple(blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE))
    return LogHead(
        log_id=row.log_id,
        size=size,
        root=bytes(row.root),
        frontier=frontier,
        floor_seq=int(row.floor_seq),
        candidate_seq=row.candidate_seq,
        candidate_at=row.candidate_at,
        drained_at=row.drained_at,
    )


def read_head(conn: Conn) -> LogHead | None:
    """Return the log's head row without locking it, or None before the first sequencing."""
    row = connection_of(conn).execute(select(t.log_head).where(t.log_head.c.id == 1)).first()
    return None if row is None else _head_of(row)


def _lock_head(db: Connection, now: dt.datetime) -> LogHead:
    """Lock the head row for this transaction, creating it on first use."""
    h = t.log_head
    if db.dialect.name == "sqlite":
        # Writing first takes SQLite's write lock before anything is read, even
        # on an engine that does not begin transactions with BEGIN IMMEDIATE.
        db.execute(update(h).where(h.c.id == 1).values(size=h.c.size))
    locked = select(h).where(h.c.id == 1).with_for_update()
    row = db.execute(locked).first()
    if row is None:
        db.execute(_insert_if_absent(db, now))
        row = db.execute(locked).one()
    return _head_of(row)


def _insert_if_absent(db: Connection, now: dt.datetime) -> Any:
    values = {
        "id": 1,
        "log_id": uuid.uuid4().hex,
        "size": 0,
        "root": EMPTY_ROOT,
        "frontier": b"",
        "floor_seq": 0,
        "updated_at": now,
    }
    name = db.dialect.name
    if name == "postgresql":
        return postgresql.insert(t.log_head).values(values).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(t.log_head).values(values).on_conflict_do_nothing()
    if name in ("mysql", "mariadb"):
        return mysql.insert(t.log_head).values(values).prefix_with("IGNORE")
    return insert(t.log_head).values(values)


# --- the sequencer -------------------------------------------------------


def sequence(
    conn: Conn,
    *,
    limit: int | None = None,
    grace: dt.timedelta = DEFAULT_GRACE,
    clock: Callable[[], dt.datetime] | None = None,
) -> int:
    """Append committed envelopes that are not in the log yet, in ``seq`` order.

    Runs in the caller's transaction and holds the log head's row lock until
    it ends, so call it in a short transaction of its own and commit. Appends
    at most *limit* entries (all when None) and returns how many it appended.
    An envelope row whose filing id or digest is malformed is skipped with a
    warning; ``verify`` reports it.
    """
    if limit is not None and (isinstance(limit, bool) or limit < 1):
        raise ValidationError("limit", limit, "expected a positive number of entries, or None")
    db = connection_of(conn)
    now = (clock or _utcnow)()
    head = _lock_head(db, now)
    e, log = t.envelopes, t.log_entries
    top = db.execute(select(func.max(e.c.seq))).scalar()

    nodes: list[dict[str, Any]] = []

    def keep(level: int, index: int, value: bytes) -> None:
        if level >= t.LOG_NODE_LEVEL:
            nodes.append({"level": level, "node_index": index, "hash": value})

    frontier = Frontier(head.frontier, size=head.size, on_subtree=keep)
    after = head.floor_seq
    appended = 0
    drained = False
    while True:
        want = BATCH if limit is None else min(BATCH, limit - appended)
        if want == 0:
            break
        rows = db.execute(
            select(e.c.seq, e.c.filing_id, e.c.digest, e.c.received_at)
            .where(e.c.seq > after, ~exists().where(log.c.filing_id == e.c.filing_id))
            .order_by(e.c.seq)
            .limit(want)
        ).all()
        if rows:
            after = rows[-1].seq
        entries = []
        for row in rows:
            leaf = _leaf_of_row(frontier.size, row)
            if leaf is None:
                continue
            value = leaf_hash(leaf)
            entries.append(
                {
                    "log_index": frontier.size,
                    "filing_id": row.filing_id,
                    "seq": row.seq,
                    "leaf": leaf,
                    "leaf_hash": value,
                    "appended_at": now,
                }
            )
            frontier.append(value)
        if entries:
            db.execute(insert(log), entries)
            appended += len(entries)
        if nodes:
            db.execute(insert(t.log_nodes), nodes)
            nodes.clear()
        if len(rows) < want:
            drained = True
            break

    values: dict[str, Any] = {
        "size": frontier.size,
        "root": frontier.root(),
        "frontier": b"".join(frontier.hashes),
        "updated_at": now,
    }
    if drained:
        values.update(_advance_floor(head, top, now, grace))
    db.execute(update(t.log_head).where(t.log_head.c.id == 1).values(values))
    if appended:
        logger.info("sequenced %d filing(s); the log has %d entries", appended, frontier.size)
    return appended


def _leaf_of_row(index: int, row: Row[Any, Any, Any, Any]) -> bytes | None:
    """Encode the leaf of an envelope row, or return None (with a warning) if it is malformed."""
    filing_id, digest = row.filing_id, row.digest
    if not (
        isinstance(filing_id, str)
        and _FILING_ID.fullmatch(filing_id)
        and isinstance(digest, str)
        and _DIGEST.fullmatch(digest)
        and row.received_at is not None
    ):
        logger.warning(
            "envelope row seq=%s has a malformed filing id or digest; it is not sequenced",
            row.seq,
        )
        return None
    return encode_leaf(
        index, bytes.fromhex(filing_id), bytes.fromhex(digest), to_microseconds(row.received_at)
    )


def _advance_floor(
    head: LogHead, top: int | None, now: dt.datetime, grace: dt.timedelta
) -> dict[str, Any]:
    """Return the head columns a run that drained every visible envelope updates.

    The candidate seen one grace period ago becomes the floor; this run's top
    ``seq`` becomes the next candidate.
    """
    values: dict[str, Any] = {"drained_at": now}
    candidate_seq, candidate_at = head.candidate_seq, head.candidate_at
    if candidate_seq is not None and candidate_at is not None and candidate_at + grace <= now:
        values["floor_seq"] = max(head.floor_seq, candidate_seq)
        candidate_seq = None
    if candidate_seq is None:
        values["candidate_seq"] = top if top is not None else head.floor_seq
        values["candidate_at"] = now
    return values


# --- proofs --------------------------------------------------------------


def _entry_of(db: Connection, filing_id: str) -> tuple[int, bytes]:
    log = t.log_entries
    row = db.execute(
        select(log.c.log_index, log.c.leaf).where(log.c.filing_id == filing_id)
    ).first()
    if row is not None:
        return int(row.log_index), bytes(row.leaf)
    stored = db.execute(
        select(t.envelopes.c.seq).where(t.envelopes.c.filing_id == filing_id)
    ).first()
    if stored is None:
        raise UnknownFilingError(f"filing {filing_id} is not stored; check the id on the receipt")
    raise NotInLogError(
        f"filing {filing_id} is stored but not yet in the log; run the sequencer "
        "(threeregs.store.sequence or `threeregs verify --sequence`)"
    )


def _proof_size(db: Connection, tree_size: int | None, needed: int) -> int:
    """Choose the tree size of a proof: *tree_size*, else the newest checkpoint, else the head."""
    head = read_head(db)
    current = 0 if head is None else head.size
    if tree_size is None:
        checkpoint = latest_checkpoint(db)
        if checkpoint is not None and needed <= checkpoint.tree_size <= current:
            return checkpoint.tree_size
        tree_size = current
    if not 0 <= tree_size <= current:
        raise LogError(f"the log has {current} entries, so it has no tree of size {tree_size}")
    return tree_size


def inclusion_proof(conn: Conn, filing_id: str, *, tree_size: int | None = None) -> InclusionProof:
    """Build the proof that *filing_id* is in the log at *tree_size* entries.

    *tree_size* defaults to the size of the newest stored checkpoint that
    contains the entry, else the current size. Check the proof with
    :func:`verify_inclusion` against a checkpoint of that size. Raises
    :class:`NotInLogError` when the filing is not sequenced yet or is newer
    than *tree_size*, and :class:`~threeregs.UnknownFilingError` when it is
    not stored at all.
    """
    db = connection_of(conn)
    index, _ = _entry_of(db, filing_id)
    size = _proof_size(db, tree_size, index + 1)
    if index >= size:
        raise NotInLogError(
            f"filing {filing_id} is log entry {index}, after the tree of size {size}; "
            "ask for a proof at a later checkpoint"
        )
    ranges = inclusion_ranges(index, size)
    subtree = _prefetch(db, ranges)
    return InclusionProof(index, size, [subtree(start, end) for start, end in ranges])


def consistency_proof(conn: Conn, first: int, second: int | None = None) -> ConsistencyProof:
    """Build the proof that the log at *first* entries is a prefix of the log at *second*.

    *second* defaults to the current size.
    """
    db = connection_of(conn)
    head = read_head(db)
    current = 0 if head is None else head.size
    second = current if second is None else second
    if not 0 <= first <= second <= current:
        raise LogError(
            f"no consistency proof from size {first} to {second}: the log has {current} entries"
        )
    ranges = consistency_ranges(first, second)
    subtree = _prefetch(db, ranges)
    return ConsistencyProof(first, second, [subtree(start, end) for start, end in ranges])


def _prefetch(db: Connection, ranges: Sequence[tuple[int, int]]) -> Callable[[int, int], bytes]:
    """Read what the subtree hashes of *ranges* need in a few queries, and return a lookup."""
    parts = [part for start, end in ranges for part in perfect_parts(start, end)]
    cached = {
        ((end - start).bit_length() - 1, start >> ((end - start).bit_length() - 1))
        for start, end in parts
        if end - start >= 1 << t.LOG_NODE_LEVEL
    }
    nodes: dict[tuple[int, int], bytes] = {}
    n = t.log_nodes
    for chunk in _chunks(sorted(cached), 200):
        rows = db.execute(
            select(n.c.level, n.c.node_index, n.c.hash).where(
                or_(*(and_(n.c.level == lv, n.c.node_index == ix) for lv, ix in chunk))
            )
        )
        nodes.update({(r.level, r.node_index): bytes(r.hash) for r in rows})

    spans = []
    for start, end in parts:
        level = (end - start).bit_length() - 1
        if level < t.LOG_NODE_LEVEL or (level, start >> level) not in nodes:
            # NOTE: a missing cached node falls back to reading its leaves,
            # up to the whole log; only damage to the table causes that.
            spans.append((start, end))
    leaves = _read_leaf_hashes(db, spans)

    def subtree(start: int, end: int) -> bytes:
        size = end - start
        if size == 1:
            try:
                return leaves[start]
            except KeyError:
                raise LogError(f"log entry {start} is missing; run `threeregs verify`") from None
        level = size.bit_length() - 1
        if size & (size - 1) == 0 and (level, start >> level) in nodes:
            return nodes[level, start >> level]
        middle = start + split_point(size)
        return node_hash(subtree(start, middle), subtree(middle, end))

    return subtree


def _read_leaf_hashes(db: Connection, spans: Iterable[tuple[int, int]]) -> dict[int, bytes]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    log = t.log_entries
    leaves: dict[int, bytes] = {}
    for start, end in merged:
        rows = db.execute(
            select(log.c.log_index, log.c.leaf_hash).where(
                log.c.log_index >= start, log.c.log_index < end
            )
        )
        leaves.update({int(r.log_index): bytes(r.leaf_hash) for r in rows})
    return leaves


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def verify_inclusion(
    receipt: Receipt,
    proof: InclusionProof,
    checkpoint: Checkpoint,
    *,
    verify_keys: Iterable[CheckpointKey] | None = None,
) -> bool:
    """Tell whether *proof* shows that the filing of *receipt* is in the log of *checkpoint*.

    Rebuilds the leaf from the receipt (filing id, digest, receipt time) and
    the proof's leaf index, and follows RFC 9162 section 2.1.3.2. With
    *verify_keys*, the checkpoint's signature must verify as well; without
    them, the caller must have checked the checkpoint. Returns False,
    without raising, for a receipt or proof that does not match.
    """
    if proof.tree_size != checkpoint.tree_size:
        return False
    if verify_keys is not None and checkpoint.signing_key(verify_keys) is None:
        return False
    try:
        leaf = LogLeaf.of_receipt(receipt, proof.leaf_index)
    except (ValidationError, TypeError, AttributeError):
        return False
    return verify_inclusion_path(
        proof.leaf_index, proof.tree_size, leaf.hash, proof.path, checkpoint.root
    )


# --- stored checkpoints --------------------------------------------------


def store_checkpoint(conn: Conn, checkpoint: Checkpoint) -> None:
    """Store a signed checkpoint in ``threeregs_checkpoints``."""
    connection_of(conn).execute(
        insert(t.checkpoints).values(
            tree_size=checkpoint.tree_size,
            office_code=checkpoint.office_code,
            signed_at=checkpoint.signed_at,
            checkpoint=checkpoint.to_text(),
        )
    )


def stored_checkpoints(conn: Conn) -> list[tuple[int, Checkpoint | CheckpointError]]:
    """Return every stored checkpoint by row id, or the error that parsing it raised."""
    c = t.checkpoints
    rows = connection_of(conn).execute(select(c.c.id, c.c.checkpoint).order_by(c.c.id))
    result: list[tuple[int, Checkpoint | CheckpointError]] = []
    for row in rows:
        try:
            result.append((int(row.id), Checkpoint.from_text(row.checkpoint)))
        except CheckpointError as exc:
            result.append((int(row.id), exc))
    return result


def latest_checkpoint(
    conn: Conn, *, verify_keys: Iterable[CheckpointKey] | None = None
) -> Checkpoint | None:
    """Return the stored checkpoint of the largest tree size, or None.

    With *verify_keys*, only checkpoints whose signature verifies count.
    Rows that do not parse are skipped with a warning.
    """
    keys = None if verify_keys is None else tuple(verify_keys)
    best: Checkpoint | None = None
    for row_id, checkpoint in stored_checkpoints(conn):
        if isinstance(checkpoint, CheckpointError):
            logger.warning("stored checkpoint %d does not parse: %s", row_id, checkpoint)
            continue
        if keys is not None and checkpoint.signing_key(keys) is None:
            continue
        if best is None or (checkpoint.tree_size, checkpoint.signed_at) >= (
            best.tree_size,
            best.signed_at,
        ):
            best = checkpoint
    return best


def verify_consistency(proof: ConsistencyProof, first: Checkpoint, second: Checkpoint) -> bool:
    """Tell whether *proof* shows that the log of checkpoint *first* is a prefix of *second*'s.

    Checks sizes, log ids and RFC 9162 section 2.1.4.2; the signatures are
    the caller's to check (:meth:`Checkpoint.verify`).
    """
    if (proof.first, proof.second) != (first.tree_size, second.tree_size):
        return False
    if first.log_id != second.log_id:
        return False
    return verify_consistency_path(
        first.tree_size, second.tree_size, first.root, second.root, proof.path
    )
