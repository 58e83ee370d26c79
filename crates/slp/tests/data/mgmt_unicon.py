"""Drives a running slp device with pyATS/unicon (os iosxe): connect, parse, execute.

Reads {"host", "port", "username", "password", "secret"} as JSON on stdin; prints JSON.
"""
import json
import sys

from pyats.topology import loader

args = json.load(sys.stdin)
testbed = loader.load(
    {
        "devices": {
            "sw1": {
                "os": "iosxe",
                "type": "switch",
                "credentials": {
                    "default": {"username": args["username"], "password": args["password"]},
                    "enable": {"password": args["secret"]},
                },
                "connections": {
                    "cli": {
                        "protocol": "ssh",
                        "ip": args["host"],
                        "port": args["port"],
                        "ssh_options": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                    }
                },
            }
        }
    }
)
device = testbed.devices["sw1"]
device.connect(log_stdout=False, learn_hostname=True)
result = {
    "hostname": device.hostname,
    "summary": device.parse("show license summary"),
    "version": device.execute("show version"),
}
device.disconnect()
json.dump(result, sys.stdout)
