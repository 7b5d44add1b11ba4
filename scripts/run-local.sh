#!/usr/bin/env bash
# Runs PowerEvents on this machine against local servers and simulators (no real vCenter needed):
# RabbitMQ with its management UI, PostgreSQL, vcsim, the Meraki simulator, one Redfish BMC simulator
# per vcsim host, a webhook receiver, and the five services, each its own process with its own log
# under .run/logs. Ctrl-C (or SIGTERM) stops everything this script started; servers that were
# already running are left alone.
#
#   scripts/run-local.sh [--fresh] [--small]   --fresh: forget the alarm/notifier/saga state and the queued messages of earlier runs;
#                                               --small: the old kind cluster instead of the typical small one (issue 12)
#
# Then, in another terminal: scripts/timeline.sh (what happens) and scripts/excursion.sh start|end.
# Environment: PE_RUN_NO_BUILD=1 skips the build; ports in scripts/env.sh (PE_MERAKI_PORT,
# PE_BMC_BASE_PORT, PE_WEBHOOK_PORT, PE_SERVICE_BASE_PORT).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
cd "$root"

fresh=false
# The "typical small cluster" of issue 12 by default: 3 hosts, vSAN, vCenter's VM vcsa on host 2, vCLS, HA and DRS
# fully automated, a DNS VM, each host's own ESXi API. --small: the old kind cluster (external vCenter, none of that).
topology=typical-small
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=true ;;
    --small) topology=small ;;
    *) pe_die "usage: $0 [--fresh] [--small]" ;;
  esac
done
if [ "$topology" = typical-small ]; then
  export PE_VCSIM_ARGS="-topology typical-small -esxi-base-port $PE_ESXI_BASE_PORT"
else
  export PE_VCSIM_ARGS=""
fi

run="$root/.run"
logs="$run/logs"
secrets="$run/secrets"
mkdir -p "$logs" "$secrets"
chmod 700 "$secrets"

services=(SensorPoller AlarmEvaluator VCenterActuator IloActuator Notifier Console)
declare -A ports
for i in "${!services[@]}"; do ports[${services[$i]}]=$((PE_SERVICE_BASE_PORT + 1 + i)); done

# A second run-local (or anything else) on our ports would make this one talk to the wrong processes.
for port in "${ports[@]}" "$PE_MERAKI_PORT" "$PE_WEBHOOK_PORT"; do
  pe_port_open "$port" && pe_die "port $port is already in use (another scripts/run-local.sh running?)"
done

"$root/scripts/install-deps.sh"
"$root/scripts/vcsim.sh" build

# Remember which servers were already up, so stopping leaves those alone.
started_servers=()
before="$("$root/scripts/test-servers.sh" status 2>/dev/null || true)"
for server in rabbitmq postgres vcsim; do
  grep -q "^$server: up" <<<"$before" || started_servers+=("$server")
done

pids=()      # every process this script started itself, stopped in reverse order
names=()
stopping=false
stop_all() {
  trap - INT TERM EXIT
  $stopping && return; stopping=true
  pe_log "stopping what run-local started"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    local pid=${pids[$i]} waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 150)); do sleep 0.2; waited=$((waited + 1)); done
    if kill -0 "$pid" 2>/dev/null; then pe_log "${names[$i]} (pid $pid) ignored TERM for 30 s; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  if [ ${#started_servers[@]} -gt 0 ]; then "$root/scripts/test-servers.sh" stop "${started_servers[@]}"; fi
  rm -f "$run/demo.env"
  pe_log "stopped"
  exit 0
}
trap stop_all INT TERM EXIT

"$root/scripts/test-servers.sh" start

if [ "${PE_RUN_NO_BUILD:-}" != 1 ]; then
  dotnet build PowerEvents.sln -c Debug -nologo -clp:ErrorsOnly
fi

