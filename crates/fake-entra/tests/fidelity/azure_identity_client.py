"""An independent client of the built-in fake: azure-identity's ClientSecretCredential and
CertificateCredential each ask for two tokens, one after the other, with the same credential object
(so the certificate credential sends the same client assertion twice, as it does against Microsoft).
PyJWT's PyJWKClient verifies every token against the fake's JWKS.

Run by tests/clients_fidelity.rs; prints one JSON object with the verified claims of each token.
`disable_instance_discovery=True` is needed against the fake only: it keeps azure-identity from asking
Microsoft whether the fake's host is a known authority. The caller sets REQUESTS_CA_BUNDLE to the
fake's ca.pem (azure-identity talks through requests, which prefers that variable).
"""

import argparse
import json
import ssl
import sys

import jwt
from azure.identity import CertificateCredential, ClientSecretCredential


def verified_claims(token, args, resource):
    context = ssl.create_default_context(cafile=args.ca)
    jwks = jwt.PyJWKClient(f"{args.authority}/{args.tenant}/discovery/v2.0/keys", ssl_context=context)
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=resource, issuer=f"https://sts.windows.net/{args.tenant}/")


def two_tokens(credential, args):
    out = []
    for resource in args.resource:
        token = credential.get_token(f"{resource}/.default")
        out.append(verified_claims(token.token, args, resource))
    return out


def main():
    parser = argparse.ArgumentParser()
    for name in ["authority", "tenant", "client-id", "secret", "cert-and-key", "ca"]:
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--resource", action="append", required=True)
    args = parser.parse_args()

    common = {"authority": args.authority, "disable_instance_discovery": True}
    secret = ClientSecretCredential(args.tenant, args.client_id, args.secret, **common)
    certificate = CertificateCredential(args.tenant, args.client_id, certificate_path=args.cert_and_key, **common)
    json.dump({"secret": two_tokens(secret, args), "certificate": two_tokens(certificate, args)}, sys.stdout)


if __name__ == "__main__":
    main()
