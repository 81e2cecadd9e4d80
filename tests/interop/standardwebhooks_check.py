"""Drives the official Standard Webhooks library for Hookwire's interoperability tests.

Reads one JSON request on stdin and writes one JSON answer on stdout:
  {"op": "verify", "secret", "headers", "body"} -> {"ok": true} or {"ok": false, "error": "..."}
  {"op": "sign", "secret", "id", "timestamp", "body"} -> {"signature": "v1,..."}
"""
import json
import sys
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

request = json.load(sys.stdin)
webhook = Webhook(request["secret"])
if request["op"] == "verify":
    try:
        webhook.verify(request["body"], request["headers"], json_parse=False)
        answer = {"ok": True}
    except WebhookVerificationError as error:
        answer = {"ok": False, "error": str(error)}
elif request["op"] == "sign":
    timestamp = datetime.fromtimestamp(request["timestamp"], tz=timezone.utc)
    answer = {"signature": webhook.sign(request["id"], timestamp, request["body"])}
else:
    raise SystemExit(f"unknown op {request['op']!r}")
json.dump(answer, sys.stdout)