dll() { # dll <folder> <assembly>
  local path="$root/$1/bin/Debug/net10.0/$2.dll"
  [ -f "$path" ] || pe_die "$path is missing: build first (dotnet build PowerEvents.sln)"
  echo "$path"
}

# A virtual host of its own: queues left by tests or earlier builds on "/" never feed this run, and --fresh can
# drop every message of earlier local runs (a durable queue keeps old AlarmRaised messages while no one consumes).
vhost=powerevents-local
mgmt="http://127.0.0.1:$PE_RABBITMQ_MGMT_PORT/api"
$fresh && curl -fsS -u guest:guest -X DELETE "$mgmt/vhosts/$vhost" >/dev/null 2>&1 || true
curl -fsS -u guest:guest -X PUT "$mgmt/vhosts/$vhost" >/dev/null
curl -fsS -u guest:guest -X PUT "$mgmt/permissions/$vhost/guest" -H 'content-type: application/json' \
  -d '{"configure":".*","write":".*","read":".*"}' >/dev/null

psql_local() { psql -h 127.0.0.1 -p "$PE_POSTGRES_PORT" -U powerevents -d powerevents -v ON_ERROR_STOP=1 -qAtc "$1"; }
if $fresh; then
  pe_log "--fresh: dropping the local run's alarm, notifier and saga state"
  # Every table but the console's, and their migrations' records: the services re-create them at start (a table dropped
  # while schema_migrations still lists its migration would never come back).
  psql_local "DO \$\$ DECLARE t text; BEGIN
      FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'console\\_%' AND tablename <> 'schema_migrations' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', t);
      END LOOP;
      IF to_regclass('public.schema_migrations') IS NOT NULL THEN DELETE FROM schema_migrations WHERE component <> 'console'; END IF;
    END \$\$; DROP SCHEMA IF EXISTS notifier CASCADE;"
  # The console's read model only (its accounts, tokens, audit trail and power windows are kept).
  psql_local "DELETE FROM console_events" 2>/dev/null || true
fi

# Secrets of this run: fresh random values in files only this user can read, handed over as *_FILE.
new_secret() { [ -s "$secrets/$1" ] || (umask 077; head -c 48 /dev/urandom | base64 | tr -d '/+=\n' > "$secrets/$1"); }
new_secret meraki_api_key
new_secret bmc_password
new_secret webhook_signing_secret
# The console's first account (admin) lives in PostgreSQL under $PE_STATE_DIR and outlives this clone's .run: its
# password is kept beside it, or a new clone on the same state dir would print a password the account never had.
console_secrets="$PE_STATE_DIR/console-secrets"
mkdir -p "$console_secrets" && chmod 700 "$console_secrets"
if [ ! -s "$console_secrets/console_admin_password" ] && [ -s "$secrets/console_admin_password" ]; then
  cp -p "$secrets/console_admin_password" "$console_secrets/"  # a run before this layout: its account keeps its password
fi
secrets="$console_secrets" new_secret console_admin_password
ln -sf "$console_secrets/console_admin_password" "$secrets/console_admin_password"

# One broker account per service and the read-only 'operator', as docker-compose creates them (docs/deploy.md,
# "Broker accounts"): the permissions of deploy/rabbitmq/users.json on this run's virtual host; guest is the admin.
for account in alarm_evaluator vcenter_actuator ilo_actuator sensor_poller notifier console operator; do
  new_secret "rabbitmq_${account}_password"
done
printf '%s' guest > "$secrets/rabbitmq_admin_password"
python3 "$root/deploy/rabbitmq/rabbitmq-users.py" --api "$mgmt" --vhost "$vhost" --admin-user guest \
  --admin-password-file "$secrets/rabbitmq_admin_password" --passwords "$secrets" >/dev/null

# start <name> <log> <command...>: one process, its own log, remembered for stop_all.
start() {
  local name=$1 log=$2; shift 2
  "$@" > "$log" 2>&1 &
  pids+=($!); names+=("$name")
}

