#!/usr/bin/env bash
# Footprint benchmark: each service's time to ready and its memory at idle, measured on real processes
# (the services' Release build, started the way an operator starts them) against the local RabbitMQ and
# PostgreSQL (own virtual host and database, removed afterwards) and vcsim. Prints a table; figures go into
# docs/benchmarks.md by hand. Not a test: nothing fails on a slow machine.
#
#   scripts/footprint.sh [--runs 3] [--idle 20] [--variants default,image,image-nowx,image-r2r,image-r2r-nowx,image-conserve] [--no-build]
#
# Variants (environment of the service process):
#   default         the build's runtimeconfig (Workstation GC and no thread-pool spinning since 2026-12-03: Directory.Build.props)
#   image           default + DOTNET_gcServer=0 (what docker-compose set before the build did; now the same as default)
#   image-conserve  image + DOTNET_GCConserveMemory=5 + DOTNET_TieredPGO=0
#   image-nopgo     image + DOTNET_TieredPGO=0 (no instrumented tier)
#   image-notiered  image + DOTNET_TieredCompilation=0 (each method compiled once, fully optimised)
#   image-nowx      image + DOTNET_EnableWriteXorExecute=0 (no double-mapped JIT code pages)
#   image-r2r       image, run from a ReadyToRun publish (precompiled code: less JIT at start)
#   image-r2r-nowx  both
# Time to ready: from starting `dotnet <service>.dll` to the first 200 from /health/ready (bus connected and,
# where used, PostgreSQL answering). RSS: /proc/<pid>/status VmRSS after --idle seconds of idling, and
# RssAnon (the process's own memory; the rest is the runtime's shared, file-backed code).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
cd "$root"

runs=3 idle=20 variants=default,image,image-nowx,image-r2r,image-r2r-nowx build=true
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --variants) variants=$2; shift 2 ;;
    --no-build) build=false; shift ;;
    *) pe_die "usage: $0 [--runs N] [--idle SECONDS] [--variants a,b] [--no-build]" ;;
  esac
done

"$root/scripts/test-servers.sh" start >/dev/null
services=(SensorPoller AlarmEvaluator VCenterActuator IloActuator Notifier)
if $build; then
  for s in "${services[@]}"; do dotnet build "services/$s" -c Release -nologo -clp:ErrorsOnly -v q >/dev/null; done
fi
if [[ ,$variants, == *,image-r2r* ]]; then
  for s in "${services[@]}"; do
    dotnet publish "services/$s" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
      -o "$root/artifacts/footprint-r2r/$s" -nologo -clp:ErrorsOnly -v q >/dev/null \
      || pe_die "ReadyToRun publish of $s failed (the crossgen2 pack may be missing from the package registry)"
  done
fi

vhost="pe-footprint-$$" database="pe_footprint_$$"
mgmt="http://127.0.0.1:$PE_RABBITMQ_MGMT_PORT/api"
curl -fsS -u guest:guest -X PUT "$mgmt/vhosts/$vhost" >/dev/null
curl -fsS -u guest:guest -X PUT "$mgmt/permissions/$vhost/guest" -H 'content-type: application/json' \
  -d '{"configure":".*","write":".*","read":".*"}' >/dev/null
createdb -h 127.0.0.1 -p "$PE_POSTGRES_PORT" -U powerevents "$database"
cleanup() {
  curl -fsS -u guest:guest -X DELETE "$mgmt/vhosts/$vhost" >/dev/null || true
  dropdb -h 127.0.0.1 -p "$PE_POSTGRES_PORT" -U powerevents --if-exists "$database" || true
}
trap cleanup EXIT

