"""Plays the providers for Hookwire's incoming-webhook tests: each request is signed the way
the provider's own documentation says it signs, with Python's standard library (and the
`cryptography` package for Travis CI's RSA), never with Hookwire's code.

Reads one JSON request on stdin and writes one JSON answer on stdout:
  {"provider": "bitbucket" | "jira" | "confluence", "secret", "body"} -> {"headers"}
      Atlassian's webhooks: `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
  {"provider": "github", "secret", "body"} -> {"headers"}
      GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
  {"provider": "circleci", "secret", "body"} -> {"headers"}
      CircleCI: `circleci-signature: v1=<hex HMAC-SHA256(secret, raw body)>`.
  {"provider": "slack", "secret", "body", "timestamp"} -> {"headers"}
      Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:<body>")>`.
  {"provider": "travis_keys"} -> {"private_key", "public_key"} (PEM)
      A key pair standing in for the one Travis CI publishes at /config.
  {"provider": "travis", "private_key", "payload"} -> {"headers", "body"}
      Travis CI: the body is the form `payload=<JSON>`; `Signature` is the base64 of the
      RSA (PKCS#1 v1.5) SHA-1 signature of the `payload` parameter's value.
"""
import base64
import hashlib
import hmac
import json
import sys
import urllib.parse


def hex_hmac_sha256(secret, body):
    return hmac.new(secret.encode("utf-8"), body.encode("utf-8"), hashlib.sha256).hexdigest()


request = json.load(sys.stdin)
provider = request["provider"]
if provider in ("bitbucket", "jira", "confluence"):
    answer = {"headers": {"X-Hub-Signature": "sha256=" + hex_hmac_sha256(request["secret"], request["body"])}}
elif provider == "github":
    answer = {"headers": {"X-Hub-Signature-256": "sha256=" + hex_hmac_sha256(request["secret"], request["body"])}}
elif provider == "circleci":
    answer = {"headers": {"circleci-signature": "v1=" + hex_hmac_sha256(request["secret"], request["body"])}}
elif provider == "slack":
    basestring = f"v0:{request['timestamp']}:{request['body']}"
    answer = {
        "headers": {
            "X-Slack-Request-Timestamp": str(request["timestamp"]),
            "X-Slack-Signature": "v0=" + hex_hmac_sha256(request["secret"], basestring),
        }
    }
elif provider == "travis_keys":
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    answer = {
        "private_key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii"),
        "public_key": key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii"),
    }
elif provider == "travis":
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(request["private_key"].encode("ascii"), password=None)
    payload = request["payload"]
    signature = key.sign(payload.encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())
    answer = {
        "headers": {
            "Signature": base64.b64encode(signature).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        "body": urllib.parse.urlencode({"payload": payload}),
    }
else:
    raise SystemExit(f"unknown provider {provider!r}")
json.dump(answer, sys.stdout)