wait_for() { # wait_for <name> <seconds> <command...>: until the command succeeds or the process died
  local name=$1 timeout=$2 pid=${pids[-1]} start=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$logs/$name.log" >&2; pe_die "$name exited during start (log: $logs/$name.log)"; }
    (( SECONDS - start > timeout )) && { tail -20 "$logs/$name.log" >&2; pe_die "$name not ready after $timeout s"; }
    sleep 0.3
  done
}

# --- Simulators -----------------------------------------------------------------------------------
meraki_url="http://127.0.0.1:$PE_MERAKI_PORT"
Simulator__ApiKeys__0="$(cat "$secrets/meraki_api_key")" start MerakiSimulator "$logs/MerakiSimulator.log" \
  dotnet "$(dll tools/MerakiSimulator PowerEvents.MerakiSimulator)" --urls "$meraki_url" --Simulator:Demo=true
wait_for MerakiSimulator 60 curl -fsS "$meraki_url/_sim/requests"
# The demo sensors report every 20 s; every 5 s makes the demo livelier. They start at 24 °C.
demo_network=N_24329156
demo_sensors=(Q3CA-AAAA-0001 Q3CA-AAAA-0002 Q3CA-AAAA-0003)
for serial in "${demo_sensors[@]}"; do
  curl -fsS -X PUT "$meraki_url/_sim/sensors/$serial" -H 'Content-Type: application/json' \
    -d "{\"networkId\":\"$demo_network\",\"celsius\":24,\"reportEverySeconds\":5}"
done

# One BMC per host of the vcsim cluster (ESXi host names from vcsim's own state).
vcsim_control="http://127.0.0.1:$PE_VCSIM_CONTROL_PORT"
mapfile -t hosts < <(curl -fsS "$vcsim_control/state" | python3 -c \
  'import json,sys; [print(h["name"]) for h in json.load(sys.stdin)["hosts"] if h.get("cluster")]')
