"""Verifies a webhook of Hookwire's `ed25519` scheme the way a receiver would, following
the Standard Webhooks specification's text for asymmetric signatures (the official
libraries do not implement `v1a` yet) with the `cryptography` package's Ed25519: the
public keys come from the tenant's key document (a JWKS), fetched by the receiver; the
signed content is "<webhook-id>.<webhook-timestamp>.<body>"; any `v1a,<base64>` entry of
`webhook-signature` that verifies under any of the endpoint's keys accepts the message,
and a timestamp more than five minutes away refuses it.

Reads {"jwks": {...}, "endpoint_id", "headers": {...}, "body", "now"?} on stdin and writes
{"ok": true, "kids": [the kids that verified]} or {"ok": false, "error"}.
"""
import base64
import json
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE_SECS = 5 * 60

request = json.load(sys.stdin)
headers = {name.lower(): value for name, value in request["headers"].items()}


def public_key(jwk):
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError(f"not an Ed25519 key: {jwk}")
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    # The same key as the whpk_ form says it.
    if jwk["whpk"] != "whpk_" + base64.b64encode(raw).decode():
        raise ValueError("x and whpk disagree")
    return Ed25519PublicKey.from_public_bytes(raw)


try:
    keys = {
        jwk["kid"]: public_key(jwk)
        for jwk in request["jwks"]["keys"]
        if jwk["endpoint_id"] == request["endpoint_id"]
    }
    if not keys:
        raise ValueError("the key document has no key for this endpoint")
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    now = request.get("now", time.time())
    if abs(now - int(timestamp)) > TOLERANCE_SECS:
        raise ValueError("timestamp outside the tolerance")
    content = f"{msg_id}.{timestamp}.".encode() + request["body"].encode()
    verified = []
    for entry in headers["webhook-signature"].split(" "):
        version, _, signature = entry.partition(",")
        if version != "v1a":
            continue
        for kid, key in keys.items():
            try:
                key.verify(base64.b64decode(signature), content)
                verified.append(kid)
            except InvalidSignature:
                pass
    if not verified:
        raise ValueError("no v1a signature verifies")
    answer = {"ok": True, "kids": sorted(set(verified))}
except (KeyError, ValueError) as error:
    answer = {"ok": False, "error": str(error)}
json.dump(answer, sys.stdout)
