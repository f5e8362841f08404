"""Near-duplicate texts: the cosine similarity of their sets of character trigrams.

Comparing every text with every other one costs time and memory quadratic in the number of
texts (common trigrams are shared by almost all texts), so candidate pairs are found by prefix
filtering (Bayardo, Ma and Srikant 2007, "Scaling up all pairs similarity search"), most are
dropped by a cheap bound on their shared trigrams, and only the rest are scored, with the same
floating-point operations as the product of the whole matrix would use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

_SLACK = 1e-6  # filters work with a threshold this much lower, so rounding loses no pair
_POSTINGS_PER_BLOCK = 4_000_000  # bound on the candidate pairs made at once
_PAIRS_PER_CHUNK = 1_000_000  # candidate pairs checked at once
_BITSET_BYTES = 64  # the most common trigrams, 8 per byte, are kept as bit sets
_ONES = np.array([bin(byte).count("1") for byte in range(256)], dtype=np.uint8)


def similar_pairs(texts: Sequence[str], threshold: float) -> list[tuple[int, int, float]]:
    """Return pairs (i, j, similarity), i < j, of texts at least `threshold` alike.

    Each later text is paired with its most similar earlier text only (the earliest of
    equally similar ones). The similarity is the cosine of the texts' sets of character
    trigrams; an empty text is like no other.

    Parameters
    ----------
    texts
        Normalised texts (see `nudge.content.validation.normalise_text`).
    threshold
        The least similarity of a pair reported.

    Returns
    -------
    list of tuple of (int, int, float)
        ``(i, j, similarity)`` in increasing ``j``.
    """
    binary = _trigram_matrix(texts)
    if binary is None:
        return []
    if threshold <= 2 * _SLACK:
        return _similar_pairs_all(binary, threshold)
    lower = threshold - _SLACK
    sizes = np.diff(binary.indptr).astype(np.int64)
    bits, rest = _common_trigram_bits(binary)
    unit = _unit_rows(binary)
    best_sim = np.full(len(texts), -np.inf)
    best_i = np.full(len(texts), -1, dtype=np.int64)
    for pair_i, pair_j in _candidate_pairs(_rarest_first(binary), lower):
        for at in range(0, len(pair_i), _PAIRS_PER_CHUNK):
            i = pair_i[at : at + _PAIRS_PER_CHUNK]
            j = pair_j[at : at + _PAIRS_PER_CHUNK]
            # At most this many trigrams shared: the common ones, plus the fewer other ones.
            shared = _ONES[bits[i] & bits[j]].sum(axis=1, dtype=np.int64)
            shared += np.minimum(rest[i], rest[j])
            could = shared >= lower * np.sqrt(sizes[i] * sizes[j])
            i, j, sims = _most_similar_earlier(unit, i[could], j[could], threshold)
            better = (sims > best_sim[j]) | ((sims == best_sim[j]) & (i < best_i[j]))
            best_sim[j[better]] = sims[better]
            best_i[j[better]] = i[better]
    return [(int(best_i[j]), int(j), float(best_sim[j])) for j in np.flatnonzero(best_i >= 0)]


def _trigram_matrix(texts: Sequence[str]) -> sparse.csr_matrix | None:
    """Return the binary text-by-trigram matrix, or None if no text has a trigram."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for r, text in enumerate(texts):
        padded = f" {text} "
        grams = {padded[k : k + 3] for k in range(len(padded) - 2)} if text else set()
        for gram in grams:
            rows.append(r)
            cols.append(vocab.setdefault(gram, len(vocab)))
    if not vocab:
        return None
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocab)))
    matrix.sort_indices()
    return matrix


