"""The CCA of `molap.primitives` against scikit-learn's (an independent, iterative implementation), on the pooled
task corpus and on a synthetic problem with known canonical correlations; whiteness, determinism, shapes, errors."""
import numpy as np
import pytest
import torch
from sklearn.cross_decomposition import CCA as SkCCA

from molap.tasks import TaskConfig, make_batch, TASK_NAMES
from molap.primitives import (cca, corpus_samples, latent_primitives, split_dimensions, lagged, feature_names,
                              CCA)


def sklearn_corrs(X, Y, r):
    "Canonical correlations from scikit-learn's NIPALS CCA: corr of each pair of its scores."
    sk = SkCCA(n_components=r, scale=False, max_iter=20_000, tol=1e-12).fit(X.numpy(), Y.numpy())
    u, v = sk.transform(X.numpy(), Y.numpy())
    return np.array([abs(np.corrcoef(u[:, i], v[:, i])[0, 1]) for i in range(r)])


def synthetic(n=50_000, rho=(0.9, 0.6, 0.3), seed=0):
    "X [n, 5], Y [n, 4] sharing three latent signals with canonical correlations exactly `rho` (in expectation)."
    g = torch.Generator().manual_seed(seed)
    rho = torch.tensor(rho, dtype=torch.float64)
    z = torch.randn(n, len(rho), generator=g, dtype=torch.float64)
    s = (1 / rho - 1).sqrt()
    noise = lambda k: torch.randn(n, k, generator=g, dtype=torch.float64)
    x = torch.cat([z + s * noise(len(rho)), noise(2)], 1) @ torch.randn(5, 5, generator=g, dtype=torch.float64)
    y = torch.cat([z + s * noise(len(rho)), noise(1)], 1) @ torch.randn(4, 4, generator=g, dtype=torch.float64)
    return x + 2., y - 3., rho


@pytest.fixture(scope="module")
def pooled():
    return corpus_samples(64, seed=0)


def test_matches_sklearn_on_corpus(pooled):
    X, Y = pooled
    ours = cca(X, Y).corrs.numpy()
    np.testing.assert_allclose(ours, sklearn_corrs(X, Y, 3), atol=1e-3)


def test_matches_sklearn_and_truth_on_synthetic():
    X, Y, rho = synthetic()
    ours = cca(X, Y, r=3).corrs
    np.testing.assert_allclose(ours.numpy(), sklearn_corrs(X, Y, 3), atol=1e-3)
    np.testing.assert_allclose(ours.numpy(), rho.numpy(), atol=0.01)
    # the fourth pair shares nothing
    assert cca(X, Y).corrs[3] < 0.02


def test_variates_are_white_and_pairwise_correlated(pooled):
    X, Y = pooled
    c = cca(X, Y)
    U, V = c.transform_x(X), c.transform_y(Y)
    C = torch.cov(torch.cat([U, V], 1).T)
    I = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(C[:3, :3], I, atol=1e-5, rtol=0)
    torch.testing.assert_close(C[3:, 3:], I, atol=1e-5, rtol=0)
    torch.testing.assert_close(C[:3, 3:], torch.diag(c.corrs), atol=1e-5, rtol=0)
    assert (c.corrs[:-1] >= c.corrs[1:]).all()
    assert (c.B.abs().argmax(0) == c.B.argmax(0)).all(), "sign convention: largest |loading| of B positive"


