"""Verifies a webhook of Hookwire's `jwt` scheme the way a receiver would, with PyJWT as it
is: the key picked by the token's `kid` among the secrets the receiver holds (a secret's
kid is "hs_" and the first 16 hex digits of the SHA-256 of its text, as documented), HS256
only, audience and issuer checked, `exp` and `iat` required; then the body against the
`body_sha256` claim.

With "jwks" instead of "secrets", an EdDSA token: the key picked by `kid` from the
tenant's key document (a JWKS, as fetched from Hookwire) with PyJWT's own JWK reader, EdDSA
only.

Reads {"authorization", "secrets": [...] or "jwks": {...}, "audience", "issuer", "body"} on
stdin and writes {"ok": true, "claims": {...}, "kid"} or {"ok": false, "error"}.
"""
import base64
import hashlib
import json
import sys

import jwt

request = json.load(sys.stdin)
if "jwks" in request:
    algorithm = "EdDSA"
    keys = {key.key_id: key.key for key in jwt.PyJWKSet.from_dict(request["jwks"]).keys}
else:
    algorithm = "HS256"
    keys = {
        "hs_" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]: secret
        for secret in request["secrets"]
    }
try:
    scheme, _, token = request["authorization"].partition(" ")
    if scheme != "Bearer":
        raise ValueError(f"not a bearer token: {scheme!r}")
    kid = jwt.get_unverified_header(token).get("kid")
    if kid not in keys:
        raise ValueError(f"no key with kid {kid!r}")
    claims = jwt.decode(
        token,
        keys[kid],
        algorithms=[algorithm],
        audience=request["audience"],
        issuer=request["issuer"],
        options={"require": ["exp", "iat", "jti", "sub"]},
    )
    digest = hashlib.sha256(request["body"].encode("utf-8")).digest()
    if claims["body_sha256"] != base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"):
        raise ValueError("body_sha256 does not match the body")
    answer = {"ok": True, "claims": claims, "kid": kid}
except (jwt.PyJWTError, ValueError, KeyError) as error:
    answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
json.dump(answer, sys.stdout)
