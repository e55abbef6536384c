"""Tables, schema set-up and office storage in the host database."""

from threeregs.store._connection import connection_of, use_immediate_transactions
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

__all__ = [
    "RewrapProgress",
    "add_office_key",
    "connection_of",
    "create_tables",
    "drop_tables",
    "issue_key",
    "load_directory",
    "metadata",
    "office_keys",
    "retire_key",
    "rewrap_office",
    "save_directory",
    "use_immediate_transactions",
]
