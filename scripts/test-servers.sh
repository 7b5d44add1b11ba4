#!/usr/bin/env bash
# Starts/stops the real servers the tests and the local run use: RabbitMQ (with the management UI and the
# MQTT plugin, a local broker for Meraki MT telemetry on $PE_MQTT_PORT, and over TLS on $PE_MQTTS_PORT with a
# throwaway CA generated once under $PE_STATE_DIR/tls),
# PostgreSQL 15 and vcsim, each on a private port with its data under $PE_STATE_DIR. Idempotent:
# `start` leaves a server that already answers alone.
#
#   scripts/test-servers.sh start|stop|status [rabbitmq|postgres|vcsim ...]   (default: all)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"

rabbit_dir="$PE_STATE_DIR/rabbitmq"
pg_dir="$PE_STATE_DIR/postgres"
pg_bin="$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)"

rabbit_env() {
  export HOME="$rabbit_dir" # the Erlang cookie lives here, private to this instance
  export RABBITMQ_NODENAME="pe-test-$PE_RABBITMQ_PORT@localhost" # unique per instance: several may run side by side
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$PE_RABBITMQ_PORT"
  export RABBITMQ_DIST_PORT=$((PE_RABBITMQ_PORT + 2))
  export ERL_EPMD_PORT=$((PE_RABBITMQ_PORT + 3))
  export RABBITMQ_MNESIA_BASE="$rabbit_dir/mnesia"
  export RABBITMQ_LOG_BASE="$rabbit_dir/log"
  export RABBITMQ_CONFIG_FILE="$rabbit_dir/rabbitmq"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$rabbit_dir/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$rabbit_dir/rabbitmq-env.conf"
  export RABBITMQ_PID_FILE="$rabbit_dir/rabbitmq.pid"
}

rabbit_answers() {
  curl -fsS -u guest:guest "http://127.0.0.1:$PE_RABBITMQ_MGMT_PORT/api/overview" >/dev/null 2>&1 \
    && pe_port_open "$PE_RABBITMQ_PORT"
}

# Ready means every listener the tests use: an instance started by an older version of this script (without MQTT or
# its TLS listener) answers but is not ready, and `start` replaces it.
rabbit_ready() {
  rabbit_answers && pe_port_open "$PE_MQTT_PORT" && pe_port_open "$PE_MQTTS_PORT"
}

# A throwaway CA and a server certificate for 127.0.0.1/localhost, made once (never committed): the MQTT TLS
# listener's, and what the tests pin (by its SHA-256 fingerprint) or trust.
rabbit_tls() {
  local dir="$PE_STATE_DIR/tls"
  [ -s "$dir/server.pem" ] && [ -s "$dir/server.key" ] && [ -s "$dir/ca.pem" ] && return 0
  command -v openssl >/dev/null || pe_apt_install openssl
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=PowerEvents test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > "$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
    -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
  rm -f "$dir/server.csr" "$dir/server.ext"
  chmod 600 "$dir/ca.key"
  pe_log "generated a test CA and a server certificate for 127.0.0.1/localhost in $dir"
}

start_rabbitmq() {
  if rabbit_ready; then
    pe_log "rabbitmq already answers on $PE_RABBITMQ_PORT"
    return
  fi
  if rabbit_answers; then
    pe_log "rabbitmq on $PE_RABBITMQ_PORT lacks its MQTT listeners (127.0.0.1:$PE_MQTT_PORT, TLS 127.0.0.1:$PE_MQTTS_PORT): restarting it"
    stop_rabbitmq
  fi
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || pe_apt_install rabbitmq-server curl
  rabbit_tls
  mkdir -p "$rabbit_dir/log" "$rabbit_dir/mnesia"
  : > "$rabbit_dir/rabbitmq-env.conf"
  echo '[rabbitmq_management,rabbitmq_mqtt].' > "$rabbit_dir/enabled_plugins"
  cat > "$rabbit_dir/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$PE_RABBITMQ_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $PE_RABBITMQ_MGMT_PORT
mqtt.listeners.tcp.default = 127.0.0.1:$PE_MQTT_PORT
mqtt.listeners.ssl.default = 127.0.0.1:$PE_MQTTS_PORT
mqtt.allow_anonymous = false
ssl_options.cacertfile = $PE_STATE_DIR/tls/ca.pem
ssl_options.certfile = $PE_STATE_DIR/tls/server.pem
ssl_options.keyfile = $PE_STATE_DIR/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
log.console = false
log.file.level = info
CONF
  ( rabbit_env; cd "$rabbit_dir"; nohup /usr/lib/rabbitmq/bin/rabbitmq-server > "$rabbit_dir/server.out" 2>&1 & echo $! > "$rabbit_dir/wrapper.pid" )
  local start=$SECONDS
  until rabbit_ready; do
    if (( SECONDS - start > 120 )); then tail -20 "$rabbit_dir/server.out" >&2; pe_die "rabbitmq did not start"; fi
    sleep 1
  done
  pe_log "rabbitmq up: amqp://127.0.0.1:$PE_RABBITMQ_PORT, management http://127.0.0.1:$PE_RABBITMQ_MGMT_PORT (guest/guest), mqtt://127.0.0.1:$PE_MQTT_PORT, mqtts://127.0.0.1:$PE_MQTTS_PORT (CA $PE_STATE_DIR/tls/ca.pem) in $((SECONDS - start)) s"
}

