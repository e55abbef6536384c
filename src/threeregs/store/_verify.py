"""Verifying the filing log against signed checkpoints, and signing new ones.

:func:`verify` streams the log once, in ``log_index`` order, and checks:

* every entry's row: its leaf hash and its position. The envelope row it
  names must exist, and its stored digest, content digest and receipt time
  must equal the leaf's;
* the Merkle root at the size of every checkpoint it trusts (the inspector's
  own checkpoint file, and the stored ones whose signature verifies), which
  also shows that those checkpoints are consistent with each other;
* that the log is at least as long as every trusted checkpoint;
* the head row and the cached subtree hashes;
* envelopes that are not in the log: those received more than the grace
  period before the last sequencer run that took every envelope it could
  see are reported, the newer ones are counted as pending.

Every finding is a :class:`Problem` that names the entries concerned.

The parts of the run live in private modules beside this one:

* ``_verify_report``: problem kinds, their messages and the report;
* ``_verify_checkpoints``: choosing the checkpoints and comparing their roots;
* ``_verify_stream``, with ``_verify_bulk`` and ``_verify_tree``: the pass
  over the log entries and their envelope rows;
* ``_verify_envelopes``: envelope rows that are not in the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from threeregs._errors import LogError, LogVerificationError
from threeregs.store import _tables as t
from threeregs.store._checkpoint import format_time
from threeregs.store._connection import connection_of
from threeregs.store._log import (
    DEFAULT_GRACE,
    LogHead,
    _head_of,
    store_checkpoint,
)
from threeregs.store._merkle import EMPTY_ROOT
from threeregs.store._verify_checkpoints import _Checkpoints, _targets
from threeregs.store._verify_envelopes import _check_unsequenced
from threeregs.store._verify_report import (
    Problem,
    ProblemKind,
    VerifyReport,
    _Findings,
    _reading_order,
)
from threeregs.store._verify_stream import STREAM_BATCH, _Stream

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from threeregs.store._checkpoint import Checkpoint, CheckpointKey, CheckpointSigner

    Conn = Connection | Session

__all__ = ["Problem", "ProblemKind", "VerifyReport", "create_checkpoint", "verify"]

logger = logging.getLogger(__name__)


def verify(
    conn: Conn,
    *,
    trusted: Checkpoint | None = None,
    verify_keys: Iterable[CheckpointKey] = (),
    deep: bool = True,
    grace: dt.timedelta = DEFAULT_GRACE,
    lock: bool = True,
) -> VerifyReport:
    """Check the log, the envelopes it names and the checkpoints, streaming every table.

    *trusted* is the inspector's latest trusted checkpoint, kept outside the
    database; its signature must verify with one of *verify_keys* (else
    :class:`CheckpointError`). Stored checkpoints count when their signature
    verifies with *verify_keys*. With *deep*, every envelope's content digest
    is recomputed from its bytes; without, only the stored digest column is
    compared, which is much faster. With *lock* (the default), the log head
    is locked so that no sequencer commits while the log is read. On a
    read-only connection, pass ``lock=False`` and run in a REPEATABLE READ
    transaction, so that every query reads the same state.
    """
    db = connection_of(conn)
    keys = tuple(verify_keys)
    if trusted is not None:
        trusted.verify(keys)
    findings = _Findings()

    head_row = db.execute(
        select(t.log_head).where(t.log_head.c.id == 1).with_for_update()
        if lock and db.dialect.name != "sqlite"
        else select(t.log_head).where(t.log_head.c.id == 1)
    ).first()
    head: LogHead | None = None
    head_damaged = False
    if head_row is not None:
        try:
            head = _head_of(head_row)
        except LogError:
            head_damaged = True
    log_id = None if head_row is None else str(head_row.log_id)

    targets, unknown = _targets(db, trusted, keys, log_id, findings)
    checker = _Checkpoints(targets, findings)
    checker.reached(0, EMPTY_ROOT)
    stream = _Stream(db, deep=deep, checker=checker, findings=findings)
    frontier = stream.run()
    stream.moves.report(findings)
    root = frontier.root()
    checker.finish(frontier.size, stream.end)

    if not findings.structural:
        if (
            head_damaged
            or (head is not None and (head.size != frontier.size or head.root != root))
            or (head is None and frontier.size > 0)
        ):
            findings.add(
                ProblemKind.HEAD_ALTERED,
                head_size=head.size if head is not None else 0,
                size=frontier.size,
            )
        _check_nodes(db, stream.tree.computed, findings)
    pending, oldest = _check_unsequenced(db, head, grace, stream, findings)
    findings.items.sort(key=_reading_order)
    return VerifyReport(
        log_id=log_id,
        tree_size=frontier.size,
        root=root,
        checkpoints_checked=checker.checked,
        problems=tuple(findings.items),
        problems_omitted=findings.omitted,
        pending=pending,
        oldest_pending=oldest,
        unknown_key_checkpoints=unknown,
        deep=deep,
    )


def _check_nodes(
    db: Connection, computed: dict[tuple[int, int], bytes], findings: _Findings
) -> None:
    """Compare the cached subtree hashes with those the stream computed."""
    n = t.log_nodes
    rows = db.execute(
        select(n.c.level, n.c.node_index, n.c.hash).order_by(n.c.level, n.c.node_index),
        execution_options={"yield_per": STREAM_BATCH},
    )
    for row in rows:
        key = (int(row.level), int(row.node_index))
        value = computed.pop(key, None)
        if value is None or value != bytes(row.hash):
            findings.add(ProblemKind.NODE_ALTERED, level=key[0], index=key[1])
    for level, index in sorted(computed):
        findings.add(ProblemKind.NODE_ALTERED, level=level, index=index)


def create_checkpoint(
    conn: Conn,
    signer: CheckpointSigner,
    *,
    trusted: Checkpoint | None = None,
    verify_keys: Iterable[CheckpointKey] = (),
    deep: bool = True,
    grace: dt.timedelta = DEFAULT_GRACE,
    clock: Callable[[], dt.datetime] | None = None,
) -> Checkpoint:
    """Verify the log, then sign and store a checkpoint of its current size and root.

    Signs only what it verified: the root comes from the entries streamed,
    never from the head row. Raises :class:`LogVerificationError`, carrying
    the report, when :func:`verify` finds any problem, and :class:`LogError`
    when nothing has been sequenced yet.
    """
    keys = (*verify_keys, signer.public_key)
    report = verify(conn, trusted=trusted, verify_keys=keys, deep=deep, grace=grace)
    if not report.ok:
        raise LogVerificationError(report)
    if report.log_id is None:
        raise LogError("the log is empty; run the sequencer before signing a checkpoint")
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    checkpoint = signer.sign(
        log_id=report.log_id, tree_size=report.tree_size, root=report.root, at=now
    )
    store_checkpoint(conn, checkpoint)
    logger.info(
        "signed checkpoint of size %d for office %s at %s",
        checkpoint.tree_size,
        checkpoint.office_code,
        format_time(now),
    )
    return checkpoint