export FP_ROOT="$root" FP_RUNS="$runs" FP_IDLE="$idle" FP_VARIANTS="$variants" FP_VHOST="$vhost" FP_DATABASE="$database"
export FP_VCSIM_FINGERPRINT="$(cat "$PE_STATE_DIR/vcsim/fingerprint")"
python3 - <<'PY'
import os, signal, socket, statistics, subprocess, tempfile, time, urllib.request
env0 = os.environ
root, runs, idle = env0["FP_ROOT"], int(env0["FP_RUNS"]), float(env0["FP_IDLE"])
services = ["SensorPoller", "AlarmEvaluator", "VCenterActuator", "IloActuator", "Notifier"]
common = {
    "DOTNET_ENVIRONMENT": "Production", "Logging__Format": "text",
    "RabbitMq__Host": "127.0.0.1", "RabbitMq__Port": env0["PE_RABBITMQ_PORT"], "RabbitMq__VirtualHost": env0["FP_VHOST"],
    "RabbitMq__Username": "guest", "RabbitMq__Password": "guest",
    "Postgres__Host": "127.0.0.1", "Postgres__Port": env0["PE_POSTGRES_PORT"], "Postgres__Database": env0["FP_DATABASE"],
    "Postgres__Username": "powerevents",
}
# Each service with a realistic configuration: a Meraki source, a zone, vCenter, three BMCs, a destination.
per_service = {
    "SensorPoller": {"SensorPoller__Meraki__0__Name": "meraki", "SensorPoller__Meraki__0__OrganizationId": "549236",
                     "SensorPoller__Meraki__0__BaseUrl": "http://127.0.0.1:9/api/v1/", "SensorPoller__Meraki__0__ApiKey": "footprint",
                     "SensorPoller__Meraki__0__Interval": "00:10:00",
                     "SensorPoller__Meraki__0__AllowInsecureHttp": "true"},
    "AlarmEvaluator": {"AlarmEvaluator__Zones__0__Name": "server-room", "AlarmEvaluator__Zones__0__Sensors__0": "Q3CA-AAAA-0001"},
    "VCenterActuator": {"VCenter__Url": f"https://127.0.0.1:{env0['PE_VCSIM_PORT']}/sdk", "VCenter__Username": "user",
                        "VCenter__Password": "pass", "VCenter__CertificateFingerprint": env0["FP_VCSIM_FINGERPRINT"]},
    "IloActuator": {f"Bmc__Hosts__{i}__{k}": v for i in range(3) for k, v in
                    {"Name": f"esx-0{i+1}.pe.test", "Url": f"https://127.0.0.1:{35601+i}/", "Username": "u", "Password": "p"}.items()},
    "Notifier": {"Notifier__Destinations__0__Name": "hook", "Notifier__Destinations__0__Format": "generic",
                 "Notifier__Destinations__0__Url": "http://127.0.0.1:9/hooks/x", "Notifier__Destinations__0__AllowHttp": "true",
                 "Notifier__Destinations__0__SigningSecret": "footprint-signing-secret-0123456789abcdef"},
}
variants = {
    "default": ({}, "bin"),
    "image": ({"DOTNET_gcServer": "0"}, "bin"),
    "image-conserve": ({"DOTNET_gcServer": "0", "DOTNET_GCConserveMemory": "5", "DOTNET_TieredPGO": "0"}, "bin"),
    "image-nopgo": ({"DOTNET_gcServer": "0", "DOTNET_TieredPGO": "0"}, "bin"),
    "image-notiered": ({"DOTNET_gcServer": "0", "DOTNET_TieredCompilation": "0"}, "bin"),
    "image-nowx": ({"DOTNET_gcServer": "0", "DOTNET_EnableWriteXorExecute": "0"}, "bin"),
    "image-r2r": ({"DOTNET_gcServer": "0"}, "r2r"),
    "image-r2r-nowx": ({"DOTNET_gcServer": "0", "DOTNET_EnableWriteXorExecute": "0"}, "r2r"),
}
tuning = ("DOTNET_gcServer", "DOTNET_GCConserveMemory", "DOTNET_TieredPGO", "DOTNET_TieredCompilation", "DOTNET_EnableWriteXorExecute")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def status_kb(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

def measure(service, variant):
    extra, layout = variants[variant]
    dll = (f"{root}/services/{service}/bin/Release/net10.0/PowerEvents.{service}.dll" if layout == "bin"
           else f"{root}/artifacts/footprint-r2r/{service}/PowerEvents.{service}.dll")
    port = free_port()
    env = dict(os.environ, **common, **per_service[service], **extra, Urls=f"http://127.0.0.1:{port}")
    for k in tuning:
        if k not in extra: env.pop(k, None)
    start = time.monotonic()
    log = tempfile.TemporaryFile()  # a file, not a pipe: a service never blocks on its own output
    proc = subprocess.Popen(["dotnet", dll], env=env, cwd=os.path.dirname(dll), stdout=log, stderr=subprocess.STDOUT)
    ready = None
    try:
        while time.monotonic() - start < 60:
            if proc.poll() is not None:
                log.seek(0); raise RuntimeError(f"{service} exited {proc.returncode}: {log.read().decode()[-800:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
                    if r.status == 200:
                        ready = time.monotonic() - start; break
            except Exception:
                pass
            time.sleep(0.02)
        if ready is None:
            raise RuntimeError(f"{service} not ready in 60 s")
        rss_ready = status_kb(proc.pid, "VmRSS")
        time.sleep(idle)
        return (ready, rss_ready / 1024, status_kb(proc.pid, "VmRSS") / 1024, status_kb(proc.pid, "RssAnon") / 1024,
                status_kb(proc.pid, "RssFile") / 1024, status_kb(proc.pid, "RssShmem") / 1024)
    finally:
        proc.send_signal(signal.SIGTERM)
        try: proc.wait(30)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()

print(f"runs {runs}, idle {idle:.0f} s, load average {os.getloadavg()[0]:.1f} at start, {os.cpu_count()} cores", flush=True)
print(f"{'service':<16} {'variant':<15} {'ready s (median, max)':<22} {'RSS at ready MB':<16} {'RSS idle MB (median, max)':<26} {'of which anon / file / shmem MB'}")
for variant in env0["FP_VARIANTS"].split(","):
    for service in services:
        results = [measure(service, variant) for _ in range(runs)]
        ready, rss0, rss, anon, file, shmem = ([r[i] for r in results] for i in range(6))
        print(f"{service:<16} {variant:<15} {statistics.median(ready):5.2f}, {max(ready):5.2f}{'':<10} "
              f"{statistics.median(rss0):6.1f}{'':<10} {statistics.median(rss):6.1f}, {max(rss):6.1f}{'':<12} {statistics.median(anon):5.1f} / {statistics.median(file):5.1f} / {statistics.median(shmem):5.1f}", flush=True)
print(f"load average {os.getloadavg()[0]:.1f} at the end")
PY
