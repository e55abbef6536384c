"""Sealing with certified office keys only."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

import attrs

from threeregs._errors import UntrustedKeyError, ValidationError
from threeregs.crypto._envelope import (
    CORE_FIXED,
    OFFICE_FIELD,
    SlotTarget,
    open_envelope,
    seal_envelope,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from threeregs.crypto._envelope import _NotAddressed
    from threeregs.crypto._keys import CertifiedKey, OfficeKeyPair, PublicKey, Suite, TrustAnchor


@attrs.frozen
class Sealer:
    """Seal payloads to the offices of a chain, after checking every key.

    Each key must be certified by *anchor*, belong to the office of its
    position, and be valid at the time of sealing; otherwise sealing raises
    :class:`UntrustedKeyError` and nothing is encrypted.
    """

    anchor: TrustAnchor
    # Public key objects by suite and raw bytes, built once: every filing
    # needs one for each slot.
    _public_keys: dict[tuple[Suite, bytes], PublicKey] = attrs.field(
        factory=dict, init=False, eq=False, repr=False
    )

    def targets(
        self,
        chain: Sequence[tuple[str, CertifiedKey]],
        recipients: Collection[str],
        *,
        at: dt.datetime | None = None,
    ) -> list[SlotTarget]:
        """Check each office's key and mark the *recipients* as real slots."""
        when = at or dt.datetime.now(dt.UTC)
        offices = [code for code, _ in chain]
        unknown = set(recipients) - set(offices)
        if unknown:
            raise ValidationError(
                "recipients", sorted(unknown), f"not in the chain of offices {offices}"
            )
        if not recipients:
            raise ValidationError("recipients", [], "at least one recipient office is needed")
        targets = []
        for office_code, certified in chain:
            record = self.anchor.verify(certified, office_code=office_code, at=when)
            public = self._public_keys.get((record.suite, record.public_key))
            if public is None:
                try:
                    public = record.public()
                except ValueError:
                    raise UntrustedKeyError(
                        f"key of office {office_code!r} version {record.key_version} "
                        "holds an invalid public key"
                    ) from None
                self._public_keys[record.suite, record.public_key] = public
            targets.append(
                SlotTarget(
                    office_code=office_code,
                    key_version=record.key_version,
                    suite=record.suite,
                    public_key=public,
                    real=office_code in recipients,
                )
            )
        return targets

    def seal(
        self,
        payload: bytes,
        chain: Sequence[tuple[str, CertifiedKey]],
        recipients: Collection[str],
        *,
        envelope_id: bytes,
        at: dt.datetime | None = None,
    ) -> bytes:
        """Seal *payload* with one slot per office of *chain*."""
        targets = self.targets(chain, recipients, at=at)
        return seal_envelope(payload, targets, envelope_id=envelope_id)

    def seal_to_targets(
        self, payload: bytes, targets: Sequence[SlotTarget], *, envelope_id: bytes
    ) -> tuple[bytes, str]:
        """Seal *payload* to *targets* from :meth:`targets`; return the envelope and its digest.

        The digest equals :func:`~threeregs.crypto.content_digest` of the
        envelope. It is computed from the slot count and suite of *targets*
        instead of parsing the header that was just written.
        """
        envelope = seal_envelope(payload, targets, envelope_id=envelope_id)
        core_end = CORE_FIXED + OFFICE_FIELD * len(targets)
        payload_start = core_end + len(targets) * (4 + targets[0].suite.slot_length)
        view = memoryview(envelope)
        digest = hashlib.sha256(view[:core_end])
        digest.update(view[payload_start:])
        return envelope, digest.hexdigest()

    def reseal(
        self,
        data: bytes,
        office_code: str,
        keys: Mapping[int, OfficeKeyPair],
        chain: Sequence[tuple[str, CertifiedKey]],
        recipients: Collection[str],
        *,
        at: dt.datetime | None = None,
    ) -> bytes | _NotAddressed:
        """Open *data* and seal its payload again under a fresh data key.

        For a key that may be compromised: the new envelope keeps the
        envelope id, so receipts stay valid, but shares no key with the old one.
        """
        payload = open_envelope(data, office_code, keys)
        if isinstance(payload, bytes):
            return self.seal(payload, chain, recipients, envelope_id=bytes(data[5:21]), at=at)
        return payload