stop_rabbitmq() {
  [ -d "$rabbit_dir" ] || return 0
  # Stop this instance by its own pid (the Erlang VM halts gracefully on SIGTERM), never by node name.
  local pid
  pid="$(cat "$rabbit_dir/rabbitmq.pid" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$rabbit_dir/wrapper.pid" "$rabbit_dir/rabbitmq.pid"
  # The private epmd outlives the node; it holds only our private port.
  ERL_EPMD_PORT=$((PE_RABBITMQ_PORT + 3)) epmd -kill >/dev/null 2>&1 || true
  pe_log "rabbitmq stopped"
}

pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_ready() { [ -n "$pg_bin" ] && "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$PE_POSTGRES_PORT"; }

start_postgres() {
  [ -n "$pg_bin" ] || { pe_apt_install postgresql-15; pg_bin=/usr/lib/postgresql/15/bin; }
  if pg_ready; then pe_log "postgres already answers on $PE_POSTGRES_PORT"; return; fi
  mkdir -p "$pg_dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$pg_dir"
  if [ ! -f "$pg_dir/data/PG_VERSION" ]; then
    # Trust on loopback only: a throw-away test instance on a private port.
    pg_run "$pg_bin/initdb" -D "$pg_dir/data" -U powerevents --auth=trust -E UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1 \
      || { cat "$pg_dir/initdb.log" >&2; pe_die "initdb failed"; }
  fi
  pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PE_POSTGRES_PORT -k $pg_dir -c max_connections=400 -c fsync=off" start >/dev/null \
    || { tail -20 "$pg_dir/server.log" >&2; pe_die "postgres did not start"; }
  "$pg_bin/psql" -h 127.0.0.1 -p "$PE_POSTGRES_PORT" -U powerevents -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='powerevents'" | grep -q 1 \
    || "$pg_bin/createdb" -h 127.0.0.1 -p "$PE_POSTGRES_PORT" -U powerevents powerevents
  pe_log "postgres up: 127.0.0.1:$PE_POSTGRES_PORT user powerevents, database powerevents"
}

stop_postgres() {
  [ -f "$pg_dir/data/PG_VERSION" ] || return 0
  pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true
  pe_log "postgres stopped"
}

status() {
  rabbit_ready && echo "rabbitmq: up (amqp 127.0.0.1:$PE_RABBITMQ_PORT, ui http://127.0.0.1:$PE_RABBITMQ_MGMT_PORT, mqtt $PE_MQTT_PORT, mqtts $PE_MQTTS_PORT)" || { rabbit_answers && echo "rabbitmq: up without its MQTT listeners (start restarts it)" || echo "rabbitmq: down"; }
  pg_ready && echo "postgres: up (127.0.0.1:$PE_POSTGRES_PORT)" || echo "postgres: down"
  "$here/vcsim.sh" status >/dev/null 2>&1 && echo "vcsim: up (https://127.0.0.1:$PE_VCSIM_PORT/sdk)" || echo "vcsim: down"
}

action="${1:-status}"; shift || true
targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(rabbitmq postgres vcsim)
case "$action" in
  start)
    for t in "${targets[@]}"; do
      case "$t" in
        rabbitmq) start_rabbitmq ;;
        postgres) start_postgres ;;
        # PE_VCSIM_ARGS: a topology (scripts/run-local.sh); word splitting is intended.
        # shellcheck disable=SC2086
        vcsim) "$here/vcsim.sh" start ${PE_VCSIM_ARGS:-} ;;
        *) pe_die "unknown server '$t'" ;;
      esac
    done ;;
  stop)
    for t in "${targets[@]}"; do
      case "$t" in
        rabbitmq) stop_rabbitmq ;;
        postgres) stop_postgres ;;
        vcsim) "$here/vcsim.sh" stop ;;
        *) pe_die "unknown server '$t'" ;;
      esac
    done ;;
  status) status ;;
  *) pe_die "usage: $0 start|stop|status [rabbitmq|postgres|vcsim ...]" ;;
esac
