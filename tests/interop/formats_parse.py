"""Parses a webhook body the way an XML or a form receiver would, with the standard library
only (xml.etree.ElementTree, urllib.parse), so Hookwire's encoders are checked by parsers
they share no code with.

Request on stdin: {"format": "xml" | "form", "body": "..."}.
Answer on stdout: {"parsed": ...}; xml: {"tag", "attrib", "text" | "children"} per element,
form: {"name": "value", ...}. A body that does not parse fails the script.
"""

import json
import sys
import urllib.parse
import xml.etree.ElementTree as ET


def element(node):
    children = list(node)
    described = {"tag": node.tag, "attrib": dict(node.attrib)}
    if children:
        described["children"] = [element(child) for child in children]
    else:
        described["text"] = node.text or ""
    return described


def main():
    request = json.load(sys.stdin)
    body = request["body"]
    if request["format"] == "xml":
        parsed = element(ET.fromstring(body.encode("utf-8")))
    elif request["format"] == "form":
        pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=True)
        parsed = dict(pairs)
        if len(parsed) != len(pairs):
            raise SystemExit("a form field appears twice")
    else:
        raise SystemExit("unknown format " + request["format"])
    print(json.dumps({"parsed": parsed}))


if __name__ == "__main__":
    main()
