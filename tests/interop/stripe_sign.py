"""Signs a test webhook with Stripe's official library, for Hookwire's incoming-webhook tests.

Reads {"payload", "secret", "timestamp"} on stdin and writes {"header": "t=...,v1=..."}.
"""
import json
import sys

from stripe import WebhookSignature

request = json.load(sys.stdin)
header = WebhookSignature.generate_signature_header(
    request["payload"], request["secret"], timestamp=request["timestamp"]
)
json.dump({"header": header}, sys.stdout)
