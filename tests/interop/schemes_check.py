"""Checks Stripe-style and GitHub-style signatures the way their receivers do, for
Hookwire's interoperability tests: Stripe's with the official `stripe` library, GitHub's
with the computation GitHub documents (HMAC-SHA256 of the body, compared in constant time).

Reads one JSON request on stdin and writes one JSON answer on stdout:
  {"scheme": "stripe", "secret", "header", "body", "tolerance"} -> {"ok": true} or {"ok": false, "error"}
  {"scheme": "github", "secret", "values": [...], "body"} -> {"ok": true} or {"ok": false, "error"}
"""
import hashlib
import hmac
import json
import sys

request = json.load(sys.stdin)
body = request["body"]
if request["scheme"] == "stripe":
    import stripe

    try:
        stripe.WebhookSignature.verify_header(
            body, request["header"], request["secret"], tolerance=request.get("tolerance", 300)
        )
        answer = {"ok": True}
    except stripe.SignatureVerificationError as error:
        answer = {"ok": False, "error": str(error)}
elif request["scheme"] == "github":
    expected = "sha256=" + hmac.new(
        request["secret"].encode("utf-8"), body.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    if any(hmac.compare_digest(expected, value) for value in request["values"]):
        answer = {"ok": True}
    else:
        answer = {"ok": False, "error": "no X-Hub-Signature-256 value matches"}
else:
    raise SystemExit(f"unknown scheme {request['scheme']!r}")
json.dump(answer, sys.stdout)
