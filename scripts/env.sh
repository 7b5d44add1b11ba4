# Shared settings for the project's scripts: where the local servers keep their data and which
# private ports they use (never the system's default instances). Source, don't run.
export PE_STATE_DIR="${PE_STATE_DIR:-/tmp/powerevents-servers}"
export PE_RABBITMQ_PORT="${PE_RABBITMQ_PORT:-35672}"
export PE_RABBITMQ_MGMT_PORT="${PE_RABBITMQ_MGMT_PORT:-35673}"
export PE_POSTGRES_PORT="${PE_POSTGRES_PORT:-35432}"
export PE_VCSIM_PORT="${PE_VCSIM_PORT:-35443}"
export PE_MQTT_PORT="${PE_MQTT_PORT:-35883}" # RabbitMQ's MQTT plugin (Meraki MT telemetry)
export PE_MQTTS_PORT="${PE_MQTTS_PORT:-35884}" # the same over TLS (a throwaway CA under $PE_STATE_DIR/tls)

pe_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
pe_die() { pe_log "ERROR: $*"; exit 1; }

# Wait until a TCP port on 127.0.0.1 accepts connections, or give up after $2 seconds.
pe_wait_port() {
  local port=$1 timeout=${2:-60} start=$SECONDS
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    (( SECONDS - start >= timeout )) && return 1
    sleep 0.5
  done
}

pe_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pe_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Install Debian packages that are missing (apt-get update once, only when something is missing).
pe_apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  pe_log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  pe_as_root apt-get update -q >/dev/null
  pe_as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# The local run (scripts/run-local.sh): simulators and the five services' health ports (base+1 … base+5).
export PE_VCSIM_CONTROL_PORT="${PE_VCSIM_CONTROL_PORT:-$((PE_VCSIM_PORT + 1))}"
# Each vcsim host's own ESXi API (-esxi-base-port, run-local's typical small cluster): this port and the next ones.
export PE_ESXI_BASE_PORT="${PE_ESXI_BASE_PORT:-$((PE_VCSIM_PORT + 2))}"
export PE_MERAKI_PORT="${PE_MERAKI_PORT:-35480}"
export PE_BMC_BASE_PORT="${PE_BMC_BASE_PORT:-35501}"
export PE_WEBHOOK_PORT="${PE_WEBHOOK_PORT:-5190}"
export PE_SERVICE_BASE_PORT="${PE_SERVICE_BASE_PORT:-5100}"
