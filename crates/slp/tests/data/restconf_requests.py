"""Drives a device's HTTPS server (RESTCONF and /smartlic-service/*) with `requests`.

Reads {"base": URL, "verify": CERT_FILE, "requests": [{"method", "path", "headers", "body",
"auth": [user, password] | null}]} on stdin; performs them in order on one Session, verifying
the server against CERT_FILE (the device's own certificate); prints {"results": [{"status",
"headers", "text", "json"}]}.
"""

import json
import sys

import requests

job = json.load(sys.stdin)
session = requests.Session()
results = []
for req in job["requests"]:
    auth = tuple(req["auth"]) if req.get("auth") else None
    response = session.request(
        req["method"],
        job["base"] + req["path"],
        headers=req.get("headers") or {},
        data=req.get("body").encode() if req.get("body") is not None else None,
        auth=auth,
        # Per request: a session-wide verify loses to REQUESTS_CA_BUNDLE in the environment.
        verify=job["verify"],
        timeout=30,
    )
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    results.append(
        {
            "status": response.status_code,
            "headers": {k.lower(): v for k, v in response.headers.items()},
            "text": response.text,
            "json": parsed,
        }
    )
json.dump({"results": results}, sys.stdout)
