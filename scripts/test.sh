#!/usr/bin/env bash
# The whole test suite from a fresh machine: installs what is missing (Debian packages), builds,
# starts the real test servers (RabbitMQ, PostgreSQL, vcsim) on private ports, runs every test
# project, and prints one closing line "N passed, N failed, N skipped".
#
#   scripts/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~Bus]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
cd "$root"

start=$SECONDS
"$root/scripts/install-deps.sh"
"$root/scripts/vcsim.sh" build
"$root/scripts/test-servers.sh" start
pe_log "servers ready after $((SECONDS - start)) s"

build_start=$SECONDS
dotnet build PowerEvents.sln -c Debug -nologo -clp:ErrorsOnly
pe_log "build took $((SECONDS - build_start)) s"

results="$root/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
test_start=$SECONDS
status=0
# Two test projects at a time: most of the suite's time is waiting (outages of a minute, guest shutdowns, grace periods),
# and each project has its own broker virtual host, database and private servers. On the 2-core CI machine: 1,460 s one
# at a time, 817 s two at a time, with no test slower by more than a few percent.
dotnet test PowerEvents.sln --no-build -c Debug -nologo -m:2 \
  --logger "trx" --results-directory "$results" "$@" 2>&1 | tee "$results/console.log" || status=$?

# The simulator harness's own Go tests (govmomi client against pe-vcsim).
go_start=$SECONDS
( cd "$root" && env GO111MODULE=off GOFLAGS= GOPATH="/usr/share/gocode:$PE_STATE_DIR/gopath" GOCACHE="$PE_STATE_DIR/gocache" \
    go test -v -count=1 ./tools/vcsim ) > "$results/go-test.log" 2>&1 || status=1
grep -E '^(--- |ok|FAIL|panic)' "$results/go-test.log" || true
pe_log "go tests took $((SECONDS - go_start)) s"
pe_log "tests took $((SECONDS - test_start)) s (whole run $((SECONDS - start)) s)"

# Sum the per-assembly summaries into the one closing line CI reads.
python3 - "$results" <<'PY'
import glob, re, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(path).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed")); failed += int(c.get("failed")) + int(c.get("error")) + int(c.get("timeout")) + int(c.get("aborted"))
    skipped += int(c.get("notExecuted"))
go = open(sys.argv[1] + "/go-test.log").read()
passed += len(re.findall(r"^--- PASS", go, re.M)); failed += len(re.findall(r"^--- FAIL", go, re.M))
skipped += len(re.findall(r"^--- SKIP", go, re.M))
if re.search(r"^(FAIL|panic)", go, re.M) and not re.search(r"^--- FAIL", go, re.M):
    failed += 1  # a build failure or panic counts, even with no test result line
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
