"""An independent client of the built-in fake: Microsoft's MSAL for Python acquires app-only tokens
(with a client secret, and with a certificate in both of MSAL's forms), and PyJWT's PyJWKClient verifies
each token against the fake's JWKS, as a partner's own code would.

Run by tests/it/msal_fidelity.rs; prints one JSON object with the verified claims of each token.
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


def verified_claims(token, args):
    """Verifies the token's RS256 signature with the key the fake publishes, and its aud and iss."""
    context = ssl.create_default_context(cafile=args.ca)
    jwks = jwt.PyJWKClient(f"{args.authority}/{args.tenant}/discovery/v2.0/keys", ssl_context=context)
    key = jwks.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=args.resource,
        issuer=f"https://sts.windows.net/{args.tenant}/",
    )
    header = jwt.get_unverified_header(token)
    return {"header": header, "claims": claims}


def acquire(credential, args):
    app = msal.ConfidentialClientApplication(
        args.client_id,
        authority=f"{args.authority}/{args.tenant}",
        client_credential=credential,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=[f"{args.resource}/.default"])
    if "access_token" not in result:
        raise SystemExit(f"MSAL could not get a token: {json.dumps(result)}")
    return verified_claims(result["access_token"], args)


def main():
    parser = argparse.ArgumentParser()
    for name in ["authority", "tenant", "client-id", "secret", "cert", "key", "ca", "resource"]:
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()

    with open(args.cert, "rb") as f:
        cert_pem = f.read()
    with open(args.key, "rb") as f:
        key_pem = f.read().decode()
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)

    out = {
        "msal_version": msal.__version__,
        "secret": acquire(args.secret, args),
        # The legacy form: a SHA-1 thumbprint, signed RS256 with x5t.
        "certificate_sha1": acquire({"private_key": key_pem, "thumbprint": hashlib.sha1(der).hexdigest()}, args),
        # The current form: MSAL works out the thumbprint from the public certificate itself.
        "certificate": acquire({"private_key": key_pem, "public_certificate": cert_pem.decode()}, args),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
