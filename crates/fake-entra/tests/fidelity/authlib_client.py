"""An independent client of the built-in fake: Authlib signs a person in with OpenID Connect, the
authorization code flow with PKCE (S256) and a nonce, reading every endpoint from the discovery
document. The ID token is validated strictly against the keys at the document's `jwks_uri`: signature,
issuer, audience, nonce, expiry. The refresh token that `offline_access` brings is then redeemed, and
the refreshed ID token validated the same way (without a nonce).

The fake runs in auto mode, so the authorization URL redirects at once to the redirect URI with a
code; nothing listens there. Run by tests/clients_fidelity.rs; prints one JSON object. The caller sets
REQUESTS_CA_BUNDLE to the fake's ca.pem.
"""

import argparse
import json
import sys
import time

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt


def validated(id_token, discovery, client_id, nonce):
    keys = JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"], timeout=30).json())
    options = {
        "iss": {"essential": True, "value": discovery["issuer"]},
        "aud": {"essential": True, "value": client_id},
        "exp": {"essential": True},
        "sub": {"essential": True},
    }
    if nonce is not None:
        options["nonce"] = {"essential": True, "value": nonce}
    claims = jwt.decode(id_token, keys, claims_options=options)
    claims.validate(now=int(time.time()), leeway=60)
    return dict(claims)


def main():
    parser = argparse.ArgumentParser()
    for name in ["discovery", "client-id", "secret", "redirect-uri"]:
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()

    discovery = requests.get(args.discovery, timeout=30).json()
    client = OAuth2Session(
        args.client_id,
        args.secret,
        scope="openid profile offline_access",
        redirect_uri=args.redirect_uri,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, _state = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    answer = requests.get(url, allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise SystemExit(f"authorize answered {answer.status_code}, not a redirect: {answer.text[:500]}")
    token = client.fetch_token(
        discovery["token_endpoint"], authorization_response=answer.headers["Location"], code_verifier=verifier
    )
    signed_in = validated(token["id_token"], discovery, args.client_id, nonce)
    refreshed = client.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])
    after_refresh = validated(refreshed["id_token"], discovery, args.client_id, None)
    json.dump(
        {"redirect_status": answer.status_code, "id_token": signed_in, "refreshed_id_token": after_refresh},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
