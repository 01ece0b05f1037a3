"""The audit on Dask (issue 22): the same result as in process, from files never loaded whole, through faults.

The cluster tests start their own ``LocalCluster`` of two worker processes
(one per core of the test machine) and shut it down; they are marked slow.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from cosim_helpers.audit import audit, top_neighbours
from cosim_helpers.audit.distributed import check_factors, local_client
from cosim_helpers.audit.lazy import open_factor

_FIELDS_EXACT = ("queries", "nn_changed", "jaccard", "jaccard_per_query", "pair")
_FIELDS_CLOSE = ("spearman", "pair_cosine", "cosine_spread", "recovery")


def _factors(n=1200, m=3000, k=6, seed=1):
    rng = np.random.default_rng(seed)
    scales = np.geomspace(3.0, 0.3, k)
    return rng.standard_normal((n, k)) * scales, rng.standard_normal((m, k)) * scales


def _assert_same(a, b):
    assert a.sides.keys() == b.sides.keys()
    for name in a.sides:
        x, y = a[name], b[name]
        assert (x.verdict, x.sensitivity, x.explanation) == (y.verdict, y.sensitivity, y.explanation)
        assert x.labels == y.labels
        for f in _FIELDS_EXACT:
            np.testing.assert_array_equal(np.asarray(getattr(x, f)), np.asarray(getattr(y, f)), err_msg=f)
        for f in _FIELDS_CLOSE:
            if getattr(x, f) is None:
                assert getattr(y, f) is None
            else:
                np.testing.assert_allclose(getattr(y, f), getattr(x, f), rtol=1e-12, atol=1e-14, err_msg=f)
    if a.balance is None:
        assert b.balance is None
    else:
        for f in ("imbalance", "penalty", "balanced_penalty", "saved_fraction"):
            np.testing.assert_allclose(getattr(b.balance, f), getattr(a.balance, f), rtol=1e-12, atol=1e-15)
        assert a.balance.balanced == b.balance.balanced
    assert a.consistent == b.consistent or {k: v[0] for k, v in a.consistent.items()} == \
        {k: v[0] for k, v in b.consistent.items()}
    assert a.n_transforms == b.n_transforms and a.rejected == b.rejected


# --- inputs never loaded whole (no cluster) ---------------------------------------------------------------


def test_memmap_and_chunk_directory_give_the_in_memory_audit(tmp_path):
    P, Q = _factors(300, 700)
    np.save(tmp_path / "Q.npy", Q.astype(np.float32))
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, 700, 250)):
        np.save(tmp_path / "parts" / f"part-{i:03d}.npy", Q[start:start + 250].astype(np.float32))
    Q32 = Q.astype(np.float32).astype(np.float64)
    ref = audit(P, Q32, n_queries=50, seed=0)
    for source in (open_factor(tmp_path / "Q.npy", "Q"), open_factor(tmp_path / "parts", "Q")):
        assert source.shape == (700, 6)
        _assert_same(ref, audit(P, source, n_queries=50, seed=0))


def test_a_chunk_of_the_wrong_width_is_named_when_opened(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((5, 4)))
    np.save(tmp_path / "b.npy", np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"Q: chunk .*b\.npy has 3 columns, the chunks before it 4"):
        open_factor(tmp_path, "Q")


def test_a_chunk_with_nan_is_named_in_process(tmp_path):
    bad = np.ones((5, 4))
    bad[2, 1] = np.nan
    np.save(tmp_path / "a.npy", np.ones((5, 4)))
    np.save(tmp_path / "b.npy", bad)
    with pytest.raises(ValueError, match=r"chunk .*b\.npy contains NaN or inf"):
        audit(np.ones((3, 4)), open_factor(tmp_path, "Q"))


def test_rechunking_splits_each_file_afresh(tmp_path):
    np.save(tmp_path / "Q.npy", np.zeros((1000, 3), dtype=np.float32))
    source = open_factor(tmp_path / "Q.npy", "Q").rechunk(300)
    assert [c.stop - c.start for c in source.chunks] == [300, 300, 300, 100]
    # Not 250, 50, 250, 50, ...: the 300-row chunks are joined before they are split again.
    assert [c.stop - c.start for c in source.rechunk(250).chunks] == [250, 250, 250, 250]
    whole = source.rechunk(10**6).chunks
    assert len(whole) == 1 and whole[0].name == str(tmp_path / "Q.npy")
    assert source.rechunk(250).chunks[1].name == f"{tmp_path / 'Q.npy'} rows 250:500"


def test_a_chunk_searched_from_a_floor_merges_to_the_same_candidates():
    # The Dask search's first round gives a floor (the K-th best of a chunk); later chunks start their screen
    # there, with unfilled slots (row -1) below it. Merged with the chunk that gave the floor, the candidates
    # must be exactly those of the same chunk searched without a floor.
    from cosim_helpers.audit.distributed import _merge_top, _search_chunk
    from cosim_helpers.audit.neighbours import _unit

    rng = np.random.default_rng(3)
    E = rng.standard_normal((4000, 5))
    queries = np.sort(rng.choice(4000, 40, replace=False))
    Ms = [np.eye(5), rng.standard_normal((5, 5))]
    Z = np.stack([_unit(E[queries], M, np.float32) for M in Ms])
    Mcat, K = np.concatenate(Ms, axis=1), 12
    first = _search_chunk(E[:3000], 0, Z, Mcat, K, queries)  # a floor from 3,000 rows: a later chunk of
    floor = first[0][:, :, -1].reshape(-1)                    # 1,000 rows fills about 4 of 12 slots above it
    free = _search_chunk(E[3000:], 3000, Z, Mcat, K, queries)
    floored = _search_chunk(E[3000:], 3000, Z, Mcat, K, queries, floor)
    assert (floored[1] == -1).any() and (floored[1] >= 0).any()  # both kinds of slot are exercised
    kept = floored[1] >= 0
    assert np.all(floored[0][~kept] < floor.reshape(floored[0].shape[:2])[..., None].repeat(K, 2)[~kept])
    for t in range(len(Ms)):  # the filled slots: exactly the entries of the free search at or above the floor
        for q in range(len(queries)):
            f = floor[t * len(queries) + q]
            assert set(floored[1][t, q][kept[t, q]]) == set(free[1][t, q][free[0][t, q] >= f])
    a, b = _merge_top([first, free], K), _merge_top([first, floored], K)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert (b[1] >= 0).all()


# --- on a LocalCluster of two worker processes ------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    with local_client(2, memory_limit="600MB") as c:
        yield c


@pytest.mark.slow
def test_dask_path_equals_the_threaded_path(client):
    P, Q = _factors()
    labels = np.arange(Q.shape[0]) % 5
    for objective in ("unknown", "l2"):
        ref = audit(P, Q, objective=objective, labels=labels, n_queries=150, seed=3)
        got = audit(P, Q, objective=objective, labels=labels, n_queries=150, seed=3, client=client)
        _assert_same(ref, got)


@pytest.mark.slow
def test_dask_neighbour_lists_equal_in_process_including_ties(client):
    # Duplicated rows make exact ties: both paths break them towards the smaller row.
    P, Q = _factors(50, 2000, k=4, seed=2)
    Q[1000:1200] = Q[:200]
    rng = np.random.default_rng(0)
    Ms = [np.eye(4), rng.standard_normal((4, 4))]
    queries = np.sort(rng.choice(2000, 120, replace=False))
    F = check_factors(P, Q, client, chunk_rows=300)[1]
    for exact in (False, True):
        i_ref, c_ref = top_neighbours(Q, queries, Ms, top=7, exact=exact)
        i_got, c_got = F.top_neighbours(queries, Ms, top=7, exact=exact)
        np.testing.assert_array_equal(i_got, i_ref)
        np.testing.assert_allclose(c_got, c_ref, rtol=0, atol=1e-15)


@pytest.mark.slow
def test_files_on_dask_equal_the_in_memory_audit(client, tmp_path):
    P, Q = _factors(400, 2500)
    Q = Q.astype(np.float32)
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, 2500, 900)):
        np.save(tmp_path / "parts" / f"part-{i:03d}.npy", Q[start:start + 900])
    ref = audit(P, Q.astype(np.float64), objective="l2", n_queries=100, seed=0)
    _assert_same(ref, audit(P, open_factor(tmp_path / "parts", "Q"), objective="l2", n_queries=100, seed=0,
                            client=client))


@pytest.mark.slow
def test_a_bad_chunk_is_named_on_dask(client, tmp_path):
    bad = np.ones((5, 4))
    bad[2, 1] = np.inf
    np.save(tmp_path / "a.npy", np.ones((5, 4)))
    np.save(tmp_path / "b.npy", bad)
    with pytest.raises(ValueError, match=r"chunk .*b\.npy contains NaN or inf"):
        audit(np.ones((3, 4)), open_factor(tmp_path, "Q"), client=client)
    P, Q = _factors(100, 300)
    Q[250, 0] = np.nan
    with pytest.raises(ValueError, match=r"Q rows 200:300 contain NaN or inf"):
        check_factors(P, Q, client, chunk_rows=100)


def _kill_once(block, flag, block_info=None):
    """Kill this worker process on the second read of the chunk at rows 1000: (after the first pass)."""
    if block_info and block_info[0]["array-location"][0][0] == 1000:
        with open(flag, "a") as handle:
            handle.write("x")
        if os.path.getsize(flag) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    return block


@pytest.mark.slow
def test_a_worker_killed_mid_run_does_not_change_the_result(client, tmp_path):
    import dask.array as da

    P, Q = _factors(600, 3000)
    flag = str(tmp_path / "killed")
    Qd = da.from_array(Q, chunks=(500, Q.shape[1])).map_blocks(_kill_once, flag, dtype=Q.dtype)
    ref = audit(P, Q, n_queries=100, seed=0)
    got = audit(P, Qd, n_queries=100, seed=0, client=client)
    assert os.path.getsize(flag) >= 2  # the worker was killed (the scheduler re-ran its tasks)
    _assert_same(ref, got)


def _pending(dask_scheduler):
    """Tasks the scheduler still means to run."""
    return sum(ts.state in ("waiting", "queued", "processing", "no-worker") for ts in dask_scheduler.tasks.values())


@pytest.mark.slow
def test_ctrl_c_cancels_the_cluster_tasks(client, tmp_path):
    P, Q = _factors(300, 40_000, k=32)  # 40 chunks of about 1 GFLOP each
    for i in range(40):
        np.save(tmp_path / f"part-{i:03d}.npy", Q[i * 1000:(i + 1) * 1000])

    def interrupt(side, done, total):
        raise KeyboardInterrupt  # at the first chunk of the search that finishes

    with pytest.raises(KeyboardInterrupt) as info:
        audit(P, open_factor(tmp_path, "Q"), n_queries=2000, sides=("items",), seed=0, client=client,
              progress=interrupt)
    # info holds the traceback, hence the futures: only a cancellation stops their tasks.
    assert info.value is not None
    for _ in range(5):  # within half a second; the rest of the search would take seconds
        if client.run_on_scheduler(_pending) == 0:
            break
        threading.Event().wait(0.1)
    assert client.run_on_scheduler(_pending) == 0


@pytest.mark.slow
def test_a_memory_mapped_factor_larger_than_the_workers_memory_limit(tmp_path):
    # 384 MB of float32 rows (768 MB as float64), workers limited to 350 MB each (of which an idle worker
    # process uses about 170 MB; dask pauses a worker at 80 % and restarts it at 95 %): only streaming completes.
    rows, k = 3 << 19, 64
    Q = np.lib.format.open_memmap(tmp_path / "Q.npy", mode="w+", dtype=np.float32, shape=(rows, k))
    rng = np.random.default_rng(0)
    for start in range(0, rows, 1 << 16):
        Q[start:start + (1 << 16)] = rng.standard_normal((1 << 16, k), dtype=np.float32)
    Q.flush()
    del Q
    P = rng.standard_normal((500, k))
    source = open_factor(tmp_path / "Q.npy", "Q").rechunk(1 << 14)
    assert (tmp_path / "Q.npy").stat().st_size > 350e6
    with local_client(2, memory_limit="350MB") as small:
        result = audit(P, source, n_queries=10, n_transforms=3, sides=("items",), client=small)
    assert result["items"].n_rows == rows and result["items"].verdict


@pytest.mark.slow
def test_cli_dask_workers_gives_the_in_process_report(tmp_path, capsys):
    from cosim_helpers.audit.cli import main

    P, Q = _factors(300, 1500)
    np.save(tmp_path / "P.npy", P)
    (tmp_path / "Q").mkdir()
    for i, start in enumerate(range(0, 1500, 400)):
        np.save(tmp_path / "Q" / f"part-{i:03d}.npy", Q[start:start + 400])
    np.save(tmp_path / "Q.npy", Q)
    assert main([str(tmp_path / "P.npy"), str(tmp_path / "Q.npy"), "--samples", "80", "--quiet",
                 "--objective", "l2"]) == 0
    ref = capsys.readouterr().out
    assert main([str(tmp_path / "P.npy"), str(tmp_path / "Q"), "--samples", "80", "--quiet", "--objective", "l2",
                 "--dask-workers", "2"]) == 0
    out = capsys.readouterr()
    assert out.out == ref
    assert "LocalCluster of 2 worker processes, dashboard" in out.err
    assert main([str(tmp_path / "P.npy"), str(tmp_path / "Q"), "--dask-workers", "0"]) == 2
    assert capsys.readouterr().err.startswith("cosim-audit: error: --dask-workers must be an integer >= 1")


def test_cli_refuses_whole_factor_options_on_dask(tmp_path, capsys):
    from cosim_helpers.audit.cli import main

    P, Q = _factors(30, 50)
    np.save(tmp_path / "P.npy", P)
    np.save(tmp_path / "Q.npy", Q)
    for extra in (["--rebalance", str(tmp_path / "out.npz"), "--objective", "l2"], ["--runs", str(tmp_path / "Q.npy")]):
        assert main([str(tmp_path / "P.npy"), str(tmp_path / "Q.npy"), "--dask-workers", "2", *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("cosim-audit: error: --rebalance and --runs hold whole factors") and err.count("\n") == 1


@pytest.mark.slow
def test_per_row_weights_on_dask_equal_in_process(client):
    P, Q = _factors(400, 1500)
    rng = np.random.default_rng(5)
    weights = (rng.integers(1, 20, P.shape[0]).astype(float), rng.integers(1, 20, Q.shape[0]).astype(float))
    ref = audit(P, Q, objective="l2", weights=weights, n_queries=80, seed=0)
    _assert_same(ref, audit(P, Q, objective="l2", weights=weights, n_queries=80, seed=0, client=client))


@pytest.mark.parametrize("objective", ["nonneg", "nonneg-l2", "ranking", "ranking-l2"])
def test_objectives_that_need_whole_factors_are_refused_on_dask(objective):
    # Their groups (non-negativity-keeping shears, a common item shift) are searched on whole factors only;
    # on the Dask path they failed deep inside a worker. The check comes before any use of the client.
    rng = np.random.default_rng(0)
    P, Q = np.abs(rng.standard_normal((40, 3))) + 0.1, np.abs(rng.standard_normal((30, 3))) + 0.1
    with pytest.raises(ValueError, match="not supported on the Dask path"):
        audit(P, Q, objective=objective, client=object())
