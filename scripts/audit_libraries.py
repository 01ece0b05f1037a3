"""Train the seven library models of chapter 9 ("Auditing the libraries you use") and store their audit.

Each function trains one model of a library practitioners use on the
positive-PMI matrix of the shipped WordNet counts
(:func:`cosim_helpers.real_data.load_wordnet_glosses`, contexts x nouns:
users are contexts, items are nouns), deterministically (one thread, fixed
seeds), and returns its factors with the objective declared from the
library's documentation and source (the ``source`` field cites the line, for
the versions pinned in ``requirements.txt``) and what theory predicts.
:func:`library_table` audits them; ``python -m cosim_helpers.audit.libraries``
writes the table that chapter 9 reads (``cosim_helpers/audit/_library_results.json``),
so the chapter and Binder need none of these libraries: they belong to the
development set (``requirements.txt``), not to Binder's light set.

Usage: ``python scripts/audit_libraries.py`` (about a minute on one core).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import NamedTuple

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from cosim_helpers.audit import audit
from cosim_helpers.audit.libraries import RESULTS, agrees
from cosim_helpers.similarity import cosine_similarity

#: Rank of every model (ours: small enough that all seven train in about a minute).
K = 32


class LibraryModel(NamedTuple):
    """One trained model: its factors, the declared objective and theory's prediction."""

    name: str
    library: str
    P: np.ndarray
    Q: np.ndarray
    objective: str
    weights: tuple | None
    exclude_constant: bool
    theory: str  # "pinned" (the objective picks the gauge) or "free"
    source: str


def real_ppmi():
    """The positive-PMI matrix (contexts x nouns) of the shipped WordNet counts, and the noun categories."""
    from cosim_helpers.real_data import load_wordnet_glosses, ppmi

    data = load_wordnet_glosses()
    return sp.csr_matrix(ppmi(data.X)), data


def implicit_als(M, k=K, iterations=15, seed=0):
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(factors=k, regularization=0.1, iterations=iterations, random_state=seed,
                                    num_threads=1, calculate_training_loss=False)
    model.fit(M, show_progress=False)
    return LibraryModel(f"ALS, {iterations} iterations", "implicit", np.asarray(model.user_factors, float),
                        np.asarray(model.item_factors, float), "l2", None, False, "pinned",
                        "implicit/cpu/als.py: A = YtY + regularization * np.eye(n_factors) (plain L2 on both)")


def implicit_bpr(M, k=K, iterations=100, seed=0, regularization=0.01):
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    binary = (M > 0).astype(np.float32).tocsr()
    # regularization = 0.01 is implicit's default, spelled out: the per-sample L2 is part of the objective.
    model = BayesianPersonalizedRanking(factors=k, iterations=iterations, random_state=seed, num_threads=1,
                                        regularization=regularization)
    model.fit(binary, show_progress=False)
    # Each SGD sample (u, i, j) draws the liked pair (u, i) uniformly from the non-zeros and the negative j
    # from the item ids of the non-zeros (popularity-weighted), and decays p_u, q_i and q_j by reg: in
    # expectation the count-weighted L2 with weights n_u (users) and 2 n_i (items), up to the skipped samples.
    n_u = np.asarray(binary.sum(axis=1), float).ravel()
    n_i = np.asarray(binary.sum(axis=0), float).ravel()
    return LibraryModel("BPR", "implicit", np.asarray(model.user_factors, float),
                        np.asarray(model.item_factors, float), "ranking-l2", (n_u, 2.0 * n_i), True, "pinned",
                        "implicit/cpu/bpr.pyx: pairwise log-sigmoid; per sample user[j] += lr * (... - reg * "
                        "user[j]) on the liked and the (popularity-sampled) disliked item too, regularization="
                        "0.01 by default: count-weighted L2; a user column of ones for the item bias")


def _stable_hash(text):
    return int(hashlib.md5(text.encode()).hexdigest()[:8], 16)


def sentences(M, data, seed=0):
    """One sentence per context: the context word and the nouns it co-occurs with, in a seeded order."""
    rng = np.random.default_rng(seed)
    out = []
    for c in range(M.shape[0]):
        nouns = [data.targets[j] for j in M.indices[M.indptr[c]:M.indptr[c + 1]]]
        if nouns:
            out.append([f"ctx_{data.contexts[c]}"] + [nouns[i] for i in rng.permutation(len(nouns))])
    return out


def gensim_word2vec(M, data, k=K, seed=0, epochs=5):
    from gensim.models import Word2Vec

    model = Word2Vec(sentences(M, data), vector_size=k, window=5, sg=1, negative=5, min_count=1, workers=1,
                     seed=seed, epochs=epochs, hashfxn=_stable_hash)
    rows = [model.wv.key_to_index[t] for t in data.targets]
    return LibraryModel("Word2Vec SGNS", "gensim", np.asarray(model.syn1neg, float),
                        np.asarray(model.wv.vectors[rows], float), "scores", None, False, "free",
                        "gensim/models/word2vec.py: no regulariser; the loss sees input . output vectors only")


