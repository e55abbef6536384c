"""Benchmark sealing, opening and rewrapping envelopes against the raw primitives.

Run it from the repository root::

    python benchmarks/bench_envelope.py [--iterations N] [--repeats R]

Each operation is timed next to the cryptographic work it cannot avoid, in
the same process and the same repeat, and the table shows the ratio of the
two medians. The design target for every ratio is at most 1.5.

- seal: ``Sealer.seal`` of a one-record filing to a chain of four offices,
  with every key certificate checked (the trust anchor caches verified
  certificates), against four HPKE encryptions of 32 bytes, one AES-256-GCM
  encryption of 8 KiB and one SHA-256.
- open: ``open_envelope`` with the real office key, against one HPKE
  decryption and one AES-256-GCM decryption of 8 KiB.
- rewrap: ``rewrap_slot`` to a new key version, against one HPKE decryption
  and one HPKE encryption.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import cryptography
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from collections.abc import Callable

# Run from a source checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from threeregs._canonical import dumps
from threeregs._model import Filer, Filing, Intervener, Record, StageObligation
from threeregs._vocabulary import (
    Bucket,
    Conduct,
    IntervenerRole,
    Manner,
    Provision,
    StaffKind,
)
from threeregs.crypto import (
    SIZE_CLASSES,
    AnchorSigner,
    OfficeKeyPair,
    Sealer,
    Suite,
    open_envelope,
    rewrap_slot,
)

CHAIN_CODES = ("330106", "330100", "330000", "000000")
LEVELS = (4, 3, 2, 1)
TARGET = 1.5
CONTENT = (
    "某律师以案件当事人辩护人身份，在工作时间以外约承办检察官在茶楼见面，"
    "称当事人家属希望了解案件进展，并表示愿意承担餐费。承办检察官当即拒绝，"
    "告知其应通过案件管理部门依法预约，并如实记录本次接触情况。"
) * 3


def one_record_filing() -> bytes:
    """Return the canonical bytes of a typical one-record filing (about 1.3 KiB)."""
    filed_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    record = Record(
        provision=Provision.P3,
        conduct=Conduct.CONTACT,
        bucket=Bucket.OFF_HOURS_CONTACT,
        intervener=Intervener(
            name="李某", unit="某律师事务所", position="律师", role=IntervenerRole.LAWYER
        ),
        occurred_at=filed_at - dt.timedelta(days=1),
        manner=Manner.IN_PERSON,
        content=CONTENT,
        place="某茶楼包间",
        response="当即拒绝并如实记录。",
    )
    filing = Filing(
        Filer("P000123", "330106", StaffKind.PROSECUTOR),
        StageObligation(case_id="2024-XS-17", stage="prosecution_review"),
        records=(record,),
        filed_at=filed_at,
    )
    return dumps(filing)


def per_call(function: Callable[[], object], iterations: int) -> float:
    """Return the mean time of one call of *function* over *iterations* calls, in seconds."""
    start = time.perf_counter()
    for _ in range(iterations):
        function()
    return (time.perf_counter() - start) / iterations


def compare(
    library: Callable[[], object], raw: Callable[[], object], iterations: int, repeats: int
) -> tuple[float, float]:
    """Time *library* and *raw* alternately; return the median time per call of each."""
    library_times = []
    raw_times = []
    # One untimed round warms caches (the trust anchor's verified certificates,
    # OpenSSL's algorithm lookups) before any measurement.
    per_call(library, max(1, iterations // 10))
    per_call(raw, max(1, iterations // 10))
    for _ in range(repeats):
        library_times.append(per_call(library, iterations))
        raw_times.append(per_call(raw, iterations))
    return statistics.median(library_times), statistics.median(raw_times)


def machine() -> str:
    """Describe the machine and the software versions that the numbers depend on."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}"
    )


def main() -> None:
    """Run the three comparisons and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iterations", type=int, default=2000, help="calls per timed repeat")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per operation")
    options = parser.parse_args()

    signer = AnchorSigner.generate()
    now = dt.datetime.now(dt.UTC)
    keys = {code: OfficeKeyPair.generate(code) for code in CHAIN_CODES}
    chain = [
        (
            code,
            signer.certify_pair(
                keys[code],
                level=level,
                not_before=now - dt.timedelta(days=1),
                not_after=now + dt.timedelta(days=365),
            ),
        )
        for code, level in zip(CHAIN_CODES, LEVELS, strict=True)
    ]
    sealer = Sealer(signer.anchor)
    suite = Suite.X25519.hpke
    publics = [keys[code].private_key.public_key() for code in CHAIN_CODES]
    own = keys[CHAIN_CODES[0]]
    payload = one_record_filing()
    envelope_id = os.urandom(16)
    envelope = sealer.seal(payload, chain, {own.office_code}, envelope_id=envelope_id)

    block = bytes(SIZE_CLASSES[0])
    data_key = os.urandom(32)
    nonce = os.urandom(12)
    info = os.urandom(70)
    core = envelope[: 58 + 16 * len(CHAIN_CODES)]
    aes = AESGCM(data_key)
    sealed_block = aes.encrypt(nonce, block, core)
    sealed_key = suite.encrypt(data_key, publics[0], info=info)
    new_key = OfficeKeyPair.generate(own.office_code, key_version=2)
    new_public = new_key.private_key.public_key()

    def seal_library() -> object:
        return sealer.seal(payload, chain, {own.office_code}, envelope_id=envelope_id)

    def seal_raw() -> object:
        for public in publics:
            suite.encrypt(data_key, public, info=info)
        hashlib.sha256(core).digest()
        return AESGCM(data_key).encrypt(nonce, block, core)

    def open_library() -> object:
        return open_envelope(envelope, own.office_code, {1: own})

    def open_raw() -> object:
        key = suite.decrypt(sealed_key, own.private_key, info=info)
        return AESGCM(key).decrypt(nonce, sealed_block, core)

    def rewrap_library() -> object:
        return rewrap_slot(envelope, own.office_code, own, 2, new_public)

    def rewrap_raw() -> object:
        key = suite.decrypt(sealed_key, own.private_key, info=info)
        return suite.encrypt(key, new_public, info=info)

    print(f"machine: {machine()}")
    print(
        f"payload: {len(payload)} bytes of canonical filing, envelope {len(envelope)} bytes, "
        f"{len(CHAIN_CODES)} slots; {options.iterations} calls x {options.repeats} repeats, medians"
    )
    print()
    header = f"{'operation':<8} {'library µs':>11} {'raw µs':>9} {'ratio':>6} {'target':>7}  met"
    print(header)
    print("-" * len(header))
    rates = {}
    for name, library, raw in (
        ("seal", seal_library, seal_raw),
        ("open", open_library, open_raw),
        ("rewrap", rewrap_library, rewrap_raw),
    ):
        library_time, raw_time = compare(library, raw, options.iterations, options.repeats)
        ratio = library_time / raw_time
        rates[name] = 1 / library_time
        met = "yes" if ratio <= TARGET else "no"
        print(
            f"{name:<8} {library_time * 1e6:>11.1f} {raw_time * 1e6:>9.1f} "
            f"{ratio:>6.2f} {'≤ ' + str(TARGET):>7}  {met}"
        )
    print()
    print(
        f"one core: {rates['seal']:,.0f} seals/s, {rates['open']:,.0f} openings/s "
        f"(target ≥ 10,000 filings/s), {rates['rewrap']:,.0f} rewraps/s"
    )


if __name__ == "__main__":
    main()
