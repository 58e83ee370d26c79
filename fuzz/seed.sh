#!/usr/bin/env bash
# Writes the seed corpus of every fuzz target into fuzz/seeds/<target>/ from what the real
# programs produce, as the end-to-end tests do: a device's saved usage file, the authority's
# ACK and policy files, a relay-style upload bundle and the ACK bundle the authority answers,
# the reportusage/authrequest/poll JSON bodies and the push envelope built from that usage
# file, the IOS command lines the tests type, and the management plane's inputs (NETCONF
# sessions in both framings, YANG filters, configs, RESTCONF paths and bodies, RPC inputs, and
# keys typed at the SSH shell).
# Usage: fuzz/seed.sh [path/to/slp]   (default: builds and uses target/debug/slp)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SLP="${1:-}"
if [ -z "$SLP" ]; then
  cargo build -q -p slp
  SLP="$ROOT/target/debug/slp"
fi
SEEDS="$ROOT/fuzz/seeds"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
NOW=2026-11-01T09:00:00Z
slp() { "$SLP" --now "$NOW" "$@"; }
auth() { slp authority --data A "$@"; }

# A device with usage (and an HA standby), its saved usage.
slp device --state D init --pid C9300-24UX --sn FOC1 --hostname sw1 --standby PID:C9300-24UX,SN:FOC2 >/dev/null
slp device --state D exec "configure terminal" "license boot level network-advantage addon dna-advantage" \
  "end" "reload" "license smart save usage all file bootflash:usage.txt" >/dev/null
# The authority: an account, a pool, the ACK of the usage file and the policy file.
auth account create --name "Example Corp" --domain example.com >/dev/null
auth va create --account example.com --name Lab >/dev/null
auth license add --account example.com --va Lab --tag network-advantage --sku C9300-NW-A --quantity 10 >/dev/null
auth license add --account example.com --va Lab --tag dna-advantage --sku C9300-DNA-A --quantity 10 \
  --type subscription --expires 2027-11-01 >/dev/null
auth usage upload --account example.com --va Lab D/bootflash/usage.txt --ack ack.txt >/dev/null
auth policy download --account example.com --va Lab --out policy.txt >/dev/null
# A SLAC for an export-controlled license: an ACK-like file with an authorization code.
auth license add --account example.com --va Lab --tag hseck9 --sku C9K-HSEC --quantity 2 \
  --type perpetual --enforcement export-controlled >/dev/null
auth slac generate --account example.com --va Lab --license hseck9 --udi PID:C9300-24UX,SN:FOC1 --out slac.txt >/dev/null