def _unit_rows(binary: sparse.csr_matrix) -> sparse.csr_matrix:
    """Return `binary` with each non-empty row scaled to length 1."""
    norms = np.sqrt(np.asarray(binary.multiply(binary).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ binary)


def _similar_pairs_all(binary: sparse.csr_matrix, threshold: float) -> list[tuple[int, int, float]]:
    """Return `similar_pairs` by comparing every pair of texts (for a threshold near 0)."""
    unit = _unit_rows(binary)
    sim = sparse.triu(unit @ unit.T, k=1).tocsc()
    sim.sort_indices()
    out = []
    for j in range(sim.shape[1]):
        start, end = sim.indptr[j], sim.indptr[j + 1]
        if start == end:
            continue
        best = start + int(np.argmax(sim.data[start:end]))
        if sim.data[best] >= threshold - 1e-9:
            out.append((int(sim.indices[best]), j, float(sim.data[best])))
    return out


def _rarest_first(binary: sparse.csr_matrix) -> sparse.csr_matrix:
    """Return `binary` with trigrams renumbered by the number of texts holding them.

    The rarest trigram gets column 0; trigrams held equally often keep their order. Each
    row's columns are sorted, so a row lists its trigrams rarest first.
    """
    n_grams = binary.shape[1]
    holders = np.bincount(binary.indices, minlength=n_grams)
    rank = np.empty(n_grams, dtype=np.int64)
    rank[np.argsort(holders, kind="stable")] = np.arange(n_grams)
    ranked = sparse.csr_matrix((binary.data, rank[binary.indices], binary.indptr), binary.shape)
    ranked.sort_indices()
    return ranked


def _prefixes(
    ranked: sparse.csr_matrix, lengths: NDArray[np.int64]
) -> tuple[sparse.csr_matrix, NDArray[np.int64]]:
    """Return the first ``lengths[r]`` trigrams of each row ``r`` of `ranked`, and the last one.

    `ranked` lists each row's trigrams rarest first (see `_rarest_first`); the last trigram
    of an empty prefix is -1.
    """
    sizes = np.diff(ranked.indptr)
    position = np.arange(ranked.nnz) - np.repeat(ranked.indptr[:-1], sizes)
    indices = ranked.indices[position < np.repeat(lengths, sizes)]
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    last = np.full(len(lengths), -1, dtype=np.int64)
    last[lengths > 0] = indices[indptr[1:][lengths > 0] - 1]
    return sparse.csr_matrix((np.ones(len(indices)), indices, indptr), ranked.shape), last


def _candidate_pairs(
    ranked: sparse.csr_matrix, threshold: float
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """Yield index arrays ``(i, j)``, ``i < j``, of every pair that may be `threshold` alike.

    Parameters
    ----------
    ranked
        The binary text-by-trigram matrix, its trigrams numbered rarest first (from
        `_rarest_first`).
    threshold
        The least cosine of a pair, above 0.

    Notes
    -----
    Let texts ``x`` and ``y``, ``|x| <= |y|`` trigrams, share ``c`` trigrams, with cosine
    ``c / sqrt(|x| |y|) >= t``. Then ``c >= t sqrt(|x| |y|) >= t |x|``; as ``c <= |x|``,
    also ``|y| <= |x| / t^2`` and ``c >= t sqrt(|x| |y|) >= t^2 |y|``. So, ``c`` being
    whole, fewer than ``c`` trigrams of ``x`` lie outside its short prefix, its rarest
    ``|x| - ceil(t |x|) + 1`` trigrams: the prefix holds a shared trigram, hence the
    first shared one in the order common to all texts. Likewise for the long prefix of
    ``y``, its rarest ``|y| - ceil(t^2 |y|) + 1`` trigrams: the two prefixes meet.

    Taking texts by increasing size, only such pairs are made (in blocks of rows that make
    at most about ``_POSTINGS_PER_BLOCK`` pairs), and then only those that may share
    enough trigrams. A prefix holds all its text's trigrams up to its last one, so if the
    prefixes share ``o`` trigrams and end at ranks ``r_x`` and ``r_y``, the pair shares
    exactly ``o`` trigrams of rank up to ``min(r_x, r_y)``, and its other shared trigrams
    lie outside the prefix that ends first: ``c <= o + |x| - |short prefix|`` if
    ``r_x <= r_y``, else ``c <= o + |y| - |long prefix|``.

    The caller's threshold is a little below its own, so that rounding, in the cosine or in
    the prefix lengths, can only let more pairs through.
    """
    n = ranked.shape[0]
    sizes = np.diff(ranked.indptr).astype(np.int64)
    order = np.lexsort((np.arange(n), sizes))
    sizes = sizes[order]
    ranked = ranked[order]
    short_length = np.clip(sizes - np.ceil(threshold * sizes) + 1, 0, sizes).astype(np.int64)
    long_length = np.clip(sizes - np.ceil(threshold**2 * sizes) + 1, 0, sizes).astype(np.int64)
    short, short_end = _prefixes(ranked, short_length)
    long, long_end = _prefixes(ranked, long_length)
    reach = np.searchsorted(sizes, sizes / threshold**2, side="right")  # end of |y| <= |x|/t^2
    work = np.cumsum(short @ np.asarray(long.sum(axis=0)).ravel())  # bound on pairs so far
    start = 0
    while start < n:
        done = work[start - 1] if start else 0.0
        stop = np.searchsorted(work, done + _POSTINGS_PER_BLOCK, side="right")
        stop = max(int(stop), start + 1)
        block = (short[start:stop] @ long[start : reach[stop - 1]].T).tocoo()
        x = block.row.astype(np.int64) + start
        y = block.col.astype(np.int64) + start
        keep = (y > x) & (sizes[x] >= threshold**2 * sizes[y])
        x, y, both = x[keep], y[keep], block.data[keep]
        outside = np.where(
            short_end[x] <= long_end[y], sizes[x] - short_length[x], sizes[y] - long_length[y]
        )
        keep = both + outside >= threshold * np.sqrt(sizes[x] * sizes[y])
        i, j = order[x[keep]], order[y[keep]]
        yield np.minimum(i, j), np.maximum(i, j)
        start = stop


def _common_trigram_bits(
    binary: sparse.csr_matrix,
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Return each text's most common trigrams as a bit set, and its number of other ones.

    The bit sets of two texts, ANDed, count the common trigrams they share, so that, with
    the fewer of their other trigrams added, a pair's shared trigrams are bounded cheaply.
    """
    n_texts, n_grams = binary.shape
    sizes = np.diff(binary.indptr)
    holders = np.bincount(binary.indices, minlength=n_grams)
    common = np.argsort(-holders, kind="stable")[: 8 * _BITSET_BYTES]
    bit = np.full(n_grams, -1, dtype=np.int64)
    bit[common] = np.arange(len(common))
    rows = np.repeat(np.arange(n_texts), sizes)
    bits_of = bit[binary.indices]
    held = bits_of >= 0
    rows, bits_of = rows[held], bits_of[held]
    bits = np.zeros((n_texts, (len(common) + 7) // 8), dtype=np.uint8)
    np.bitwise_or.at(bits, (rows, bits_of // 8), np.left_shift(1, bits_of % 8).astype(np.uint8))
    return bits, sizes - np.bincount(rows, minlength=n_texts)


def _most_similar_earlier(
    unit: sparse.csr_matrix, i: NDArray[np.int64], j: NDArray[np.int64], threshold: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Return ``(i, j, similarity)`` arrays: of the pairs ``(i, j)``, each ``j``'s best ``i``.

    Only pairs at least `threshold` alike count; of equally similar ones the smallest ``i``
    wins. The cosine is summed term by term as the sparse product ``unit @ unit.T`` would sum
    it, so the similarities, and which of nearly equal ones wins, are the same.
    """
    products = sparse.csr_matrix(unit[i].multiply(unit[j]))
    sims = products @ np.ones(unit.shape[1])
    alike = sims >= threshold - 1e-9
    i, j, sims = i[alike], j[alike], sims[alike]
    order = np.lexsort((i, -sims, j))
    i, j, sims = i[order], j[order], sims[order]
    first = np.ones(len(j), dtype=bool)
    first[1:] = j[1:] != j[:-1]
    return i[first], j[first], sims[first]
