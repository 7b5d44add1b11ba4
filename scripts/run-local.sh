#!/usr/bin/env bash
# Runs PowerEvents on this machine against local servers and simulators (no real vCenter needed):
# RabbitMQ with its management UI, PostgreSQL, vcsim, and the five services, each its own process
# with its own log under .run/logs. Ctrl-C (or SIGTERM) stops everything this script started.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
cd "$root"

logs="$root/.run/logs"
mkdir -p "$logs"

"$root/scripts/install-deps.sh"
"$root/scripts/vcsim.sh" build

# Remember which servers were already up, so stopping leaves those alone.
started_servers=()
before="$("$root/scripts/test-servers.sh" status 2>/dev/null || true)"
for server in rabbitmq postgres vcsim; do
  grep -q "^$server: up" <<<"$before" || started_servers+=("$server")
done
"$root/scripts/test-servers.sh" start

dotnet build PowerEvents.sln -c Debug -nologo -clp:ErrorsOnly

export DOTNET_ENVIRONMENT=Development
export RabbitMq__Host=127.0.0.1 RabbitMq__Port="$PE_RABBITMQ_PORT" RabbitMq__Username=guest RabbitMq__Password=guest
export Postgres__Host=127.0.0.1 Postgres__Port="$PE_POSTGRES_PORT" Postgres__Database=powerevents Postgres__Username=powerevents
export VCenter__Url="https://127.0.0.1:$PE_VCSIM_PORT/sdk" VCenter__Username=user VCenter__Password=pass
VCenter__CertificateFingerprint="$(cat "$PE_STATE_DIR/vcsim/fingerprint")"; export VCenter__CertificateFingerprint

declare -A ports=([SensorPoller]=5101 [AlarmEvaluator]=5102 [VCenterActuator]=5103 [IloActuator]=5104 [Notifier]=5105)
services=(SensorPoller AlarmEvaluator VCenterActuator IloActuator Notifier)
pids=()

stop_all() {
  trap - INT TERM EXIT
  pe_log "stopping services"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ ${#started_servers[@]} -gt 0 ]; then "$root/scripts/test-servers.sh" stop "${started_servers[@]}"; fi
  pe_log "stopped"
  exit 0
}
trap stop_all INT TERM EXIT

for service in "${services[@]}"; do
  dll="$root/services/$service/bin/Debug/net10.0/PowerEvents.$service.dll"
  Urls="http://127.0.0.1:${ports[$service]}" dotnet "$dll" > "$logs/$service.log" 2>&1 &
  pids+=($!)
done

for service in "${services[@]}"; do
  url="http://127.0.0.1:${ports[$service]}/health/ready"
  deadline=$((SECONDS + 60))
  until curl -fsS "$url" >/dev/null 2>&1; do
    if (( SECONDS > deadline )); then tail -20 "$logs/$service.log" >&2; pe_die "$service not ready at $url"; fi
    sleep 0.5
  done
done

cat <<INFO

PowerEvents is running.
  RabbitMQ management UI  http://127.0.0.1:$PE_RABBITMQ_MGMT_PORT  (guest / guest)
  vcsim (vSphere API)     https://127.0.0.1:$PE_VCSIM_PORT/sdk     (user / pass)
  PostgreSQL              127.0.0.1:$PE_POSTGRES_PORT database powerevents, user powerevents
  Services (health)       $(for s in "${services[@]}"; do printf '%s http://127.0.0.1:%s/health/ready  ' "$s" "${ports[$s]}"; done)
  Logs                    $logs/<Service>.log   (tail -f $logs/*.log)

Press Ctrl-C to stop.
INFO

# Exit (and stop the rest) if any service dies.
wait -n "${pids[@]}" || true
pe_log "a service exited; see $logs"
exit 1
