#!/usr/bin/env bash
# Installs what the tests and the local run need from Debian's packages. Idempotent.
set -euo pipefail
source "$(dirname "$0")/env.sh"

command -v dotnet >/dev/null || pe_die "the .NET 10 SDK is required (dotnet on PATH)"
# The package's own init scripts may try to start the system instances; ours run on private ports.
pe_apt_install rabbitmq-server postgresql-15 golang-go golang-github-vmware-govmomi-dev docker-compose curl ca-certificates \
  redfishtool  # DMTF's Redfish client, a second opinion on the BMC simulator
# Headless browser for the console's browser tests (tests/Console.Tests): Playwright drives Debian's chromium,
# because Playwright's own browser builds cannot be downloaded here.
pe_apt_install chromium