[ ${#hosts[@]} -gt 0 ] || pe_die "vcsim reports no cluster hosts at $vcsim_control/state"
# On at start, as the hosts are; BmcFollower (below) turns a BMC Off when its host shuts down in vcsim, and the BMC
# brings the host back in vcsim when the saga powers it on.
REDFISH_SIM_Password="$(cat "$secrets/bmc_password")" start RedfishSimulator "$logs/RedfishSimulator.log" \
  dotnet "$(dll tools/RedfishSimulator PowerEvents.RedfishSimulator)" --Count="${#hosts[@]}" --BasePort="$PE_BMC_BASE_PORT" \
  --VcsimControlUrl="$vcsim_control" --Username=powerevents --BootDelay=00:00:05 --InitialPowerState=On
bmc_ready() { [ "$(grep -c '^REDFISH_READY ' "$logs/RedfishSimulator.log")" -ge "${#hosts[@]}" ]; }
wait_for RedfishSimulator 60 bmc_ready
mapfile -t bmc_map < <(grep '^REDFISH_READY ' "$logs/RedfishSimulator.log" | sed -n 's/.* url=\([^ ]*\).* vcsimHost=\([^ ]*\).*/\2=\1/p')
start BmcFollower "$logs/BmcFollower.log" python3 -u "$root/scripts/bmc-follow-vcsim.py" "$vcsim_control" "${bmc_map[@]}"
wait_for BmcFollower 30 grep -q '^following ' "$logs/BmcFollower.log"

webhook_url="http://127.0.0.1:$PE_WEBHOOK_PORT"
Receiver__SigningSecret="$(cat "$secrets/webhook_signing_secret")" start WebhookReceiver "$logs/WebhookReceiver.log" \
  dotnet "$(dll tools/WebhookReceiver PowerEvents.WebhookReceiver)" --urls "$webhook_url"
wait_for WebhookReceiver 60 curl -fsS "$webhook_url/health"

# --- The five services, configured against the simulators through environment variables -----------
export DOTNET_ENVIRONMENT=Development
export RabbitMq__Host=127.0.0.1 RabbitMq__Port="$PE_RABBITMQ_PORT" RabbitMq__VirtualHost="$vhost"
# Actuators carry out commands from the saga's account only.
export Bus__CommandOrigin=alarm-evaluator
export Postgres__Host=127.0.0.1 Postgres__Port="$PE_POSTGRES_PORT" Postgres__Database=powerevents Postgres__Username=powerevents

demo_zone=server-room
poller_env=(
  SensorPoller__Meraki__0__Name=meraki-sim
  SensorPoller__Meraki__0__BaseUrl="$meraki_url/api/v1/"
  SensorPoller__Meraki__0__OrganizationId=549236
  SensorPoller__Meraki__0__NetworkIds__0="$demo_network"
  SensorPoller__Meraki__0__Interval=00:00:05
  SensorPoller__Meraki__0__AllowInsecureHttp=true
  SensorPoller__Meraki__0__ApiKey_FILE="$secrets/meraki_api_key"
)
# Short hold times for a demo: three readings 10 s apart above 35 °C (2 of 3 sensors) raise the alarm.
evaluator_env=(
  AlarmEvaluator__Zones__0__Name="$demo_zone"
  AlarmEvaluator__Zones__0__HighCelsius=35
  AlarmEvaluator__Zones__0__LowCelsius=30
  AlarmEvaluator__Zones__0__Quorum=2
  AlarmEvaluator__Zones__0__ConsecutiveSamples=3
  AlarmEvaluator__Zones__0__HoldTime=00:00:10
  AlarmEvaluator__Zones__0__StaleAfter=00:01:00
  AlarmEvaluator__StaleCheckInterval=00:00:05
  AlarmEvaluator__OutboxInterval=00:00:02
  # The power saga (docs/power-saga.md): cluster1 protects the demo zone; short deadlines for a demo.
  Power__Clusters__0__Name=cluster1
  Power__Clusters__0__Zone="$demo_zone"
  Power__Clusters__0__GuestShutdownTimeout=00:00:30
  Power__Clusters__0__TierDeadline=00:01:00
  Power__Clusters__0__MaintenanceDeadline=00:02:00
  Power__Clusters__0__HostShutdownDeadline=00:02:00
  Power__Clusters__0__InventoryDeadline=00:00:30
  # The power-on after the clear: 20 s after the shutdown completed at the earliest (5 min by default), hosts 5 s
  # apart, vCenter polled every 3 s for the hosts coming back.
  Power__Clusters__0__MinimumOffTime=00:00:20
  Power__Clusters__0__PowerOnStagger=00:00:05
  Power__Clusters__0__ReconnectPollInterval=00:00:03
  Power__Clusters__0__HostPowerOnDeadline=00:02:00
  Power__Clusters__0__HostReconnectDeadline=00:02:00
  Power__Clusters__0__ExitMaintenanceDeadline=00:01:00
  Power__Clusters__0__PowerOnTierDeadline=00:01:00
)
for i in "${!demo_sensors[@]}"; do evaluator_env+=("AlarmEvaluator__Zones__0__Sensors__$i=${demo_sensors[$i]}"); done
vcenter_env=(
  VCenter__Url="https://127.0.0.1:$PE_VCSIM_PORT/sdk" VCenter__Username=user VCenter__Password=pass
  VCenter__CertificateFingerprint="$(cat "$PE_STATE_DIR/vcsim/fingerprint")"
)
if [ "$topology" = typical-small ]; then
  # Each host's own API (vCenter's host is finished and vCenter started through it), pinned to vcsim's certificate;
  # vcsim's ESXi password, handed over as a file like every secret here.
  printf '%s' esxpass >"$secrets/esxi_password"
  chmod 600 "$secrets/esxi_password"
  while IFS='=' read -r host url; do
    vcenter_env+=("VCenter__Hosts__${host}__Url=$url" "VCenter__Hosts__${host}__Username=root"
      "VCenter__Hosts__${host}__Password_FILE=$secrets/esxi_password"
      "VCenter__Hosts__${host}__CertificateFingerprint=$(cat "$PE_STATE_DIR/vcsim/fingerprint")")
  done < <(curl -fsS "$vcsim_control/state" | python3 -c \
    'import json,sys; [print(h["name"] + "=" + h["esxiUrl"]) for h in json.load(sys.stdin)["hosts"] if h.get("esxiUrl")]')
  # UseVsanClusterPowerApi is left at its default (auto): vcsim's vCenter reports API 7.0.3, so the hosts go down and back
  # through vSAN's cluster power API; the demo's deadlines for it are minutes, not the production 35/30 min.
  evaluator_env+=(Power__Clusters__0__InfrastructureVmPatterns__0='^dns$' Power__Clusters__0__ClusterStepDeadline=00:02:00
    Power__Clusters__0__EsxiHostShutdownDeadline=00:03:00 Power__Clusters__0__VCenterStartDeadline=00:03:00
    Power__Clusters__0__VsanClusterPowerDeadline=00:04:00)
  vcenter_env+=(VCenter__VsanClusterPowerTimeout=00:03:00)
fi
bmc_env=(Bmc__PollInterval=00:00:01 Bmc__PowerOnTimeout=00:01:00)
bmc_listing=""
i=0
while read -r line; do
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  bmc_env+=(Bmc__Hosts__${i}__Name="$(field name)" Bmc__Hosts__${i}__Url="$(field url)" Bmc__Hosts__${i}__Username=powerevents
    Bmc__Hosts__${i}__Password_FILE="$secrets/bmc_password" Bmc__Hosts__${i}__CertificateFingerprint="$(field fingerprint)"
    Bmc__Hosts__${i}__SystemId=1)
  bmc_listing+="                          $(field name)  $(field url)control/state"$'\n'
  i=$((i + 1))
done < <(grep '^REDFISH_READY ' "$logs/RedfishSimulator.log")
notifier_env=(
  Notifier__Site=local-demo
  Notifier__Destinations__0__Name=local-receiver
  Notifier__Destinations__0__Format=generic
  Notifier__Destinations__0__Url="$webhook_url/hooks/powerevents"
  Notifier__Destinations__0__AllowHttp=true
  Notifier__Destinations__0__SigningSecret_FILE="$secrets/webhook_signing_secret"
  Notifier__Delivery__PollInterval=00:00:05
)
# The operator console (docs/console.md): the demo cluster and zone known beforehand, the saga's minimum off time.
# SecureCookies stays on: browsers keep Secure cookies on http://localhost.
console_env=(
  Console__AdminUser=admin
  Console__AdminPassword_FILE="$secrets/console_admin_password"
  Console__Clusters__0__Name=cluster1
  Console__Clusters__0__Zones__0="$demo_zone"
  Console__Zones__0__Name="$demo_zone"
  Console__Zones__0__HighCelsius=35
  Console__Zones__0__LowCelsius=30
  Console__MinimumOffTime=00:00:20
)
for i in "${!demo_sensors[@]}"; do console_env+=("Console__Zones__0__Sensors__$i=${demo_sensors[$i]}"); done

for service in "${services[@]}"; do
  case $service in
    SensorPoller) extra=("${poller_env[@]}") ;;
    AlarmEvaluator) extra=("${evaluator_env[@]}") ;;
    VCenterActuator) extra=("${vcenter_env[@]}") ;;
    IloActuator) extra=("${bmc_env[@]}") ;;
    Notifier) extra=("${notifier_env[@]}") ;;
    Console) extra=("${console_env[@]}") ;;
  esac
  # Its own broker account: SensorPoller -> sensor-poller, secrets/rabbitmq_sensor_poller_password.
  account=$(sed -E 's/([a-z])([A-Z])/\1-\2/g' <<<"$service" | tr 'A-Z' 'a-z')
  extra+=(RabbitMq__Username="$account" RabbitMq__Password_FILE="$secrets/rabbitmq_${account//-/_}_password")
  start "$service" "$logs/$service.log" env Urls="http://127.0.0.1:${ports[$service]}" "${extra[@]}" \
    dotnet "$(dll "services/$service" "PowerEvents.$service")"
