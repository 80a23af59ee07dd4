import datetime

from ninja import Router, Schema, Status

from laihua.accounts import services
from laihua.accounts.auth import AUTH
from laihua.kit import clock

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    role: str
    hospital: str | None
    preferred_language: str
    preferred_currency: str


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    id: int
    name: str
    hint: str
    created_at: datetime.datetime
    expires_at: datetime.datetime
    token: str | None = None


class TokenListed(Schema):
    id: int
    name: str
    hint: str
    created_at: datetime.datetime
    expires_at: datetime.datetime
    expired: bool
    last_used_at: datetime.datetime | None


def _listed(token) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "hint": token.hint,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "expired": token.expires_at <= clock.now(),
        "last_used_at": token.last_used_at,
    }


@router.get("/me", response=MeOut, auth=AUTH, summary="Who the token or session belongs to")
def me(request):
    user = request.auth
    return {
        "username": user.username,
        "role": user.role,
        "hospital": user.hospital.slug if user.hospital_id else None,
        "preferred_language": user.preferred_language,
        "preferred_currency": user.preferred_currency,
    }


@router.post("/me/tokens", response={201: TokenOut}, auth=AUTH, summary="Create a personal API token")
def create_token(request, payload: TokenIn):
    token, secret = services.create_api_token(request.auth, request.auth, payload.name)
    return Status(
        201,
        {
            "id": token.pk,
            "name": token.name,
            "hint": token.hint,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "token": secret,
        },
    )


@router.get("/me/tokens", response=list[TokenListed], auth=AUTH, summary="My personal API tokens (not revoked)")
def list_tokens(request):
    return [_listed(token) for token in services.active_api_tokens(request.auth)]


@router.delete("/me/tokens/{token_id}", response={204: None}, auth=AUTH, summary="Revoke one of my API tokens")
def revoke_token(request, token_id: int):
    # Only the caller's own tokens, whatever the role: a platform admin revokes others' tokens in /admin.
    services.revoke_api_token(request.auth, token_id, own_only=True)
    return Status(204, None)
