"""Who makes a request: the token's user with ``--auth`` (later), ``anonymous`` on an
open server. Routes pass it to the services, which record it in the audit trail."""

from __future__ import annotations

from fastapi import Request

ANONYMOUS = "anonymous"


def who(request: Request) -> str:
    user = getattr(request.state, "user", None)
    return str(user) if user else ANONYMOUS
