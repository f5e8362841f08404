"""Near-duplicate search: prefix filtering finds exactly the pairs the full product finds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from nudge.content import _similar


def _similar_pairs_reference(texts: list[str], threshold: float) -> list[tuple[int, int, float]]:
    """Return what `similar_pairs` returned before prefix filtering (the full product)."""
    import numpy as np
    from scipy import sparse

    vocab: dict[str, int] = {}
    rows, cols = [], []
    for r, text in enumerate(texts):
        padded = f" {text} "
        grams = {padded[k : k + 3] for k in range(len(padded) - 2)} if text else set()
        for gram in grams:
            rows.append(r)
            cols.append(vocab.setdefault(gram, len(vocab)))
    if not vocab:
        return []
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocab)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    matrix = sparse.diags(1.0 / norms) @ matrix
    sim = sparse.triu(matrix @ matrix.T, k=1).tocsc()
    out = []
    for j in range(sim.shape[1]):
        start, end = sim.indptr[j], sim.indptr[j + 1]
        if start == end:
            continue
        best = start + int(np.argmax(sim.data[start:end]))
        if sim.data[best] >= threshold - 1e-9:
            out.append((int(sim.indices[best]), j, float(sim.data[best])))
    return out


def _kazakh_like_texts(seed: int, n: int) -> list[str]:
    """Return `n` texts from a few words, many of them near or exact copies of earlier ones."""
    import numpy as np

    rng = np.random.default_rng(seed)
    words = ["ата", "ана", "бала", "ел", "жер", "еңбек", "ырыс", "нан", "су", "өнер", "білім"]
    letters = "аәбгғдежзийкқлмнңоөпрстуұүфхһцчшщыіэюя"
    texts: list[str] = []
    for _ in range(n):
        roll = rng.random()
        if texts and roll < 0.1:
            texts.append(texts[rng.integers(len(texts))])  # exact copy
        elif texts and roll < 0.5:
            chars = list(texts[rng.integers(len(texts))])  # a copy with a few letters changed
            for _ in range(rng.integers(1, 4)):
                at = int(rng.integers(len(chars) + 1))
                edit = rng.integers(3)
                if edit == 0 and at < len(chars):
                    del chars[at]
                elif edit == 1 and at < len(chars):
                    chars[at] = letters[rng.integers(len(letters))]
                else:
                    chars.insert(at, letters[rng.integers(len(letters))])
            texts.append(" ".join("".join(chars).split()))
        elif roll < 0.55:
            texts.append(["", "а", "ел"][rng.integers(3)])  # empty or without a whole trigram
        else:
            texts.append(" ".join(rng.choice(words, size=rng.integers(2, 9))))
    return texts


def _assert_same_pairs(texts: list[str], threshold: float) -> None:
    expected = _similar_pairs_reference(texts, threshold)
    found = _similar.similar_pairs(texts, threshold)
    assert [(i, j) for i, j, _ in found] == [(i, j) for i, j, _ in expected]
    assert [s for *_, s in found] == pytest.approx([s for *_, s in expected], abs=1e-9)


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8, 0.85, 0.9, 0.95, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_similar_pairs_match_the_full_comparison(seed: int, threshold: float) -> None:
    _assert_same_pairs(_kazakh_like_texts(seed, 600), threshold)


@pytest.mark.parametrize("threshold", [0.5, 0.85, 1.0])
def test_similar_pairs_match_in_small_blocks_and_bit_sets(
    monkeypatch: pytest.MonkeyPatch, threshold: float
) -> None:
    monkeypatch.setattr(_similar, "_POSTINGS_PER_BLOCK", 50)
    monkeypatch.setattr(_similar, "_PAIRS_PER_CHUNK", 7)
    monkeypatch.setattr(_similar, "_BITSET_BYTES", 1)  # most trigrams outside the bit sets
    _assert_same_pairs(_kazakh_like_texts(3, 300), threshold)


@pytest.mark.parametrize(
    "texts",
    [[], [""], ["", ""], ["а", "а"], ["ата", "ата", "", "ата"], ["ата ана", "ана ата", "ата ана"]],
)
@pytest.mark.parametrize("threshold", [0.0, 0.5, 1.0])
def test_similar_pairs_of_short_and_empty_texts(texts: list[str], threshold: float) -> None:
    _assert_same_pairs(texts, threshold)


def test_similar_pairs_pick_the_earliest_of_equally_similar_texts() -> None:
    texts = ["ата ана бала", "жер су", "ата ана бала", "ата ана бала"]
    assert [(i, j) for i, j, _ in _similar.similar_pairs(texts, 0.85)] == [(0, 2), (0, 3)]


@given(
    texts=st.lists(st.text(alphabet="аәбн ", max_size=12), max_size=25),
    threshold=st.floats(min_value=0.05, max_value=1.0),
)
@hyp_settings(max_examples=150, deadline=None)
def test_similar_pairs_match_the_full_comparison_on_any_texts(
    texts: list[str], threshold: float
) -> None:
    _assert_same_pairs(texts, threshold)
