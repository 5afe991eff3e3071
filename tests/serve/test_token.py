"""The token rule: loopback needs none, any other address one that every API request carries."""

from __future__ import annotations

import httpx
import pytest

from serkit.errors import ConfigError
from serkit.serve.security import TokenGuard, check_bind, is_loopback

from ._server import demo_signal, wav_bytes


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_token(host):
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1"])
def test_other_addresses_need_a_token(host):
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="token"):
        check_bind(host, None)
    check_bind(host, "a-secret")


def test_an_empty_token_is_refused():
    with pytest.raises(ConfigError, match="empty"):
        check_bind("0.0.0.0", "  ")


def test_guard_without_token_lets_everything_pass():
    TokenGuard(None).check(None)
    TokenGuard(None).check("Bearer anything")


def test_every_api_request_needs_the_token(live):
    body = wav_bytes(demo_signal(2, "happy"))
    with live(token="s3cret") as server:
        url = server.url
        missing = [
            httpx.get(f"{url}/health"),
            httpx.get(f"{url}/model"),
            httpx.post(f"{url}/predict", content=body, headers={"Content-Type": "audio/wav"}),
        ]
        not_bearer = httpx.get(f"{url}/health", headers={"Authorization": "Basic s3cret"})
        wrong = httpx.get(f"{url}/model", headers={"Authorization": "Bearer s3cre"})
        right = httpx.post(
            f"{url}/predict",
            content=body,
            headers={"Content-Type": "audio/wav", "Authorization": "Bearer s3cret"},
        )
        info = httpx.get(f"{url}/model", headers={"Authorization": "bearer s3cret"})
        page = httpx.get(f"{url}/")
        script = httpx.get(f"{url}/static/app.js")
    for response in [*missing, not_bearer]:
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in response.json()["detail"]
    assert wrong.status_code == 403 and "wrong token" in wrong.json()["detail"]
    assert right.status_code == 200 and right.json()["status"] == "ok"
    assert info.status_code == 200 and info.json()["token_required"] is True
    assert page.status_code == 200 and script.status_code == 200  # the page holds no data
