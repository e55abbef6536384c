"""threeregs: the Three Provisions reporting duty, embedded in case-handling software.

A host's case cannot leave a stage, or close, until everyone who must file
for that stage has filed a report or a zero report (:class:`StageGate`).
Filings are sealed so that only the inspection department of the chosen
office can read them (:class:`Inbox`).

Names are imported on first use, so ``import threeregs`` (and hypothesis,
which loads the strategies of :mod:`threeregs.testing` through an entry
point) does not pull in SQLAlchemy or cryptography until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threeregs._decision import (
        Blocker,
        BlockerCode,
        Decision,
        Note,
        NoteCode,
    )
    from threeregs._errors import (
        CanonicalFormError,
        CaseClosedError,
        CaseExistsError,
        ClueImportError,
        CorruptKeyStoreError,
        CryptoError,
        DuplicateFilingError,
        ForbiddenTransitionError,
        GateBlockedError,
        InvalidEnvelopeError,
        InvalidPolicyError,
        InvalidRouteError,
        KeyNotFoundError,
        KeyStoreError,
        MatchingError,
        NotOnCaseError,
        PluginLoadError,
        PolicyError,
        RoutingError,
        SchemaError,
        StaleCaseError,
        StoreError,
        ThreeregsError,
        ThreeregsWarning,
        UnknownCaseError,
        UnknownFilingError,
        UnknownOfficeError,
        UnknownStageError,
        UntrustedKeyError,
        ValidationError,
        WrongPassphraseError,
        WrongStageError,
    )
    from threeregs._gate import (
        CaseState,
        StageGate,
    )
    from threeregs._i18n import (
        label,
    )
    from threeregs._inbox import (
        Inbox,
        InboxItem,
        InboxSummary,
        Outcome,
    )
    from threeregs._model import (
        Filer,
        Filing,
        Intervener,
        MonthlyObligation,
        Receipt,
        Record,
        StageObligation,
    )
    from threeregs._vocabulary import (
        Bucket,
        Conduct,
        IntervenerRole,
        Manner,
        Provision,
        StaffKind,
    )
    from threeregs.routing._directory import (
        Level,
    )

_SOURCES: dict[str, str] = {
    "Blocker": "threeregs._decision",
    "BlockerCode": "threeregs._decision",
    "Bucket": "threeregs._vocabulary",
    "CanonicalFormError": "threeregs._errors",
    "CaseClosedError": "threeregs._errors",
    "CaseExistsError": "threeregs._errors",
    "CaseState": "threeregs._gate",
    "ClueImportError": "threeregs._errors",
    "Conduct": "threeregs._vocabulary",
    "CorruptKeyStoreError": "threeregs._errors",
    "CryptoError": "threeregs._errors",
    "Decision": "threeregs._decision",
    "DuplicateFilingError": "threeregs._errors",
    "Filer": "threeregs._model",
    "Filing": "threeregs._model",
    "ForbiddenTransitionError": "threeregs._errors",
    "GateBlockedError": "threeregs._errors",
    "Inbox": "threeregs._inbox",
    "InboxItem": "threeregs._inbox",
    "InboxSummary": "threeregs._inbox",
    "Intervener": "threeregs._model",
    "IntervenerRole": "threeregs._vocabulary",
    "InvalidEnvelopeError": "threeregs._errors",
    "InvalidPolicyError": "threeregs._errors",
    "InvalidRouteError": "threeregs._errors",
    "KeyNotFoundError": "threeregs._errors",
    "KeyStoreError": "threeregs._errors",
    "Level": "threeregs.routing._directory",
    "Manner": "threeregs._vocabulary",
    "MatchingError": "threeregs._errors",
    "MonthlyObligation": "threeregs._model",
    "NotOnCaseError": "threeregs._errors",
    "Note": "threeregs._decision",
    "NoteCode": "threeregs._decision",
    "Outcome": "threeregs._inbox",
    "PluginLoadError": "threeregs._errors",
    "PolicyError": "threeregs._errors",
    "Provision": "threeregs._vocabulary",
    "Receipt": "threeregs._model",
    "Record": "threeregs._model",
    "RoutingError": "threeregs._errors",
    "SchemaError": "threeregs._errors",
    "StaffKind": "threeregs._vocabulary",
    "StageGate": "threeregs._gate",
    "StageObligation": "threeregs._model",
    "StaleCaseError": "threeregs._errors",
    "StoreError": "threeregs._errors",
    "ThreeregsError": "threeregs._errors",
    "ThreeregsWarning": "threeregs._errors",
    "UnknownCaseError": "threeregs._errors",
    "UnknownFilingError": "threeregs._errors",
    "UnknownOfficeError": "threeregs._errors",
    "UnknownStageError": "threeregs._errors",
    "UntrustedKeyError": "threeregs._errors",
    "ValidationError": "threeregs._errors",
    "WrongPassphraseError": "threeregs._errors",
    "WrongStageError": "threeregs._errors",
    "label": "threeregs._i18n",
}

__all__ = [
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


def __getattr__(name: str) -> Any:
    try:
        module = _SOURCES[name]
    except KeyError:
        raise AttributeError(f"module 'threeregs' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
