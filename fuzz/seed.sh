#!/usr/bin/env bash
# Writes the seed corpus of every fuzz target into fuzz/seeds/<target>/ from what the real
# programs produce, as the end-to-end tests do: a device's saved usage file, the authority's
# ACK and policy files, a relay-style upload bundle and the ACK bundle the authority answers,
# the reportusage/authrequest/poll JSON bodies and the push envelope built from that usage
# file, and the IOS command lines the tests type.
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
echo "seeds written to $SEEDS:"
for d in "$SEEDS"/*/; do echo "  $(basename "$d"): $(ls "$d" | wc -l) file(s)"; done
