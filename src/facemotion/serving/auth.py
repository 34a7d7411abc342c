"""The optional API key on ``/v1/*``: a FastAPI dependency, declared (and shown in the OpenAPI schema) only when the
server has a key, so that a keyless server does not advertise a security scheme it never checks.

Keys are compared in constant time, as bytes: an HTTP header value reaches the app decoded as latin-1, so its bytes
are recovered as such and compared with the key's UTF-8 bytes, which is what ``curl -H "X-API-Key: clé"`` sends.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from facemotion.serving.errors import ServiceError

__all__ = ["key_matches", "api_key_dependencies"]


def key_matches(given: str | None, key: str) -> bool:
    """Whether the key a request gave (a header value, as the app receives it) is ``key``, in constant time."""
    if given is None:
        return False
    try:
        sent = given.encode("latin-1")
    except UnicodeEncodeError:  # not a header value; compare it as text
        sent = given.encode()
    return hmac.compare_digest(sent, key.encode())


def api_key_dependencies(api_key: str | None) -> list[Any]:
    """The route dependencies that require ``api_key`` (``X-API-Key`` or ``Authorization: Bearer``); none for None."""
    if api_key is None:
        return []
    key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's API key.")
    bearer = HTTPBearer(auto_error=False, description="The API key as a bearer token (alternative to X-API-Key).")

    async def require_key(key: str | None = Security(key_header),
                          token: HTTPAuthorizationCredentials | None = Security(bearer)) -> None:
        given = key if key is not None else (token.credentials if token is not None else None)
        if not key_matches(given, api_key):
            raise ServiceError(401, "missing or wrong API key: send it as the X-API-Key header or as "
                                    "Authorization: Bearer <key>", {"WWW-Authenticate": "Bearer"})

    return [Depends(require_key)]
