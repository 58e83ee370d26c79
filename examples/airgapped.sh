#!/usr/bin/env bash
# The air-gapped topology ("No Connectivity to CSSM and No CSLU"), end to end, on a virtual clock:
# an authority with a license pool, a Catalyst 9300 that uses licenses, usage saved to a file,
# uploaded, and the ACK imported back; then a year later, a policy-driven deadline.
# Usage: examples/airgapped.sh [--keep DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
keep=""
if [ "${1:-}" = "--keep" ]; then keep="${2:?--keep needs a directory}"; fi

echo "# building slp"
cargo build --quiet --manifest-path "$root/Cargo.toml" -p slp
slp_bin="$root/target/debug/slp"

if [ -n "$keep" ]; then mkdir -p "$keep"; work="$(cd "$keep" && pwd)"; else work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT; fi
cd "$work"
echo "# working in $work"

step() { local now="$1"; shift; printf '\n\033[1m$ slp --now %s %s\033[0m\n' "$now" "$*"; "$slp_bin" --now "$now" "$@"; }

T0=2026-11-01T09:00:00Z
step $T0 authority --data A account create --name "Example Corp" --domain example.com
step $T0 authority --data A va create --account example.com --name Lab
step $T0 authority --data A license add --account example.com --va Lab --tag network-advantage --sku C9300-NW-A --quantity 10 --type perpetual
step $T0 authority --data A license add --account example.com --va Lab --tag dna-advantage --sku C9300-DNA-A --quantity 1 --type subscription --expires 2027-11-01
step $T0 authority --data A license add --account example.com --va Lab --tag hseck9 --sku C9K-HSEC --quantity 2 --type perpetual --enforcement export-controlled
step $T0 authority --data A license list --account example.com --va Lab

T1=2026-11-01T10:00:00Z
step $T1 device --state D init --pid C9300-24UX --sn FOC2233A5ZV --hostname sw1 --version 17.9.4
step $T1 device --state D exec "configure terminal" "license boot level network-advantage addon dna-advantage" "license smart transport off" "end" "copy running-config startup-config" "reload"
step $T1 device --state D exec "show license summary" "show license status"

T2=2026-11-15T10:00:00Z
step $T2 device --state D exec "license smart save usage all file bootflash:all_rum.txt" "show license rum id all"
step $T2 authority --data A usage upload --account example.com --va Lab D/bootflash/all_rum.txt --ack ack.txt
step $T2 device --state D exec "license smart import $work/ack.txt" "show license status" "show license rum id all"
step $T2 authority --data A pi list --account example.com --va Lab
step $T2 authority --data A license list --account example.com --va Lab

# Months later the same ACK file again: nothing new, nothing moves (no "Import Data Successful").
T3=2027-03-01T10:00:00Z
step $T3 device --state D exec "license smart import $work/ack.txt" "show license status"

echo
echo "# done: the device's reports are acknowledged and its Next ACK deadline moved on."
[ -n "$keep" ] && echo "# state kept in $work (device: D, authority: A)"
exit 0
