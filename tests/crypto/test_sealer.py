"""The sealer's digest of a fresh envelope, and the public keys it keeps between filings."""

from __future__ import annotations

import datetime as dt

import pytest

from threeregs.crypto import (
    AnchorSigner,
    CertifiedKey,
    OfficeKeyPair,
    Sealer,
    Suite,
    content_digest,
    open_envelope,
)

NOW = dt.datetime.now(dt.UTC)
ENVELOPE_ID = bytes(range(16))
SIGNER = AnchorSigner.generate()


def chain_of(
    suite: Suite, count: int, *, version: int = 1
) -> tuple[dict[str, OfficeKeyPair], list[tuple[str, CertifiedKey]]]:
    """Return *count* offices' key pairs and their certified keys, in chain order."""
    pairs = {
        f"office-{index}": OfficeKeyPair.generate(
            f"office-{index}", key_version=version, suite=suite
        )
        for index in range(count)
    }
    chain = [
        (
            code,
            SIGNER.certify_pair(
                pair,
                level=4,
                not_before=NOW - dt.timedelta(days=1),
                not_after=NOW + dt.timedelta(days=30),
            ),
        )
        for code, pair in pairs.items()
    ]
    return pairs, chain


@pytest.mark.parametrize("suite", list(Suite))
@pytest.mark.parametrize("count", [1, 2, 4, 8])
def test_seal_to_targets_digest(suite: Suite, count: int) -> None:
    pairs, chain = chain_of(suite, count)
    sealer = Sealer(SIGNER.anchor)
    recipient = chain[-1][0]
    targets = sealer.targets(chain, {recipient}, at=NOW)

    envelope, digest = sealer.seal_to_targets(b"payload", targets, envelope_id=ENVELOPE_ID)

    assert digest == content_digest(envelope)
    assert open_envelope(envelope, recipient, {1: pairs[recipient]}) == b"payload"


@pytest.mark.parametrize("length", [0, 8 * 1024 - 4, 8 * 1024, 100_000])
def test_seal_to_targets_digest_size_classes(length: int) -> None:
    _, chain = chain_of(Suite.X25519, 4)
    sealer = Sealer(SIGNER.anchor)
    targets = sealer.targets(chain, {"office-0"}, at=NOW)
    payload = bytes([7]) * length

    envelope, digest = sealer.seal_to_targets(payload, targets, envelope_id=ENVELOPE_ID)

    assert digest == content_digest(envelope)


def test_targets_reuse_public_keys() -> None:
    _, chain = chain_of(Suite.X25519, 4)
    sealer = Sealer(SIGNER.anchor)

    first = sealer.targets(chain, {"office-0"}, at=NOW)
    second = sealer.targets(chain, {"office-1"}, at=NOW)

    assert all(a.public_key is b.public_key for a, b in zip(first, second, strict=True))
    assert [t.real for t in second] == [False, True, False, False]


def test_targets_new_key_version() -> None:
    _, chain = chain_of(Suite.X25519, 2)
    new_pairs, new_chain = chain_of(Suite.X25519, 2, version=2)
    sealer = Sealer(SIGNER.anchor)
    old = sealer.targets(chain, {"office-0"}, at=NOW)

    targets = sealer.targets(new_chain, {"office-0"}, at=NOW)
    envelope, _ = sealer.seal_to_targets(b"payload", targets, envelope_id=ENVELOPE_ID)

    assert [t.key_version for t in targets] == [2, 2]
    assert targets[0].public_key is not old[0].public_key
    assert open_envelope(envelope, "office-0", {2: new_pairs["office-0"]}) == b"payload"
