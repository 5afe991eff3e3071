"""Fixtures of the server tests (skipped where the ``serve`` extra is not installed)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn) is not installed")

from ._server import LiveServer, train_model  # noqa: E402


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A small trained model package (see ``_server.train_model``)."""
    return train_model(tmp_path_factory.mktemp("serve-model"))


@pytest.fixture(scope="session")
def predictor(model_dir):
    from serkit.inference import Predictor

    return Predictor.from_path(model_dir)


@pytest.fixture
def live(predictor):
    """``live(**create_app_options)``: a context manager serving ``predictor``."""
    from serkit.serve import create_app

    def start(model=None, **options):
        return LiveServer(create_app(model or predictor, **options))

    return start
