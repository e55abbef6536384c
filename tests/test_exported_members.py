"""The public names of the threeregs package, pinned.

A name added to or removed from ``threeregs.__all__`` changes the public API,
so it must be added to or removed from the list below on purpose.
"""

from __future__ import annotations

import pytest

import threeregs

EXPORTED = [
    "Blocker",
    "BlockerCode",
    "Bucket",
    "CanonicalFormError",
    "CaseClosedError",
    "CaseExistsError",
    "CaseState",
    "ClueImportError",
    "Conduct",
    "CorruptKeyStoreError",
    "CryptoError",
    "Decision",
    "DuplicateFilingError",
    "Filer",
    "Filing",
    "ForbiddenTransitionError",
    "GateBlockedError",
    "Inbox",
    "InboxItem",
    "InboxSummary",
    "Intervener",
    "IntervenerRole",
    "InvalidEnvelopeError",
    "InvalidPolicyError",
    "InvalidRouteError",
    "KeyNotFoundError",
    "KeyStoreError",
    "Level",
    "Manner",
    "MatchingError",
    "MonthlyObligation",
    "NotOnCaseError",
    "Note",
    "NoteCode",
    "Outcome",
    "PluginLoadError",
    "PolicyError",
    "Provision",
    "Receipt",
    "Record",
    "RoutingError",
    "SchemaError",
    "StaffKind",
    "StageGate",
    "StageObligation",
    "StaleCaseError",
    "StoreError",
    "ThreeregsError",
    "ThreeregsWarning",
    "UnknownCaseError",
    "UnknownFilingError",
    "UnknownOfficeError",
    "UnknownStageError",
    "UntrustedKeyError",
    "ValidationError",
    "WrongPassphraseError",
    "WrongStageError",
    "label",
]


def test_all_is_pinned() -> None:
    assert threeregs.__all__ == EXPORTED


def test_all_is_sorted() -> None:
    assert threeregs.__all__ == sorted(threeregs.__all__)


@pytest.mark.parametrize("name", EXPORTED)
def test_exported_name_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from threeregs import {name}", namespace)
    assert namespace[name] is getattr(threeregs, name)


def test_dir_lists_exported_names() -> None:
    assert set(EXPORTED) - set(dir(threeregs)) == set()


def test_unknown_name_is_attribute_error() -> None:
    with pytest.raises(AttributeError):
        threeregs.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