python3 - "$SEEDS" <<'PY'
import io, json, os, re, sys, tarfile
seeds = sys.argv[1]
def put(target, name, data):
    os.makedirs(os.path.join(seeds, target), exist_ok=True)
    with open(os.path.join(seeds, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
usage = open("D/bootflash/usage.txt").read()
put("usage_file", "usage.txt", usage)
for name in ("ack.txt", "policy.txt", "slac.txt"):
    put("ack_policy", name, open(name).read())
# The JSON of each signed element alone.
for i, data in enumerate(re.findall(r"<data>(.*?)</data>", open("ack.txt").read(), re.S)):
    put("ack_policy", f"element{i}.json", data.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
# reportusage / authrequest / poll bodies from the usage file.
unescape = lambda t: t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
reports = [json.loads(r) for r in re.findall(r"<RUMReport><!\[CDATA\[(.*?)\]\]></RUMReport>", usage, re.S)]
def signed(tag):
    m = re.search(rf"<{tag}><data>(.*?)</data>(?:<signature[^>]*alg=\"([^\"]*)\"[^>]*key=\"([^\"]*)\"[^>]*>(.*?)</signature>)?", usage, re.S)
    if not m:
        return None
    item = {"data": unescape(m.group(1))}
    if m.group(2):
        item["signature"] = {"alg": m.group(2), "key": m.group(3), "value": m.group(4)}
    return item
sudi = {"udi_pid": "C9300-24UX", "udi_serial_number": "FOC1"}
entry = {"sudi": sudi, "hostname": "sw1", "software_tag_identifier": "regid.2017-05.com.cisco.C9300,v1",
         "nonce": "n1", "timestamp": 1793523600000, "usage": reports}
info = signed("smartLicenseSystemInfo")
if info:
    entry["system_info"] = info
trust = signed("smartLicenseTrustRequest")
if trust:
    entry["trust_requests"] = [trust]
put("api_json", "reportusage.json", json.dumps({"data": {"timestamp": 1793523600000, "nonce": "n1", "reports": [entry]}}))
put("api_json", "authrequest.json", json.dumps({"data": {"timestamp": 1793523600000, "nonce": "n2", "licenses": [
    {"sudi": sudi, "hostname": "sw1", "software_tag_identifier": "regid.2017-05.com.cisco.C9300,v1",
     "keys": [{"entitlement": "hseck9", "count": 1}]}]}}))
put("api_json", "poll.json", json.dumps({"data": {"poll_id": "773126444402795033", "action": "acknowledgements"}}))
# The push envelope (device → relay / smart transport).
put("relay_push", "usage.json", json.dumps({"header": {"type": "usage", "version": "1", "nonce": "n1",
    "timestamp": 1793523600000, "udi": sudi}, "data": {"smart_license": usage}}))
put("relay_push", "poll.json", json.dumps({"header": {"type": "poll", "version": "1", "nonce": "n2",
    "timestamp": 1793523600000, "udi": sudi}, "data": {"poll_id": "7"}}))
# An upload bundle as a relay exports it: manifest.mf + UD_VA_….tar.gz with the device file.
def tgz(members):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 1793523600
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()
inner = tgz([("sw1_FOC1.xml", usage.encode())])
manifest = ("Manifest-Version: 1.0\nCreated-By: {\"uuid\": \"relay\"}\nSmart-Account: example.com\n"
            "Smart-Account-ID: example.com\n\nName: /UD_VA_20261101T090000.tar.gz\n"
            "Specification-VA: Lab\nSpecification-VA-ID: Lab\n").encode()
bundle = tgz([("manifest.mf", manifest), ("UD_VA_20261101T090000.tar.gz", inner)])
put("bundle", "UD_SA_20261101T090000.tar.gz", bundle)
open("bundle.tar.gz", "wb").write(bundle)
put("bundle", "manifest.mf", manifest)
# Device CLI lines, as the tests type them.
lines = ["enable", "show license summary", "show license usage", "show license status", "show license all",
         "show license udi", "show license rum id all", "show license rum id 1 detail", "show license eventlog 2",
         "show license history message", "show license tech support", "show version", "show running-config",
         "configure terminal", "license boot level network-advantage addon dna-advantage", "license smart transport off",
         "license smart transport smart", "license smart url smart https://127.0.0.1:1/licservice/license",
         "license smart usage interval 30", "interface TenGigabitEthernet1/0/1", "crypto map x", "exit", "end",
         "license smart save usage unreported file bootflash:u.txt", "license smart save usage rum-id 5 file bootflash:u.txt",
         "license smart authorization request add hseck9 local", "license smart authorization return local offline",
         "license smart trust idtoken abc local force", "license smart sync all", "lic sm sa us all f bootflash:x",
         "show lic ?", "license smart ?", "copy running-config startup-config", "username admin privilege 15 password x"]
for i, line in enumerate(lines):
    put("device_cli", f"line{i:02}.txt", line + "\n")
put("device_cli", "script.txt", "\n".join(lines) + "\n")
PY
# The authority's ACK bundle for that upload bundle.
auth usage upload --account example.com --va Lab bundle.tar.gz --ack ack_bundle.tar.gz >/dev/null
cp ack_bundle.tar.gz "$SEEDS/bundle/ACK_UD_SA_20261101T090000.tar.gz"
python3 - "$SEEDS" <<'PY'
# The management plane's inputs, as ncclient, requests and the tests send them
# (crates/slp/tests/ncclient.rs, restconf.rs, slp-device's mgmt/netconf and mgmt/yang tests).
import json, os, sys
seeds = sys.argv[1]
def put(target, name, data):
    os.makedirs(os.path.join(seeds, target), exist_ok=True)
    with open(os.path.join(seeds, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
NS = "http://cisco.com/ns/yang/cisco-smart-license"
BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
hello10 = (f'<?xml version="1.0" encoding="UTF-8"?><hello xmlns="{BASE}"><capabilities>'
           '<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>')
hello11 = (f'<?xml version="1.0" encoding="UTF-8"?><hello xmlns="{BASE}"><capabilities>'
           '<capability>urn:ietf:params:netconf:base:1.0</capability>'
           '<capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>]]>]]>')
def rpc(body, mid=101):
    return f'<?xml version="1.0" encoding="UTF-8"?><nc:rpc xmlns:nc="{BASE}" message-id="urn:uuid:{mid}">{body}</nc:rpc>'
def plain(body, mid=7):
    return f'<rpc message-id="{mid}" xmlns="{BASE}">{body}</rpc>'
def eom(msg):
    return msg + "]]>]]>"
def chunk(msg, size=None):
    data = msg.encode()
    if size is None:
        return b"\n#%d\n" % len(data) + data + b"\n##\n"
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += b"\n#%d\n" % len(part) + part
    return out + b"\n##\n"
config = lambda inner: f'<config><licensing xmlns="{NS}"><config>{inner}</config></licensing></config>'
subtree = f'<filter type="subtree"><licensing xmlns="{NS}"><state><state-info><udi/></state-info></state></licensing></filter>'
bodies = [
    "<get-config><source><running/></source></get-config>",
    f"<get>{subtree}</get>",
    f'<nc:get><nc:filter type="subtree"><licensing xmlns="{NS}"><state/></licensing></nc:filter></nc:get>',
    f'<get><filter><licensing xmlns="{NS}"><state><state-info><udi><pid>C9300-24UX</pid><sn/></udi></state-info></state></licensing></filter></get>',
    f'<get><filter type="xpath" select="/csl:licensing/csl:config/csl:usage" xmlns:csl="{NS}"/></get>',
    '<get><filter type="xpath" select="/licensing/state/state-info/udi"/></get>',
    "<get-config><source><running/></source>" + subtree + "</get-config>",
    "<edit-config><target><running/></target>" + config(
        "<transport><transport-type>transport-type-cslu</transport-type><transport-cslu>"
        "<url-cslu>http://10.0.0.5:8182/cslu/v1/pi</url-cslu></transport-cslu></transport>"
        "<usage><interval>30</interval></usage><privacy><hostname>true</hostname></privacy>"
        "<custom-id>lab-7</custom-id>") + "</edit-config>",
    f'<edit-config xmlns:nc="{BASE}"><target><running/></target>' + config(
        '<transport><transport-cslu><url-cslu nc:operation="delete"/></transport-cslu></transport>') + "</edit-config>",
    "<edit-config><target><running/></target><default-operation>replace</default-operation>"
    "<test-option>test-only</test-option><error-option>rollback-on-error</error-option>"
    + config("<utility><utility-enable>false</utility-enable></utility>") + "</edit-config>",
    "<validate><source>" + config("<custom-id>x</custom-id>") + "</source></validate>",
    "<validate><source><running/></source></validate>",
    "<lock><target><running/></target></lock>",
    "<unlock><target><running/></target></unlock>",
    "<kill-session><session-id>1</session-id></kill-session>",
    f'<id-token-trust xmlns="{NS}"><id-token>T0K</id-token><all-ha>true</all-ha><force>true</force></id-token-trust>',
    f'<register-id-token xmlns="{NS}"><id-token>abc</id-token></register-id-token>',
    f'<de-register xmlns="{NS}"/>',
    f'<authorization-code-return-online xmlns="{NS}"><local>true</local></authorization-code-return-online>',
    '<save-config xmlns="http://cisco.com/yang/cisco-ia"/>',
    "<commit/>",
    "<close-session/>",
]
for i, body in enumerate(bodies):
    # The first byte: where the session's input is split in two.
    put("netconf", f"eom{i:02}.xml", b"\x40" + eom(hello10).encode() + eom(rpc(body)).encode()
        + eom(plain("<close-session/>", 8)).encode())
    put("netconf", f"chunk{i:02}.xml", b"\xff" + hello11.encode() + chunk(rpc(body))
        + chunk(plain("<close-session/>", 8), 16))
session = (eom(hello10) + "\n" + "".join(eom(plain(b, 10 + i)) for i, b in enumerate(bodies[:8]))).encode()
put("netconf", "session10.xml", b"\x00" + session)
put("netconf", "session11.xml", b"\x10" + hello11.encode() + b"".join(chunk(plain(b, 20 + i), 9) for i, b in enumerate(bodies)))
for i, bad in enumerate(["<hello]]>]]>", eom(plain("<get/>")),
                         hello11 + "\n#0\n\n##\n", hello11 + "\n#99999999999\n", hello11 + "\n##\n"]):
    put("netconf", f"bad{i}.xml", b"\x05" + bad.encode())

# yang_input: the first byte picks the reader (0 path, 1 PUT/PATCH, 2 operation, 3 <config>,
# 4 subtree filter, 5 model RPC element).
def y(sel, name, text):
    put("yang_input", name, bytes([sel]) + text.encode())
for i, path in enumerate([
        "licensing", "cisco-smart-license:licensing/state/state-info/udi", "licensing/state/state-info/usage",
        "licensing/config/transport", "licensing/config/usage/interval",
        "cisco-smart-license:licensing/state/state-info/usage=regid.2017-05.com.cisco.C9300_NETWORK_ADVANTAGE%2C1.0_a",
        "licensing/config/transport/transport-cslu/url-cslu", "licensing/state/state-info/udi/pid"]):
    y(0, f"path{i}.txt", path)
for i, (path, body) in enumerate([
        ("licensing/config/transport", {"cisco-smart-license:transport": {"transport-type": "transport-type-off"}}),
        ("licensing/config/transport/transport-cslu", {"cisco-smart-license:transport-cslu": {"url-cslu": "http://relay:8182/cslu/v1/pi"}}),
        ("licensing/config/usage", {"cisco-smart-license:usage": {"interval": 7}}),
        ("licensing/config/privacy", {"cisco-smart-license:privacy": {"hostname": True, "version": False}}),
        ("licensing/config", {"cisco-smart-license:config": {"custom-id": "lab-7", "utility": {"utility-enable": True}}}),
        ("", {"cisco-smart-license:licensing": {"config": {"usage": {"interval": 30}}}}),
        ("licensing/state", {"cisco-smart-license:state": {}})]):
    y(1, f"body{i}.txt", path + "\n" + json.dumps(body))
for i, (name, body) in enumerate([
        ("cisco-smart-license:id-token-trust", {"cisco-smart-license:input": {"id-token": "T0K", "all-ha": True, "force": True}}),
        ("cisco-smart-license:rum-save-usage-all", {"cisco-smart-license:input": {"file-path": "bootflash:usage-all.txt"}}),
        ("rum-save-usage-days", {"input": {"file-path": "bootflash:u.txt", "days": 30}}),
        ("cisco-smart-license:authorization-request-online", {"cisco-smart-license:input": {"feature-name": "hseck9", "local": True, "add": True}}),
        ("cisco-smart-license:import-file", {"cisco-smart-license:input": {"file-path": "bootflash:ack.txt"}}),
        ("de-register", None)]):
    y(2, f"rpc{i}.txt", name + "\n" + ("" if body is None else json.dumps(body)))
nc = f'xmlns="{BASE}" xmlns:nc="{BASE}"'
for i, inner in enumerate([
        "<transport><transport-type>transport-type-cslu</transport-type><transport-cslu><url-cslu>http://10.0.0.5:8182/cslu/v1/pi</url-cslu></transport-cslu></transport><usage><interval>30</interval></usage><privacy><hostname>true</hostname></privacy><custom-id>lab-7</custom-id>",
        '<transport><transport-cslu><url-cslu nc:operation="remove"/></transport-cslu></transport>',
        '<usage nc:operation="replace"><interval>14</interval></usage>',
        '<custom-id nc:operation="create">x</custom-id>',
        '<transport><transport-type>transport-type-smart</transport-type><transport-smart><url-default>false</url-default><urls><url-registration>https://smartreceiver.cisco.com/licservice/license</url-registration><url-utility>https://smartreceiver.cisco.com/licservice/license</url-utility></urls></transport-smart></transport>']):
    y(3, f"config{i}.xml", f'<config {nc}><licensing xmlns="{NS}"><config>{inner}</config></licensing></config>')
y(3, "config_state.xml", f'<config><licensing xmlns="{NS}"><state><smart-enabled>false</smart-enabled></state></licensing></config>')
for i, f in enumerate([
        subtree,
        f'<filter><licensing xmlns="{NS}"><state><state-info><udi><pid>C9300-24UX</pid><sn/></udi></state-info></state></licensing></filter>',
        f'<filter><licensing xmlns="{NS}"><state><state-info><usage><entitlement-tag/><license-name/></usage></state-info></state></licensing></filter>',
        f'<filter><licensing xmlns="{NS}"><config/></licensing></filter>',
        f'<filter><licensing xmlns="{NS}"/></filter>',
        '<filter><licensing xmlns="urn:other"/></filter>']):
    y(4, f"filter{i}.xml", f)
for i, el in enumerate([
        f'<rum-save-usage-days xmlns="{NS}"><file-path>bootflash:u.txt</file-path><days>30</days></rum-save-usage-days>',
        f'<id-token-trust xmlns="{NS}"><id-token>T0K</id-token><all-ha>true</all-ha><force>true</force></id-token-trust>',
        f'<authorization-code-return-offline xmlns="{NS}"><local>true</local><file-path>bootflash:return.txt</file-path></authorization-code-return-offline>',
        f'<import-file xmlns="{NS}"><file-path>bootflash:ack.txt</file-path></import-file>',
        f'<renew-auth xmlns="{NS}"/>']):
    y(5, f"rpc{i}.xml", el)

# ssh_line: what a user types at the SSH shell (the first byte: where the input is split).
for i, typed in enumerate([
        b"show license summary\r",
        b"show version\r\n",
        b"terminal length 0\rshow license all\r",
        b"terminal length 5\rshow license usage\r  \r\rq",
        b"show lic\t?",
        b"sh ver\x7f\x7fversion\r",
        b"show license\x15show clock\r",
        b"configure terminal\r\x03show license udi\r",
        b"show license status\x1a",
        b"\x1b[A\x1b[1;5Dshow license eventlog 2\r",
        b"enable\r",
        b"terminal width 40\rshow running-config\r \r",
        b"show license tech support\r\x03exit\r"]):
    put("ssh_line", f"typed{i:02}.txt", bytes([len(typed) // 2]) + typed)
PY
echo "seeds written to $SEEDS:"
for d in "$SEEDS"/*/; do echo "  $(basename "$d"): $(ls "$d" | wc -l) file(s)"; done