def sklearn_svd(M, k=K, seed=0):
    from sklearn.decomposition import TruncatedSVD

    svd = TruncatedSVD(n_components=k, random_state=seed)
    P = svd.fit_transform(M)
    return LibraryModel("TruncatedSVD", "scikit-learn", np.asarray(P, float), svd.components_.T.astype(float),
                        "scores", None, False, "free", "best rank-k approximation, no penalty")


def sklearn_nmf(M, k=K, seed=0, alpha=0.0, max_iter=800):
    from sklearn.decomposition import NMF

    nmf = NMF(n_components=k, init="nndsvda", alpha_W=alpha, alpha_H="same", l1_ratio=0.0, max_iter=max_iter,
              random_state=seed, tol=1e-6)
    W = nmf.fit_transform(M)
    n_samples, n_features = M.shape
    if alpha == 0:
        return LibraryModel("NMF, alpha = 0", "scikit-learn", W.astype(float), nmf.components_.T.astype(float),
                            "nonneg", None, False, "free", "non-negative, no penalty")
    return LibraryModel(f"NMF + L2, {max_iter} iterations", "scikit-learn", W.astype(float),
                        nmf.components_.T.astype(float), "nonneg-l2", (float(n_features), float(n_samples)),
                        False, "pinned",
                        "sklearn/decomposition/_nmf.py: l2_reg_W = n_features * alpha_W, l2_reg_H = n_samples * alpha_H")


def surprise_svd(M, k=K, seed=0, epochs=300):
    import pandas as pd
    from surprise import SVD, Dataset, Reader

    C = M.tocoo()
    frame = pd.DataFrame({"u": C.row, "i": C.col, "r": C.data})
    reader = Reader(rating_scale=(float(C.data.min()), float(C.data.max())))
    train = Dataset.load_from_df(frame[["u", "i", "r"]], reader).build_full_trainset()
    algo = SVD(n_factors=k, n_epochs=epochs, random_state=seed, lr_all=0.005, reg_all=0.02)
    algo.fit(train)
    n_u = np.array([len(train.ur[u]) for u in range(train.n_users)], float)
    n_i = np.array([len(train.ir[i]) for i in range(train.n_items)], float)
    return LibraryModel(f"SVD, {epochs} epochs", "scikit-surprise", np.asarray(algo.pu, float),
                        np.asarray(algo.qi, float), "l2", (n_u, n_i), False, "pinned",
                        "surprise/prediction_algorithms/matrix_factorization.pyx: pu += lr * (err * qi - reg * pu) "
                        "per rating, i.e. count-weighted L2")


