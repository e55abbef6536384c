"""Tables, schema set-up, office storage and the tamper-evident filing log."""

from threeregs.store._checkpoint import (
    Checkpoint,
    CheckpointKey,
    CheckpointSigner,
    parse_keys,
    read_keys,
    read_public_key,
)
from threeregs.store._connection import connection_of, use_immediate_transactions
from threeregs.store._log import (
    DEFAULT_GRACE,
    LogHead,
    LogLeaf,
    consistency_proof,
    inclusion_proof,
    latest_checkpoint,
    read_head,
    sequence,
    store_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from threeregs.store._merkle import ConsistencyProof, InclusionProof
from threeregs.store._migrate import current_revision, downgrade, migrations_path, upgrade
from threeregs.store._offices import (
    add_office_key,
    load_directory,
    office_keys,
    retire_key,
    save_directory,
)
from threeregs.store._rotation import RewrapProgress, issue_key, rewrap_office
from threeregs.store._schema import create_tables, drop_tables
from threeregs.store._tables import metadata
from threeregs.store._verify import (
    Problem,
    ProblemKind,
    VerifyReport,
    create_checkpoint,
    verify,
)

__all__ = [
    "DEFAULT_GRACE",
    "Checkpoint",
    "CheckpointKey",
    "CheckpointSigner",
    "ConsistencyProof",
    "InclusionProof",
    "LogHead",
    "LogLeaf",
    "Problem",
    "ProblemKind",
    "RewrapProgress",
    "VerifyReport",
    "add_office_key",
    "connection_of",
    "consistency_proof",
    "create_checkpoint",
    "create_tables",
    "current_revision",
    "downgrade",
    "drop_tables",
    "inclusion_proof",
    "issue_key",
    "latest_checkpoint",
    "load_directory",
    "metadata",
    "migrations_path",
    "office_keys",
    "parse_keys",
    "read_head",
    "read_keys",
    "read_public_key",
    "retire_key",
    "rewrap_office",
    "save_directory",
    "sequence",
    "store_checkpoint",
    "upgrade",
    "use_immediate_transactions",
    "verify",
    "verify_consistency",
    "verify_inclusion",
]
