"""Envelopes, office keys, the trust anchor and key stores."""

from threeregs.crypto._envelope import (
    NOT_ADDRESSED,
    SIZE_CLASSES,
    EnvelopeHeader,
    SlotHeader,
    SlotTarget,
    content_digest,
    open_envelope,
    padded_size,
    parse_header,
    rewrap_slot,
    seal_envelope,
)
from threeregs.crypto._keys import (
    AnchorSigner,
    CertifiedKey,
    KeyRecord,
    OfficeKeyPair,
    Suite,
    TrustAnchor,
)
from threeregs.crypto._keystore import KeyStore, MemoryKeyStore, PassphraseKeyStore
from threeregs.crypto._sealer import Sealer

__all__ = [
    "NOT_ADDRESSED",
    "SIZE_CLASSES",
    "AnchorSigner",
    "CertifiedKey",
    "EnvelopeHeader",
    "KeyRecord",
    "KeyStore",
    "MemoryKeyStore",
    "OfficeKeyPair",
    "PassphraseKeyStore",
    "Sealer",
    "SlotHeader",
    "SlotTarget",
    "Suite",
    "TrustAnchor",
    "content_digest",
    "open_envelope",
    "padded_size",
    "parse_header",
    "rewrap_slot",
    "seal_envelope",
]
