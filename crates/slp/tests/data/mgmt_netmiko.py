"""Drives a running slp device with netmiko, as a network engineer's script does.

Reads {"host", "port", "username", "password", "secret", "config"} as JSON on stdin; prints
JSON with what the device answered (Genie-parsed where netmiko parses).
"""
import json
import sys

from netmiko import ConnectHandler

args = json.load(sys.stdin)
device = ConnectHandler(
    device_type="cisco_xe",
    host=args["host"],
    port=args["port"],
    username=args["username"],
    password=args["password"],
    secret=args["secret"],
)
result = {"prompt": device.find_prompt()}
device.enable()
result["enabled"] = device.check_enable_mode()
result["summary"] = device.send_command("show license summary", use_genie=True)
result["udi"] = device.send_command("show license udi", use_genie=True)
result["config"] = device.send_config_set(args["config"])
result["status"] = device.send_command("show license status", use_genie=True)
result["save"] = device.save_config()
result["uptime"] = device.send_command("show version | include uptime")
device.disconnect()
json.dump(result, sys.stdout)