done

for i in "${!services[@]}"; do
  service=${services[$i]}
  url="http://127.0.0.1:${ports[$service]}/health/ready"
  pid=${pids[$((${#pids[@]} - ${#services[@]} + i))]}
  deadline=$((SECONDS + 60))
  until curl -fsS "$url" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$logs/$service.log" >&2; pe_die "$service exited during start (log: $logs/$service.log)"; }
    if (( SECONDS > deadline )); then tail -20 "$logs/$service.log" >&2; pe_die "$service not ready at $url"; fi
    sleep 0.5
  done
done

# What scripts/excursion.sh and scripts/timeline.sh need to find this run.
cat > "$run/demo.env" <<ENV
PE_DEMO_ZONE=$demo_zone
PE_DEMO_NETWORK=$demo_network
PE_DEMO_SENSORS="${demo_sensors[*]}"
PE_MERAKI_URL=$meraki_url
PE_WEBHOOK_URL=$webhook_url
PE_VCSIM_CONTROL_URL=$vcsim_control
PE_BMC_URLS="$(grep '^REDFISH_READY ' "$logs/RedfishSimulator.log" | sed -n 's/.* url=\([^ ]*\).*/\1/p' | tr '\n' ' ')"
PE_ALARM_EVALUATOR_URL=http://127.0.0.1:${ports[AlarmEvaluator]}
PE_CONSOLE_URL=http://localhost:${ports[Console]}/
ENV

cat <<INFO

PowerEvents is running.
  RabbitMQ management UI  http://127.0.0.1:$PE_RABBITMQ_MGMT_PORT  (guest / guest, or operator / $secrets/rabbitmq_operator_password), virtual host $vhost
  PostgreSQL              127.0.0.1:$PE_POSTGRES_PORT database powerevents, user powerevents
  vcsim (vSphere API)     https://127.0.0.1:$PE_VCSIM_PORT/sdk  (user / pass); state: $vcsim_control/state
  Meraki simulator        $meraki_url/api/v1  (org 549236, network $demo_network, zone $demo_zone: ${demo_sensors[*]})
                          control API: $meraki_url/_sim/... (docs/sensing.md)
  BMC simulators          one per host (Redfish; control API: GET …/control/state, docs/bmc.md)
$bmc_listing  Webhook receiver        $webhook_url/control/received  (what the Notifier sent, signatures checked)
  Services (health)       $(for s in "${services[@]}"; do printf '%s :%s  ' "$s" "${ports[$s]}"; done)
                          e.g. http://127.0.0.1:${ports[AlarmEvaluator]}/health/ready
  Operator console        http://localhost:${ports[Console]}/   log in as admin, password in $secrets/console_admin_password
                          (OpenAPI: http://localhost:${ports[Console]}/openapi/v1.json; docs/console.md)
  Logs                    $logs/<name>.log   (tail -f $logs/*.log)
  Secrets of this run     $secrets/ (random, handed to the services as *_FILE)

Drive a thermal excursion in zone $demo_zone and watch what happens (in another terminal):
  scripts/timeline.sh            # alarm transitions, saga steps, webhooks, hosts — as they happen
  scripts/excursion.sh start     # the zone's sensors read 40 °C: AlarmRaised after ~15 s
  scripts/excursion.sh end       # back to 24 °C: AlarmCleared after ~15 s; once the cluster has been off 20 s,
                                 # the BMCs power the hosts on, maintenance mode is left and the VMs that ran start again

Press Ctrl-C to stop.
INFO

# Exit (and stop the rest) if any process this script started dies.
wait -n "${pids[@]}" || true
pe_log "a process exited; see $logs"
exit 1
