"""Errors and warnings raised by threeregs.

Every error the library raises on purpose derives from :class:`ThreeregsError`,
with one branch per subpackage. Where a built-in exception describes the
failure as well, it is mixed in, so ``except ValueError`` in a host keeps
working::

    ThreeregsError
    ├── ValidationError (ValueError)            model: a field of a value is invalid
    │   └── CanonicalFormError                  canonical bytes that do not parse
    ├── CryptoError                             crypto/
    │   ├── InvalidEnvelopeError                one opaque error for every failed opening
    │   ├── UntrustedKeyError                   key record not certified, expired or mismatched
    │   └── KeyStoreError
    │       ├── WrongPassphraseError
    │       ├── CorruptKeyStoreError
    │       └── KeyNotFoundError (LookupError)
    ├── PolicyError                             policy/
    │   ├── InvalidPolicyError                  a policy file or object is invalid
    │   └── UnknownStageError (LookupError)
    ├── RoutingError                            routing/
    │   ├── UnknownOfficeError (LookupError)
    │   └── InvalidRouteError                   a direct report outside the filer's chain
    ├── StoreError                              store/ and the gate
    │   ├── UnknownCaseError (LookupError)
    │   ├── CaseExistsError
    │   ├── CaseClosedError
    │   ├── GateBlockedError                    carries the blocking Decision
    │   │   └── ForbiddenTransitionError        a stage jump the policy does not allow
    │   ├── StaleCaseError                      a concurrent change won
    │   ├── WrongStageError                     a filing for a stage the case is not in
    │   ├── NotOnCaseError                      the filer is not assigned to the case
    │   ├── DuplicateFilingError                the obligation is already met
    │   ├── UnknownFilingError (LookupError)
    │   ├── SchemaError                         tables missing or at another revision
    │   └── LogError                            the tamper-evident filing log
    │       ├── CheckpointError                 a bad checkpoint, key file or signature
    │       ├── NotInLogError (LookupError)     the filing has not been sequenced into the log
    │       └── LogVerificationError            verify found problems; carries the report
    ├── MatchingError                           matching/
    │   ├── ClueImportError                     carries the rejected rows
    │   ├── MatchingInputError                  an opened-filings or stage-windows file
    │   ├── PluginLoadError
    │   ├── RuleFailedError                     a rule raised or returned invalid findings
    │   ├── UnknownRuleError (LookupError)      the allow-list names a rule nobody provides
    │   └── ConformanceError (AssertionError)   a rule fails the conformance kit
    └── StatsError                              stats/
        ├── StatsTablesError                    statistics tables missing from the database
        ├── InvalidSummaryError (ValueError)    a summary return file does not parse
        ├── SummarySignatureError               a summary return's signature does not verify
        └── SummaryMismatchError                a return for another period, office or parent

    ThreeregsWarning (UserWarning)

Messages name the value that failed and say what to do. They never contain
key material, passphrases or plaintext of a sealed filing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence


class ThreeregsError(Exception):
    """Root of every error that threeregs raises on purpose."""


class ThreeregsWarning(UserWarning):
    """Warning about a risky but permitted use of the library."""


# --- model ---------------------------------------------------------------


class ValidationError(ThreeregsError, ValueError):
    """A field of a value is missing, of the wrong kind or out of range.

    ``field`` is the dotted path of the field (``records[0].intervener.name``)
    and ``value`` the rejected value, shortened when long.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {field} {_short(value)}: {reason}")


class CanonicalFormError(ValidationError):
    """Bytes that claim to be a canonical filing do not parse as one."""


# --- crypto --------------------------------------------------------------


class CryptoError(ThreeregsError):
    """Base class of errors from :mod:`threeregs.crypto`."""


class InvalidEnvelopeError(CryptoError):
    """The envelope could not be opened.

    Raised for every cause alike (tampering, truncation, a wrong key, a slot
    moved from another filing) so that the error gives no oracle.
    """

    def __init__(self) -> None:
        super().__init__("the envelope could not be opened")


class UntrustedKeyError(CryptoError):
    """A key record is not certified by the trust anchor, has expired, or
    does not belong to the office and version it is used for."""


class KeyStoreError(CryptoError):
    """Base class of key store errors."""


class WrongPassphraseError(KeyStoreError):
    """The passphrase does not unlock the key store file."""


class CorruptKeyStoreError(KeyStoreError):
    """The key store file is damaged, truncated or not a key store."""


class KeyNotFoundError(KeyStoreError, LookupError):
    """The key store holds no private key for the requested office and version."""


# --- policy --------------------------------------------------------------


class PolicyError(ThreeregsError):
    """Base class of errors from :mod:`threeregs.policy`."""


