"""An independent client of the built-in fake: Microsoft's MSAL for Python acquires app-only tokens
(with a client secret, and with a certificate in both of MSAL's forms) for each resource asked, and
PyJWT's PyJWKClient verifies each token against the fake's JWKS, as a partner's own code would.

Run by tests/it/msal_fidelity.rs; prints one JSON object: per resource and credential, the token's header
and claims (read without verification) and what PyJWT made of it ("verified", or the name of the error
it raised: a Microsoft Graph token, signed over a hashed nonce, fails as Microsoft's own do).
The caller sets REQUESTS_CA_BUNDLE to the fake's ca.pem (MSAL uses requests, which prefers that variable).
"""

import argparse
import hashlib
import json
import ssl
import sys

import jwt
import msal
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def examined(token, resource, args):
    """The token's header and claims, and whether PyJWT verifies its RS256 signature, aud and iss."""
    context = ssl.create_default_context(cafile=args.ca)
    jwks = jwt.PyJWKClient(f"{args.authority}/{args.tenant}/discovery/v2.0/keys", ssl_context=context)
    try:
        key = jwks.get_signing_key_from_jwt(token)
        jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=resource,
            issuer=f"https://sts.windows.net/{args.tenant}/",
        )
        pyjwt = "verified"
    except jwt.PyJWTError as error:
        pyjwt = type(error).__name__
    return {
        "header": jwt.get_unverified_header(token),
        "claims": jwt.decode(token, options={"verify_signature": False}),
        "pyjwt": pyjwt,
    }


def acquire(credential, resource, args):
    app = msal.ConfidentialClientApplication(
        args.client_id,
        authority=f"{args.authority}/{args.tenant}",
        client_credential=credential,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=[f"{resource}/.default"])
    if "access_token" not in result:
        raise SystemExit(f"MSAL could not get a token for {resource}: {json.dumps(result)}")
    return examined(result["access_token"], resource, args)


def main():
    parser = argparse.ArgumentParser()
    for name in ["authority", "tenant", "client-id", "secret", "cert", "key", "ca"]:
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--resource", action="append", required=True)
    args = parser.parse_args()

    with open(args.cert, "rb") as f:
        cert_pem = f.read()
    with open(args.key, "rb") as f:
        key_pem = f.read().decode()
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    credentials = {
        "secret": args.secret,
        # The legacy form: a SHA-1 thumbprint, signed RS256 with x5t.
        "certificate_sha1": {"private_key": key_pem, "thumbprint": hashlib.sha1(der).hexdigest()},
        # The current form: MSAL works out the thumbprint from the public certificate itself.
        "certificate": {"private_key": key_pem, "public_certificate": cert_pem.decode()},
    }
    tokens = {
        resource: {form: acquire(credential, resource, args) for form, credential in credentials.items()}
        for resource in args.resource
    }
    json.dump({"msal_version": msal.__version__, "tokens": tokens}, sys.stdout)


if __name__ == "__main__":
    main()
