import datetime

from ninja import Router, Schema, Status

from laihua.accounts import services
from laihua.accounts.auth import AUTH

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
    token: str | None = None


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
            "token": secret,
        },
    )