class InvalidPolicyError(PolicyError):
    """A policy file or object is invalid.

    ``source`` names the file (or ``<string>``), ``key`` the dotted key path.
    """

    def __init__(self, source: str, key: str, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        super().__init__(f"invalid policy {source}: {key or '<root>'}: {reason}")


class UnknownStageError(PolicyError, LookupError):
    """A stage name is not in the business line's stage catalog."""


# --- routing -------------------------------------------------------------


class RoutingError(ThreeregsError):
    """Base class of errors from :mod:`threeregs.routing`."""


class UnknownOfficeError(RoutingError, LookupError):
    """No office with this code is in the directory."""


class InvalidRouteError(RoutingError):
    """The requested recipients are not in the filer's chain of offices."""


# --- store and gate ------------------------------------------------------


class StoreError(ThreeregsError):
    """Base class of errors from the gate and :mod:`threeregs.store`."""


class UnknownCaseError(StoreError, LookupError):
    """No case with this id has been opened with the gate."""


class CaseExistsError(StoreError):
    """A case with this id is already open with the gate."""


class CaseClosedError(StoreError):
    """The case is closed, so it cannot be changed."""


class GateBlockedError(StoreError):
    """The gate refused to let a case leave its stage.

    ``decision`` is the :class:`threeregs.Decision` listing every blocker.
    """

    def __init__(self, decision: Any) -> None:
        self.decision = decision
        blockers: Sequence[Any] = decision.blockers
        summary = "; ".join(b.message("en") for b in blockers[:3])
        more = f" (and {len(blockers) - 3} more)" if len(blockers) > 3 else ""
        super().__init__(
            f"case {decision.case_id!r} cannot move to {decision.to_stage!r}: {summary}{more}"
        )


class StaleCaseError(StoreError):
    """Another transaction changed the case between reading and writing it.

    Roll back and retry the whole operation.
    """


class ForbiddenTransitionError(GateBlockedError):
    """The policy does not allow the case to move between these stages."""


class WrongStageError(StoreError):
    """A stage filing names a stage or round the case is not in."""


class NotOnCaseError(StoreError):
    """The filer is not assigned to the case for this stage."""


class DuplicateFilingError(StoreError):
    """The obligation is already met; file an amendment with ``supersedes``."""


class UnknownFilingError(StoreError, LookupError):
    """No filing with this id is stored."""


class SchemaError(StoreError):
    """The threeregs tables are missing or at another revision."""


class LogError(StoreError):
    """Base class of errors from the tamper-evident filing log."""


class CheckpointError(LogError):
    """A checkpoint, key line or signing-key file is malformed, or a signature fails."""


class NotInLogError(LogError, LookupError):
    """The filing is stored but not yet sequenced into the log; run the sequencer."""


class LogVerificationError(LogError):
    """Verifying the log found problems, so no checkpoint was signed.

    ``report`` is the :class:`threeregs.store.VerifyReport` that lists them.
    """

    def __init__(self, report: Any) -> None:
        self.report = report
        count = len(report.problems)
        super().__init__(
            f"verifying the log found {count} problem(s), so no checkpoint was signed; "
            "run `threeregs verify` for the list"
        )


# --- matching ------------------------------------------------------------


class MatchingError(ThreeregsError):
    """Base class of errors from :mod:`threeregs.matching`."""


class ClueImportError(MatchingError):
    """A clue file could not be read at all.

    Bad rows in a readable file do not raise; they are listed on the import
    result.

    ``path`` names the file. ``rejected`` lists the rejected rows when a
    strict import fails because of them, and is empty otherwise.
    """

    def __init__(self, message: str, *, path: str = "", rejected: Sequence[Any] = ()) -> None:
        self.path = path
        self.rejected = tuple(rejected)
        super().__init__(message)


class MatchingInputError(MatchingError):
    """A file of opened filings or of stage windows could not be read.

    The message names the file and, for a bad line, its number.
    """


class PluginLoadError(MatchingError):
    """A matching-rule plugin could not be loaded."""


class RuleFailedError(MatchingError):
    """A matching rule raised an exception or returned invalid findings."""


class UnknownRuleError(MatchingError, LookupError):
    """The allow-list names a rule that no registered plugin provides."""


class ConformanceError(MatchingError, AssertionError):
    """A matching rule does not meet the contract of the conformance kit.

    ``failures`` lists every check that failed, one sentence each.
    """

    def __init__(self, rule: str, failures: Sequence[str]) -> None:
        self.rule = rule
        self.failures = tuple(failures)
        listed = "; ".join(self.failures)
        super().__init__(f"rule {rule!r} fails {len(self.failures)} conformance checks: {listed}")


# --- statistics ----------------------------------------------------------


class StatsError(ThreeregsError):
    """Base class of errors from :mod:`threeregs.stats`."""


class StatsTablesError(StatsError):
    """The statistics database lacks the tables of :mod:`threeregs.stats`."""


class InvalidSummaryError(StatsError, ValueError):
    """Bytes that claim to be a summary return do not parse as one.

    ``where`` is the path of the offending field (``counts[3].count``), or
    ``""`` when the file as a whole is malformed.
    """

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        location = f" at {where}" if where else ""
        super().__init__(f"invalid summary return{location}: {reason}")


class SummarySignatureError(StatsError):
    """A summary return's signature does not verify with the sender's public key,
    or no public key is known for the sender."""


class SummaryMismatchError(StatsError):
    """A summary return does not fit where it is used: another period, a sender
    that is not a child of the receiving office, or a second return from the
    same sender."""


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    if len(text) > limit:
        return text[: limit - 3] + "..."
    return text
