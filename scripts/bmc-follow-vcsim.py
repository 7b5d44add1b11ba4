#!/usr/bin/env python3
"""Keeps the local run's BMC simulators in step with vcsim, as real BMCs are with their servers.

A host shut down through vCenter (ShutdownHost_Task) is powered off; its iLO then reports PowerState Off. The Redfish
simulator does not see vcsim, so this follower tells it: every host that vcsim's journal shows going to poweredOff
gets its BMC set to Off (POST <bmc>/control/power). The way back needs nothing: the BMC itself brings the host back in
vcsim when it reaches On. Started and stopped by scripts/run-local.sh.

  bmc-follow-vcsim.py <vcsim control url> <host>=<bmc url> ...
"""
import json, ssl, sys, time, urllib.request

control = sys.argv[1].rstrip("/")
bmcs = dict(arg.split("=", 1) for arg in sys.argv[2:])
# The simulators' certificates are fresh self-signed ones on loopback; their control API is no secret.
local_tls = ssl._create_unverified_context()

def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)

def set_off(host):
    request = urllib.request.Request(bmcs[host].rstrip("/") + "/control/power", data=b'{"state":"Off"}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5, context=local_tls):
        pass
    print(f"{time.strftime('%H:%M:%S')} {host} powered off in vcsim: its BMC now reports Off", flush=True)

# Hosts already off at start: their BMCs must report Off too.
state = get_json(f"{control}/state")
seq = max((e["seq"] for e in state.get("journal", [])), default=0)
for host in state["hosts"]:
    if host["name"] in bmcs and host["powerState"] != "poweredOn":
        set_off(host["name"])
print(f"following {len(bmcs)} host(s) from journal seq {seq}", flush=True)
while True:
    try:
        for entry in get_json(f"{control}/state?since={seq}").get("journal", []):
            seq = max(seq, entry["seq"])
            if entry.get("kind") == "host" and entry.get("event") == "powerState" and entry.get("to") != "poweredOn" \
                    and entry.get("name") in bmcs:
                set_off(entry["name"])
    except (OSError, ValueError) as error:  # vcsim or a BMC restarting: try again next second
        print(f"{time.strftime('%H:%M:%S')} {error}", flush=True)
    time.sleep(1)
