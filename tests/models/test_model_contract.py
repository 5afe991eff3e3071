"""Contract suite over EVERY registered model and net (new registrations are covered as-is).

Models: sklearn contract (fit returns self, predict/predict_proba/classes_, get_params/clone),
``input_level``, package round trip. Nets: output shape, padding invariance, tiny overfit.
Small sizes come from each class's ``test_params()``; a class may set ``test_input_dim``
(feature dimension to test with, default 12) and nets ``min_frames``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from serkit.models import get_model, get_model_class, list_models, model_test_params
from serkit.models.nets import build_net, get_net, list_nets, net_test_params
from serkit.models.package import load_model, save_model
from serkit.models.training import seed_everything

from ._synth import frames, utterances

DEFAULT_DIM = 12


def _dim(cls: type, params: dict) -> int:
    dim = getattr(cls, "test_input_dim", None)
    if dim is None and "net" in params or hasattr(cls, "build_module"):
        net = params.get("net") or cls().get_params().get("net")
        dim = getattr(get_net(net), "test_input_dim", None) if net else None
    return int(dim or DEFAULT_DIM)


def _data(name: str):
    cls = get_model_class(name)
    params = model_test_params(name)
    if cls.input_level == "frame":
        X, y, groups = frames(n=24, dim=_dim(cls, params), min_frames=20, max_frames=40)
    else:
        X, y, groups = utterances(n=36)
    return params, X, y, groups


@pytest.fixture(scope="module")
def fitted():
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            params, X, y, groups = _data(name)
            model = get_model(
                name,
                **params,
                **({"device": "cpu"} if "device" in get_model(name).get_params() else {}),
            )
            returned = model.fit(X, y, groups)
            cache[name] = (model, returned, X, y)
        return cache[name]

    return get


@pytest.mark.parametrize("name", list_models())
def test_model_fit_predict_contract(name, fitted):
    model, returned, X, y = fitted(name)
    assert returned is model
    assert model.input_level in ("utterance", "frame")
    assert sorted(model.classes_.tolist()) == sorted(set(y.tolist()))
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), len(model.classes_))
    assert np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    pred = model.predict(X)
    assert pred.shape == (len(y),) and set(pred.tolist()) <= set(model.classes_.tolist())


@pytest.mark.parametrize("name", list_models())
def test_model_params_and_clone(name):
    params = model_test_params(name)
    model = get_model(name, **params)
    got = model.get_params(deep=False)
    for key, value in params.items():
        assert got[key] == value, key
    twin = clone(model)
    assert twin.get_params(deep=False).keys() == got.keys()
    assert not hasattr(twin, "classes_")
    assert twin.set_params(**{k: got[k] for k in got}) is twin


@pytest.mark.parametrize("name", list_models())
def test_model_package_round_trip(name, fitted, tmp_path):
    model, _, X, _ = fitted(name)
    folder = save_model(model, tmp_path / "pkg", extra={"note": name})
    loaded, meta = load_model(folder)
    assert meta["name"] == name and meta["extra"] == {"note": name}
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert meta["input"]["level"] == model.input_level
    dim = X.shape[1] if model.input_level == "utterance" else X[0].shape[1]
    assert meta["input"]["dim"] == dim
    assert set(meta["checksums"]) == set(meta["weights"])


@pytest.mark.parametrize("name", list_models())
def test_model_package_holds_no_pickle(name, fitted, tmp_path):
    """Every file of every model's package loads without running code: no pickle (by name or
    by content, zip members included), torch files with ``weights_only=True``, skops files
    with serkit's trusted types only."""
    import io
    import zipfile

    from serkit.models.classic import load_pipeline
    from serkit.models.package import SAFE_SUFFIXES

    model, _, _, _ = fitted(name)
    folder = save_model(model, tmp_path / "pkg")
    files = sorted(folder.iterdir())
    assert [p.name for p in files if p.name != "model.json"] == load_model(folder)[1]["weights"]
    for path in files:
        data = path.read_bytes()
        assert path.suffix in SAFE_SUFFIXES and data[:1] != b"\x80", path.name
        if path.suffix == ".pt":
            torch.load(io.BytesIO(data), weights_only=True)
        elif path.suffix == ".skops":
            load_pipeline(path)
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    assert archive.read(member)[:1] != b"\x80", (path.name, member)


# ------------------------------------------------------------------------------- nets


def _net(name: str, classes: int):
    cls = get_net(name)
    dim = int(getattr(cls, "test_input_dim", DEFAULT_DIM))
    seed_everything(0)
    return (
        build_net(name, dim, classes, **net_test_params(name)),
        dim,
        int(getattr(cls, "min_frames", 1)),
    )


def _batch(n: int, dim: int, low: int, high: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(low, high + 1, (n,), generator=gen)
    x = torch.randn(n, int(lengths.max()), dim, generator=gen)
    x *= (torch.arange(x.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)
    return x, lengths


@pytest.mark.parametrize("name", list_nets())
def test_net_shape_and_padding_invariance(name):
    net, dim, min_frames = _net(name, classes=4)
    low = max(min_frames, 16)
    x, lengths = _batch(5, dim, low, low + 20)
    net.eval()
    with torch.no_grad():
        logits = net(x, lengths)
        assert logits.shape == (5, 4) and torch.isfinite(logits).all()
        for i in range(5):
            alone = net(x[i : i + 1, : lengths[i]], lengths[i : i + 1])
            torch.testing.assert_close(alone[0], logits[i], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", list_nets())
def test_net_tiny_overfit(name):
    classes = 8
    net, dim, min_frames = _net(name, classes=classes)
    low = max(min_frames, 16)
    x, lengths = _batch(classes, dim, low, low + 8, seed=1)
    y = torch.arange(classes)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    accuracy = 0.0
    for step in range(400):
        net.train()
        loss = torch.nn.functional.cross_entropy(net(x, lengths), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 20 == 19:
            net.eval()
            with torch.no_grad():
                accuracy = (net(x, lengths).argmax(1) == y).float().mean().item()
            if accuracy == 1.0:
                break
    assert accuracy == 1.0, f"{name}: train accuracy {accuracy:.2f} after {step + 1} steps"
