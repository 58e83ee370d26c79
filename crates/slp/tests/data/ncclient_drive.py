"""Drives a running `slp device run --netconf …` with ncclient as a network engineer would.

Reads {"host", "port", "username", "password", "url_cslu"} as JSON on stdin; prints what each
step returned as JSON on stdout (the Rust test compares it with state.json).
"""

import json
import sys

from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError

NS = "http://cisco.com/ns/yang/cisco-smart-license"


def main():
    args = json.load(sys.stdin)
    out = {}
    m = manager.connect(
        host=args["host"],
        port=args["port"],
        username=args["username"],
        password=args["password"],
        hostkey_verify=False,
        look_for_keys=False,
        allow_agent=False,
        device_params={"name": "iosxe"},
        timeout=60,
    )
    try:
        out["capabilities"] = sorted(m.server_capabilities)
        out["session_id"] = m.session_id
        state_filter = (
            f'<licensing xmlns="{NS}"><state><state-info>'
            "<udi/><transport/><usage/><policy/><rum-ack/>"
            "</state-info></state></licensing>"
        )
        out["get"] = m.get(filter=("subtree", state_filter)).data_xml
        out["get_config"] = m.get_config(source="running").data_xml
        config = (
            f'<config><licensing xmlns="{NS}"><config><transport><transport-cslu>'
            f'<url-cslu>{args["url_cslu"]}</url-cslu>'
            "</transport-cslu></transport></config></licensing></config>"
        )
        out["lock_ok"] = m.lock(target="running").ok
        out["edit_ok"] = m.edit_config(target="running", config=config).ok
        out["unlock_ok"] = m.unlock(target="running").ok
        out["save_config"] = m.save_config().xml
        bad = (
            f'<config><licensing xmlns="{NS}"><config><usage><interval>4000</interval>'
            "</usage></config></licensing></config>"
        )
        try:
            m.edit_config(target="running", config=bad)
            out["bad_edit"] = None
        except RPCError as err:
            out["bad_edit"] = {"tag": err.tag, "type": err.type, "path": err.path, "message": err.message}
        rpc = etree.fromstring(
            f'<rum-save-usage-all xmlns="{NS}"><file-path>bootflash:ncclient.txt</file-path></rum-save-usage-all>'
        )
        out["rpc"] = m.dispatch(rpc).xml
        out["after_get_config"] = m.get_config(
            source="running",
            filter=("subtree", f'<licensing xmlns="{NS}"><config><transport/></config></licensing>'),
        ).data_xml
        # RFC 6022 get-schema, as YANG Suite fetches models.
        out["schema"] = m.get_schema("cisco-smart-license").data
        try:
            m.get_schema("ietf-interfaces")
            out["bad_schema"] = None
        except RPCError as err:
            out["bad_schema"] = {"tag": err.tag, "message": err.message}
        out["close_ok"] = m.close_session().ok
    except Exception:
        if m.connected:
            m.close_session()
        raise
    print(json.dumps(out))


if __name__ == "__main__":
    main()
