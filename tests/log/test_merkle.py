"""RFC 9162 tree hashing and proofs, checked by hand, against published values and by property."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from threeregs.store._merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    root_of,
    subtree_from_leaves,
    verify_consistency_path,
    verify_inclusion_path,
)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# The leaves of the Certificate Transparency reference tree (RFC 6962 and
# RFC 9162 hash trees the same way) and the published root of each prefix.
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def ct_hashes() -> list[bytes]:
    return [leaf_hash(bytes.fromhex(leaf)) for leaf in CT_LEAVES]


def test_hashes_follow_rfc_definitions() -> None:
    a, b, c = b"alpha", b"beta", b"gamma"
    la, lb, lc = sha256(b"\x00" + a), sha256(b"\x00" + b), sha256(b"\x00" + c)

    assert sha256(b"") == EMPTY_ROOT
    assert leaf_hash(a) == la
    assert node_hash(la, lb) == sha256(b"\x01" + la + lb)
    assert root_of([]) == sha256(b"")
    assert root_of([la]) == la
    assert root_of([la, lb]) == sha256(b"\x01" + la + lb)
    # Three leaves split at 2: MTH = HASH(0x01 || MTH(a, b) || MTH(c)).
    assert root_of([la, lb, lc]) == sha256(b"\x01" + sha256(b"\x01" + la + lb) + lc)


def test_five_leaves_split_at_four() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(5)]
    left = node_hash(node_hash(leaves[0], leaves[1]), node_hash(leaves[2], leaves[3]))

    assert root_of(leaves) == node_hash(left, leaves[4])


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_root_matches_published_value(size: int) -> None:
    assert root_of(ct_hashes()[:size]).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_inclusion_path_matches_published_value(index: int, size: int) -> None:
    hashes = ct_hashes()
    path = inclusion_path(index, size, subtree_from_leaves(hashes))

    assert [p.hex() for p in path] == CT_INCLUSION[index, size]


def test_frontier_reports_perfect_subtrees() -> None:
    hashes = [leaf_hash(bytes([i])) for i in range(8)]
    seen: list[tuple[int, int, bytes]] = []
    frontier = Frontier(on_subtree=lambda level, index, value: seen.append((level, index, value)))
    for value in hashes:
        frontier.append(value)

    subtree = subtree_from_leaves(hashes)
    assert frontier.root() == root_of(hashes)
    assert (3, 0, root_of(hashes)) in seen
    assert (2, 1, subtree(4, 8)) in seen
    assert len(seen) == 7


def test_frontier_rejects_wrong_hash_count() -> None:
    with pytest.raises(ValueError, match="holds 2 hashes"):
        Frontier([b"\x00" * 32], size=3)


def test_consistency_of_equal_and_empty_trees() -> None:
    hashes = ct_hashes()
    root = root_of(hashes)

    assert verify_consistency_path(8, 8, root, root, [])
    assert not verify_consistency_path(8, 8, root, EMPTY_ROOT, [])
    assert verify_consistency_path(0, 8, EMPTY_ROOT, root, [])
    assert not verify_consistency_path(0, 8, root, root, [])


# --- properties ----------------------------------------------------------

tree_sizes = st.integers(min_value=1, max_value=300)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    size = draw(tree_sizes)
    seed = draw(st.binary(min_size=1, max_size=8))
    hashes = [leaf_hash(seed + i.to_bytes(4, "big")) for i in range(size)]
    return hashes, draw(st.integers(min_value=0, max_value=size - 1))


@settings(max_examples=150, deadline=None)
@given(tree_and_index())
def test_inclusion_proof_verifies(case: tuple[list[bytes], int]) -> None:
    hashes, index = case
    size = len(hashes)
    path = inclusion_path(index, size, subtree_from_leaves(hashes))

    assert verify_inclusion_path(index, size, hashes[index], path, root_of(hashes))


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_altered_inclusion_proof_fails(case: tuple[list[bytes], int], data: st.DataObject) -> None:
    hashes, index = case
    size = len(hashes)
    root = root_of(hashes)
    path = inclusion_path(index, size, subtree_from_leaves(hashes))
    # The tree size is not varied here: a path alone does not fix it, the signed
    # checkpoint does, so verify_inclusion compares it with the checkpoint's.
    change = data.draw(st.sampled_from(["bit", "index", "drop", "add", "leaf"]))

    leaf, new_index, new_path = hashes[index], index, list(path)
    if change == "bit":
        assume(path)
        position = data.draw(st.integers(0, len(path) - 1))
        bit = data.draw(st.integers(0, 255))
        element = bytearray(path[position])
        element[bit // 8] ^= 1 << (bit % 8)
        new_path[position] = bytes(element)
    elif change == "index":
        new_index = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
    elif change == "drop":
        assume(path)
        del new_path[data.draw(st.integers(0, len(path) - 1))]
    elif change == "add":
        new_path.insert(data.draw(st.integers(0, len(path))), sha256(b"extra"))
    else:
        leaf = sha256(leaf)

    assert not verify_inclusion_path(new_index, size, leaf, new_path, root)


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[list[bytes], int]:
    second = draw(st.integers(min_value=1, max_value=300))
    first = draw(st.integers(min_value=1, max_value=second))
    seed = draw(st.binary(min_size=1, max_size=8))
    return [leaf_hash(seed + i.to_bytes(4, "big")) for i in range(second)], first


@settings(max_examples=150, deadline=None)
@given(two_sizes())
def test_consistency_proof_verifies(case: tuple[list[bytes], int]) -> None:
    hashes, first = case
    second = len(hashes)
    path = consistency_path(first, second, subtree_from_leaves(hashes))

    assert verify_consistency_path(first, second, root_of(hashes[:first]), root_of(hashes), path)


@settings(max_examples=150, deadline=None)
@given(two_sizes(), st.data())
def test_altered_consistency_proof_fails(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    hashes, first = case
    second = len(hashes)
    assume(first < second)
    path = consistency_path(first, second, subtree_from_leaves(hashes))
    first_root, second_root = root_of(hashes[:first]), root_of(hashes)
    change = data.draw(st.sampled_from(["bit", "drop", "add", "first_root", "second_root"]))

    new_path = list(path)
    if change == "bit":
        position = data.draw(st.integers(0, len(path) - 1))
        bit = data.draw(st.integers(0, 255))
        element = bytearray(path[position])
        element[bit // 8] ^= 1 << (bit % 8)
        new_path[position] = bytes(element)
    elif change == "drop":
        del new_path[data.draw(st.integers(0, len(path) - 1))]
    elif change == "add":
        new_path.insert(data.draw(st.integers(0, len(path))), sha256(b"extra"))
    elif change == "first_root":
        first_root = sha256(first_root)
    else:
        second_root = sha256(second_root)

    assert not verify_consistency_path(first, second, first_root, second_root, new_path)


@settings(max_examples=100, deadline=None)
@given(two_sizes())
def test_altered_prefix_breaks_consistency(case: tuple[list[bytes], int]) -> None:
    hashes, first = case
    second = len(hashes)
    changed = [*hashes]
    changed[first - 1] = sha256(changed[first - 1])
    path = consistency_path(first, second, subtree_from_leaves(changed))

    assert not verify_consistency_path(
        first, second, root_of(hashes[:first]), root_of(changed), path
    )
