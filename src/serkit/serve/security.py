"""The token rule: loopback needs none; any other address needs one that every request carries.

A request carries the token as ``Authorization: Bearer <token>``: none is answered ``401``
(with ``WWW-Authenticate: Bearer``), a wrong one ``403``. The page itself (``/`` and
``/static/``) holds no data and is served without it; it asks for the token when the API
answers ``401``. A WebSocket client that cannot set headers (a browser) sends the token in its
first message instead (see :mod:`serkit.serve.stream`).
"""

from __future__ import annotations

import hmac
import ipaddress
import socket

from serkit.errors import ConfigError

#: host names that always mean this machine
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class AuthError(Exception):
    """A request without the right token: ``status`` 401 (none) or 403 (wrong)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) binds only this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    host = host.strip().strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: loopback only if every address it resolves to is
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(
            ipaddress.ip_address(info[4][0].split("%", 1)[0]).is_loopback for info in infos
        )


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind a non-loopback ``host`` without a token.

    Raises:
        ConfigError: ``host`` is reachable from other machines and ``token`` is empty.
    """
    if token is not None and not token.strip():
        raise ConfigError("token is empty; give a non-empty secret or none at all")
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"host {host!r} is reachable from other machines, and a server there needs a "
            "token that every request carries: pass token='<secret>' (or bind 127.0.0.1)"
        )


class TokenGuard:
    """Checks the token of a request (no token configured: every request passes).

    Args:
        token: the secret, or ``None`` for a loopback server without one.
    """

    def __init__(self, token: str | None) -> None:
        self.token = token

    @property
    def required(self) -> bool:
        """Whether requests must carry a token."""
        return self.token is not None

    def check(self, authorization: str | None) -> None:
        """Check an ``Authorization`` header value.

        Raises:
            AuthError: 401 when it is missing or not ``Bearer``, 403 when the token is wrong.
        """
        if self.token is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise AuthError(
                401,
                "this server needs a token: send the header 'Authorization: Bearer <token>' "
                "(ask whoever started the server for it)",
            )
        self.check_token(given.strip())

    def check_token(self, given: str | None) -> None:
        """Check a bare token (e.g. from a WebSocket's first message).

        Raises:
            AuthError: 401 when it is missing, 403 when it is wrong.
        """
        if self.token is None:
            return
        if not given:
            raise AuthError(401, "this server needs a token; none was sent")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise AuthError(403, "wrong token: the server was started with another one")
