#!/usr/bin/env bash
# Shows, as it happens, what the local run (scripts/run-local.sh) does, one line per event in time order:
#   alarm    AlarmRaised / AlarmCleared / ZoneStalenessChanged   (AlarmEvaluator's alarm_outbox, PostgreSQL)
#   saga     each step of a shutdown/power-on run                (power_run_history, once the power saga is there)
#   webhook  what the Notifier delivered to the local receiver   (receiver's /control/received, signature checked)
#   vcenter  hosts and VMs changing state in vcsim               (vcsim's control /state)
#   bmc      BMC power state changes                              (each Redfish simulator's /control/state)
#
#   scripts/timeline.sh [--all] [--once] [--interval 1]
#     --all   also what happened before the last 15 minutes     --once  print what is there and exit
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
demo="$root/.run/demo.env"
[ -f "$demo" ] || pe_die "no local run found ($demo missing): start scripts/run-local.sh first"
# shellcheck disable=SC1090
set -a; source "$demo"; set +a
exec python3 - "$@" <<'PY'
import json, os, ssl, subprocess, sys, time, urllib.request
from datetime import datetime, timedelta, timezone

args = sys.argv[1:]
once, show_all, interval = "--once" in args, "--all" in args, 1.0
if "--interval" in args:
    interval = float(args[args.index("--interval") + 1])
since = datetime.min.replace(tzinfo=timezone.utc) if show_all else datetime.now(timezone.utc) - timedelta(minutes=15)
env = os.environ

def psql(sql):
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", env["PE_POSTGRES_PORT"], "-U", "powerevents", "-d", "powerevents",
                          "-qAtX", "-F", "\t", "-c", sql], capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return [line.split("\t") for line in out.stdout.splitlines() if line]

# The BMC simulators' certificates are fresh self-signed ones; their control state is not a secret.
local_tls = ssl._create_unverified_context()

def get_json(url):
    with urllib.request.urlopen(url, timeout=5, context=local_tls if url.startswith("https://127.0.0.1") else None) as response:
        return json.load(response)

def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)

def table_exists(name):
    return psql(f"SELECT to_regclass('{name}') IS NOT NULL")[0][0] == "t"

def alarm_line(kind, payload):
    p = json.loads(payload)
    zone = p.get("zone") or p.get("Zone")
    if kind in ("AlarmRaised", "AlarmCleared"):
        readings = p.get("readings") or p.get("Readings") or []
        temps = ", ".join(f"{r.get('sensorId') or r.get('SensorId')} {r.get('celsius', r.get('Celsius'))} °C" for r in readings)
        return f"{kind:<20} zone={zone} threshold={p.get('thresholdCelsius', p.get('ThresholdCelsius'))} °C  {temps}"
    if kind == "ZoneStalenessChanged":
        stale = p.get("stale", p.get("Stale"))
        return f"{kind:<20} zone={zone} {'STALE' if stale else 'reporting again'} (fresh {p.get('freshSensors', p.get('FreshSensors'))}/{p.get('requiredSensors', p.get('RequiredSensors'))})"
    return f"{kind:<20} {payload}"

last_outbox = last_history = received_seen = 0
vcenter_before, bmc_before, warned = None, {}, set()

def warn_once(key, text):
    if key not in warned:
        warned.add(key)
        print(f"           ({text})", flush=True)

def poll():
    global last_outbox, last_history, received_seen, vcenter_before
    events = []
    try:
        if table_exists("alarm_outbox"):
            for seq, kind, payload, created, published in psql(
                    f"SELECT seq, message_type, payload, created_at, coalesce(published_at::text, '') FROM alarm_outbox "
                    f"WHERE seq > {last_outbox} ORDER BY seq"):
                last_outbox = int(seq)
                kind = kind.rsplit(".", 1)[-1].split(",")[0].rsplit(":", 1)[-1]
                events.append((when(created), "alarm", alarm_line(kind, payload) + ("" if published else "  (not yet published)")))
        if table_exists("power_run_history"):
            for hid, at, run, cluster, step, target, outcome, detail in psql(
                    f"SELECT id, at, run_id, cluster, step, target, outcome, detail FROM power_run_history "
                    f"WHERE id > {last_history} ORDER BY id"):
                last_history = int(hid)
                events.append((when(at), "saga", f"{step:<16} {target:<22} {outcome:<14} {detail}  [run {run[:8]} {cluster}]"))
        else:
            warn_once("history", "no power_run_history table yet: the power saga has not run here (or is not built)")
    except Exception as e:  # the database may restart; say so once and keep following
        warn_once("pg:" + str(e)[:60], f"PostgreSQL: {e}")
    try:
        calls = get_json(env["PE_WEBHOOK_URL"] + "/control/received")
        for call in calls[received_seen:]:
            body = json.loads(call["body"]) if call["body"].startswith("{") else {}
            sig = call.get("signature") or "-"
            events.append((when(call["receivedAt"]), "webhook",
                           f"{body.get('eventType', '?'):<20} {body.get('severity', '?'):<8} {body.get('title', call['body'][:80])}"
                           f"  (HTTP {call['status']}, signature {sig})"))
        received_seen = len(calls)
    except Exception as e:
        warn_once("rx", f"webhook receiver: {e}")
    try:
        state = get_json(env["PE_VCSIM_CONTROL_URL"] + "/state")
        hosts = {h["name"]: f"{h['powerState']}/{h['connectionState']}{'/maintenance' if h['inMaintenance'] else ''}" for h in state["hosts"]}
        on = sum(1 for v in state["vms"] if v["powerState"] == "poweredOn")
        now = {"hosts": hosts, "vms_on": on, "vms": len(state["vms"]), "vcenter": state.get("vcenterReachable")}
        if vcenter_before is None:
            events.append((datetime.now(timezone.utc), "vcenter", f"{on}/{len(state['vms'])} VMs on; hosts " + ", ".join(f"{k} {v}" for k, v in hosts.items())))
        else:
            for name, value in hosts.items():
                if vcenter_before["hosts"].get(name) != value:
                    events.append((datetime.now(timezone.utc), "vcenter", f"host {name} {value}"))
            if vcenter_before["vms_on"] != on:
                events.append((datetime.now(timezone.utc), "vcenter", f"{on}/{len(state['vms'])} VMs powered on"))
        vcenter_before = now
    except Exception as e:
        warn_once("vc", f"vcsim control: {e}")
    for url in env.get("PE_BMC_URLS", "").split():
        try:
            power = get_json(url + "control/state").get("powerState")
            if bmc_before.get(url) != power:
                events.append((datetime.now(timezone.utc), "bmc", f"{url} PowerState {power}"))
                bmc_before[url] = power
        except Exception as e:
            warn_once("bmc" + url, f"BMC simulator {url}: {e}")
    for at, source, text in sorted(events, key=lambda e: e[0]):
        if at >= since:
            print(f"{at.astimezone().strftime('%H:%M:%S.%f')[:-3]}  {source:<8} {text}", flush=True)

print(f"timeline of zone {env['PE_DEMO_ZONE']} (Ctrl-C to stop)", flush=True)
try:
    while True:
        poll()
        if once:
            break
        time.sleep(interval)
except KeyboardInterrupt:
    pass
PY
