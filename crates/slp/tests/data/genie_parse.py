"""Feeds show-command output to the public Genie IOS-XE parsers.

Reads JSON from stdin: {"cases": [{"parser": "ShowLicenseSummary", "output": "...", "kwargs": {}}]}
Writes JSON to stdout: {"results": [{"parser": ..., "parsed": {...}} or {"parser": ..., "error": "..."}]}
"""
import importlib
import json
import sys
from unittest.mock import Mock

MODULES = [
    "genie.libs.parser.iosxe.show_license",
    "genie.libs.parser.iosxe.show_platform",
    "genie.libs.parser.iosxe.show_call_home",
    # `show license authorization` has its parser in the Catalyst 9300 package only.
    "genie.libs.parser.iosxe.cat9k.c9300.show_platform",
]


def find(name):
    for module in MODULES:
        mod = importlib.import_module(module)
        if hasattr(mod, name):
            return getattr(mod, name)
    raise LookupError(f"no Genie parser named {name}")


def main():
    request = json.load(sys.stdin)
    results = []
    for case in request["cases"]:
        try:
            parser = find(case["parser"])(device=Mock())
            parsed = parser.parse(output=case["output"], **case.get("kwargs", {}))
            results.append({"parser": case["parser"], "parsed": parsed})
        except Exception as err:  # noqa: BLE001 - reported to the Rust test
            results.append({"parser": case["parser"], "error": f"{type(err).__name__}: {err}"})
    json.dump({"results": results}, sys.stdout, default=str)


main()
