#!/usr/bin/env bash
# Drives a thermal excursion in the local run (scripts/run-local.sh) through the Meraki simulator's
# control API: every sensor of the zone reads hot (start) or normal again (end), reporting every 5 s.
#
#   scripts/excursion.sh start [zone] [--celsius 40]   the zone's sensors read 40 °C → AlarmRaised
#   scripts/excursion.sh end [zone] [--celsius 24]     back to normal → AlarmCleared
#   scripts/excursion.sh status [zone]                 what the simulator's sensors read now
#
# The demo zone is server-room (sensors Q3CA-AAAA-0001..0003, raise at 35 °C, clear below 30 °C,
# 2 of 3 sensors, 3 readings over 10 s). Watch the effects with scripts/timeline.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
demo="$root/.run/demo.env"
[ -f "$demo" ] || pe_die "no local run found ($demo missing): start scripts/run-local.sh first"
# shellcheck disable=SC1090
source "$demo"

action="${1:-}"; shift || true
zone="$PE_DEMO_ZONE" celsius=""
while [ $# -gt 0 ]; do
  case "$1" in
    --celsius) celsius="$2"; shift 2 ;;
    -*) pe_die "unknown option $1" ;;
    *) zone="$1"; shift ;;
  esac
done
[ "$zone" = "$PE_DEMO_ZONE" ] || pe_die "unknown zone '$zone': the local run has zone '$PE_DEMO_ZONE'"

set_sensors() {
  for serial in $PE_DEMO_SENSORS; do
    curl -fsS -X PUT "$PE_MERAKI_URL/_sim/sensors/$serial" -H 'Content-Type: application/json' \
      -d "{\"networkId\":\"$PE_DEMO_NETWORK\",\"celsius\":$1,\"reportEverySeconds\":5}" \
      || pe_die "the Meraki simulator at $PE_MERAKI_URL did not accept the change"
  done
}

case "$action" in
  start)
    set_sensors "${celsius:-40}"
    pe_log "excursion started in zone $zone: $PE_DEMO_SENSORS read ${celsius:-40} °C (AlarmRaised expected in ~15 s)" ;;
  end)
    set_sensors "${celsius:-24}"
    pe_log "excursion ended in zone $zone: $PE_DEMO_SENSORS read ${celsius:-24} °C (AlarmCleared expected in ~15 s; power-on once the cluster has been off for the minimum off time)" ;;
  status)
    key="$(cat "$root/.run/secrets/meraki_api_key")"
    curl -fsS -H "Authorization: Bearer $key" \
      "$PE_MERAKI_URL/api/v1/organizations/549236/sensor/readings/latest?metrics[]=temperature&networkIds[]=$PE_DEMO_NETWORK" \
      | python3 -c 'import json,sys
for s in json.load(sys.stdin):
    for r in s["readings"]:
        print("%s  %5.1f °C  at %s" % (s["serial"], r["temperature"]["celsius"], r["ts"]))' ;;
  *) pe_die "usage: $0 start|end|status [zone] [--celsius N]" ;;
esac
