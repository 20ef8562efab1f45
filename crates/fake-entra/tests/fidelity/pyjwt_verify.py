"""PyJWT, a standard JWT library partners use, verifies tokens of the built-in fake against its JWKS:
each token as received, and then with its header's nonce (if any) replaced by the base64url SHA-256 of
it, the header otherwise as sent, which is how Microsoft signs Microsoft Graph access tokens.

Run by tests/clients_fidelity.rs with --token TOKEN --audience AUD pairs; prints a JSON list with, per
token, "verified" or the name of the error PyJWT raised, for each of the two ways.
"""

import argparse
import base64
import hashlib
import json
import ssl
import sys

import jwt


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url_encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def with_hashed_nonce(token):
    header, payload, signature = token.split(".")
    fields = json.loads(b64url_decode(header))
    if "nonce" not in fields:
        return None
    fields["nonce"] = b64url_encode(hashlib.sha256(fields["nonce"].encode()).digest())
    header = b64url_encode(json.dumps(fields, separators=(",", ":")).encode())
    return f"{header}.{payload}.{signature}"


def verification(token, audience, key, issuer):
    try:
        jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer)
        return "verified"
    except jwt.PyJWTError as error:
        return type(error).__name__


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jwks-uri", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--token", action="append", required=True)
    parser.add_argument("--audience", action="append", required=True)
    args = parser.parse_args()

    jwks = jwt.PyJWKClient(args.jwks_uri, ssl_context=ssl.create_default_context(cafile=args.ca))
    out = []
    for token, audience in zip(args.token, args.audience):
        key = jwks.get_signing_key_from_jwt(token).key
        hashed = with_hashed_nonce(token)
        out.append({
            "as_received": verification(token, audience, key, args.issuer),
            "nonce_hashed": "no nonce" if hashed is None else verification(hashed, audience, key, args.issuer),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