def test_invariant_to_affine_changes_of_variables():
    X, Y, _ = synthetic(n=20_000)
    M = torch.randn(5, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    # (with the whitening's regularisation switched almost off: it is relative to the largest variance)
    torch.testing.assert_close(cca(X @ M - 7., 3 * Y, eps=1e-15).corrs, cca(X, Y, eps=1e-15).corrs, atol=1e-9, rtol=0)


def test_deterministic_for_a_seed():
    state = torch.random.get_rng_state()
    a, b = latent_primitives(16, seed=4), latent_primitives(16, seed=4)
    assert torch.equal(a.A, b.A) and torch.equal(a.B, b.B) and torch.equal(a.corrs, b.corrs)
    assert torch.equal(state, torch.random.get_rng_state()), "must not touch torch's global RNG"
    assert not torch.equal(latent_primitives(16, seed=5).A, a.A)


def test_lags_and_channels_change_shapes():
    X0, Y0 = corpus_samples(8, seed=0)
    X3, Y3 = corpus_samples(8, seed=0, lags=3)
    assert X0.shape[1] == 5 and X3.shape[1] == 20 and X3.shape[0] == X0.shape[0]
    torch.testing.assert_close(X3[:, :5], X0)  # the undelayed copy comes first
    assert torch.equal(Y3, Y0)
    assert corpus_samples(8, seed=0, channels=(0, 3, 4))[0].shape[1] == 3
    c = latent_primitives(8, seed=0, lags=3)
    assert c.A.shape == (20, 3) and c.lags == 3
    assert len(feature_names(channels=c.channels, lags=3)) == 20
    U, V = c.project(make_batch("MemPro", 5, seed=1))
    assert U.shape[1:] == (5, 3) and V.shape == U.shape and U.dtype == torch.float32


def test_lagged_is_causal():
    x = torch.randn(10, 2, 3)
    z = lagged(x, 4)
    assert torch.equal(z[:, :, :3], x)
    assert torch.equal(z[4:, :, 12:], x[:-4]) and (z[:4, :, 12:] == 0).all()


def test_project_matches_pooled_samples():
    c = latent_primitives(16, seed=0)
    b = make_batch("ContextMemDm2", 6, seed=2)
    U, V = c.project(b)
    keep = b.mask[:, :, 1] > 0
    torch.testing.assert_close(U[keep].double(), c.transform_x(b.inputs[keep]), atol=1e-5, rtol=0)
    torch.testing.assert_close(V[keep].double(), c.transform_y(b.targets[keep]), atol=1e-5, rtol=0)


def test_held_out_tasks_leave_others_unchanged():
    X_one, _ = corpus_samples(8, seed=1, tasks=("MultiMem",))
    X_all, _ = corpus_samples(8, seed=1)
    assert torch.equal(X_all[-len(X_one):], X_one)


def test_errors_say_what_is_allowed(pooled):
    X, Y = pooled
    with pytest.raises(ValueError, match=r"1\.\.min\(p, q\) = 3"): cca(X, Y, r=4)
    with pytest.raises(ValueError, match="1..min"): cca(X, Y, r=0)
    with pytest.raises(ValueError, match="same number of samples"): cca(X, Y[:-1])
    with pytest.raises(ValueError, match="more samples than p \\+ q = 8"): cca(X[:8], Y[:8])
    with pytest.raises(ValueError, match="2-d"): cca(X[:, 0], Y)
    with pytest.raises(ValueError, match="positive integer"): corpus_samples(0)
    with pytest.raises(ValueError, match="non-negative integer"): corpus_samples(4, lags=-1)
    with pytest.raises(ValueError, match="0..4"): corpus_samples(4, channels=(5,))
    with pytest.raises(ValueError, match="the corpus has"): corpus_samples(4, tasks=("Nope",))
    with pytest.raises(ValueError, match="n_modules <= 2"): split_dimensions(2, 3)
    with pytest.raises(ValueError, match="5 features"): cca(X, Y).transform_x(X[:, :4])


@pytest.mark.parametrize("r,n,sizes", [(3, 3, [1, 1, 1]), (8, 3, [3, 3, 2]), (7, 3, [3, 2, 2]), (4, 1, [4])])
def test_split_dimensions(r, n, sizes):
    s = split_dimensions(r, n)
    assert [x.stop - x.start for x in s] == sizes
    assert s[0].start == 0 and s[-1].stop == r and all(a.stop == b.start for a, b in zip(s, s[1:]))


def test_rule_inputs_are_left_out_by_default():
    cfg = TaskConfig(rule_inputs=True)
    c = latent_primitives(8, seed=0, config=cfg)
    assert c.channels == (0, 1, 2, 3, 4) and c.A.shape == (5, 3)
    # the same fixation primitive (the noise differs: it is drawn for the rule channels too)
    assert abs(float(c.corrs[0] - latent_primitives(8, seed=0).corrs[0])) < 1e-2
    U, _ = c.project(make_batch("MemAnti", 3, seed=0, config=cfg))
    assert U.shape[1:] == (3, 3)