def train_all(seed=0):
    """The seven models of chapter 9's table, in its order."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    M, data = real_ppmi()
    return [implicit_als(M, seed=seed), implicit_bpr(M, seed=seed), gensim_word2vec(M, data, seed=seed),
            sklearn_svd(M, seed=seed), sklearn_nmf(M, seed=seed), sklearn_nmf(M, seed=seed, alpha=1e-4),
            surprise_svd(M, seed=seed)], data


def numerical_saving(P, Q, objective, weights):
    """Independent check of the tool's penalty saving: minimise the declared penalty over its group with scipy.

    ``l2``: over all invertible G (L-BFGS on the k x k entries, from G = I);
    ``ranking-l2``: over G and the common item shift z; ``nonneg-l2``: over
    positive diagonal D (log d). Returns ``1 - min / penalty`` (0 for others).
    """
    w, v = (1.0, 1.0) if weights is None else weights
    w = np.broadcast_to(np.asarray(w, float), (P.shape[0],))
    v = np.broadcast_to(np.asarray(v, float), (Q.shape[0],))
    CP, CQ = (P * w[:, None]).T @ P, (Q * v[:, None]).T @ Q
    m, total_v = Q.T @ v, float(np.sum(v))
    k = P.shape[1]
    penalty = float(np.trace(CP) + np.trace(CQ))
    if objective == "nonneg-l2":
        a, b = np.diag(CP), np.diag(CQ)
        res = scipy.optimize.minimize(lambda x: float(np.sum(a * np.exp(2 * x) + b * np.exp(-2 * x))),
                                      np.zeros(k), jac=lambda x: 2 * a * np.exp(2 * x) - 2 * b * np.exp(-2 * x),
                                      method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000})
        return 1.0 - res.fun / penalty
    if objective not in ("l2", "ranking-l2"):
        return 0.0
    shift = objective == "ranking-l2"

    def f(x):
        G = x[:k * k].reshape(k, k)
        H = np.linalg.inv(G)
        z = x[k * k:] if shift else np.zeros(k)
        val = np.trace(G.T @ CP @ G) + np.trace(H @ CQ @ H.T) + 2 * z @ H @ m + total_v * z @ z
        gG = 2 * CP @ G - 2 * H.T @ H @ CQ @ H.T - 2 * H.T @ np.outer(z, m) @ H.T
        grad = gG.ravel() if not shift else np.concatenate([gG.ravel(), 2 * H @ m + 2 * total_v * z])
        return val, grad

    x0 = np.concatenate([np.eye(k).ravel(), np.zeros(k if shift else 0)])
    res = scipy.optimize.minimize(f, x0, jac=True, method="L-BFGS-B",
                                  options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20000, "maxcor": 50})
    return 1.0 - res.fun / penalty


def library_table(models, labels, **settings):
    """Audit each model with its declared objective; one row per model."""
    rows = []
    for m in models:
        r = audit(m.P, m.Q, objective=m.objective, weights=m.weights, labels=labels, sides=("items",),
                  exclude_constant=m.exclude_constant, **settings)
        P, Q = m.P, m.Q
        if m.exclude_constant:
            keep = [j for j in range(P.shape[1]) if np.ptp(P[:, j]) > 0 and np.ptp(Q[:, j]) > 0]
            P, Q = P[:, keep], Q[:, keep]
        numerical = numerical_saving(P, Q, m.objective, m.weights) if r.balance is not None else None
        undeclared = audit(m.P, m.Q, labels=labels, sides=("items",), exclude_constant=m.exclude_constant,
                           **settings)
        rows.append({"model": m.name, "library": m.library, "objective": m.objective, "theory": m.theory,
                     "verdict": r["items"].verdict, "undeclared": undeclared["items"].verdict,
                     "saved": None if r.balance is None or m.objective == "unit-norm" else
                     round(r.balance.saved_fraction, 4),
                     "saved_scipy": None if numerical is None else round(numerical, 4),
                     "agrees": agrees(m.theory, r["items"].verdict), "source": m.source})
    return rows


def _nn_agree(E, F):
    def nearest(M):
        C = cosine_similarity(M)
        np.fill_diagonal(C, -np.inf)
        return C.argmax(axis=1)
    return float(np.mean(nearest(E) == nearest(F)))


def longer_als(M, short, labels, iterations=150):
    """Independent evidence for ALS: do 150 iterations land on the cosines of the rebalanced 15-iteration factors?

    Rebalancing keeps the 15-iteration scores; longer training also changes
    them, so the rebalanced cosines are not expected to match exactly.
    """
    long = implicit_als(M, iterations=iterations)
    r = audit(short.P, short.Q, objective="l2", sides=("items",), n_queries=10, n_transforms=3, rank_sample=10)
    T = r.balance.transform
    Q_reb = short.Q @ T.M_Q
    C_long = cosine_similarity(long.Q)
    r_long = audit(long.P, long.Q, objective="l2", sides=("items",), n_queries=10, n_transforms=3, rank_sample=10)
    out = {"iterations": iterations, "long_saved": round(r_long.balance.saved_fraction, 4)}
    for name, Q in (("given_15", short.Q), ("rebalanced_15", Q_reb)):
        out[name] = {"max_cosine_difference_to_long": round(float(np.abs(cosine_similarity(Q) - C_long).max()), 3),
                     "mean_cosine_difference_to_long": round(float(np.abs(cosine_similarity(Q) - C_long).mean()), 3),
                     "nearest_neighbour_agreement_with_long": round(_nn_agree(Q, long.Q), 3)}
    S_short, S_long = short.P @ short.Q.T, long.P @ long.Q.T
    out["score_change_15_to_150"] = round(float(np.linalg.norm(S_long - S_short) / np.linalg.norm(S_long)), 3)
    return out


def main():
    models, data = train_all()
    settings = {"n_queries": 300, "n_transforms": 12, "rank_sample": 300, "seed": 0}
    rows = library_table(models, data.labels, **settings)
    # Seed agreement: a second Word2Vec run from another seed (the freedom SGD resolves per start).
    from cosim_helpers.audit.seeds import seed_agreement

    M, _ = real_ppmi()
    other = gensim_word2vec(M, data, seed=1)
    word2vec = next(m for m in models if m.library == "gensim")
    agreement = round(seed_agreement([word2vec.Q, other.Q], top=10, n_queries=1000), 3)
    # Which part of the seed disagreement is the gauge? Compare the two seeds' scores too.
    S0, S1 = word2vec.P @ word2vec.Q.T, other.P @ other.Q.T
    score_change = round(float(np.linalg.norm(S0 - S1) / np.linalg.norm(S0)), 3)
    als = longer_als(M, models[0], data.labels)
    from importlib.metadata import version

    versions = {lib: version(lib) for lib in ("implicit", "gensim", "scikit-learn", "scikit-surprise")}
    RESULTS.write_text(json.dumps({"k": K, "settings": settings, "versions": versions, "rows": rows,
                                      "word2vec_seed_agreement_top10": agreement,
                                      "word2vec_seed_score_change": score_change, "als_longer": als}, indent=1)
                       + "\n")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
