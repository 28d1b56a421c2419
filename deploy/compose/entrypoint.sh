#!/bin/sh
# The image's entrypoint: one image for every process, chosen by SERVICE at start.
#   SERVICE=<name> [run]   runs the process (exec, so it receives SIGTERM and drains)
#   SERVICE=<name> healthcheck   GET http://127.0.0.1:$PORT/healthz with node (slim has no curl)
#   SERVICE=<name> entry|port    prints what it resolved (used by tools/stack/test/compose.test.ts)
# SERVICE=migrate runs every service's migrations once (npm run migrate) and exits.
set -eu

app_root=${APP_ROOT:-/app}
service=${SERVICE:-}

# Default ports mirror tools/stack/src/services.ts; PORT in the environment wins.
default_port() {
  case "$1" in
    gateway) echo 8080 ;;
    psp-alfred) echo 8081 ;;
    ledger) echo 8082 ;;
    risk) echo 8083 ;;
    sessions) echo 8084 ;;
    notifier) echo 8085 ;;
    alfred-sandbox) echo 8090 ;;
    *) echo "" ;;
  esac
}

entry_of() {
  case "$1" in
    migrate) echo tools/stack/src/migrate-cli.ts ;;
    alfred-sandbox) echo tools/alfred-sandbox/src/server.ts ;;
    *) echo "services/$1/src/server.ts" ;;
  esac
}

if [ -z "$service" ]; then
  echo "SERVICE is required (a folder of services/, alfred-sandbox or migrate)" >&2
  exit 64
fi
case "$service" in
  *[!a-z0-9-]*) echo "SERVICE must be a service name, got an invalid one" >&2; exit 64 ;;
esac

entry=$(entry_of "$service")
if [ ! -f "$app_root/$entry" ]; then
  echo "unknown SERVICE '$service': no $entry" >&2
  exit 64
fi
port=${PORT:-$(default_port "$service")}

case "${1:-run}" in
  run)
    if [ -n "$port" ]; then export PORT="$port"; fi
    cd "$app_root"
    exec node "$entry"
    ;;
  healthcheck)
    if [ -z "$port" ]; then exit 0; fi # migrate serves nothing
    exec node -e '
      fetch(`http://127.0.0.1:${process.argv[1]}/healthz`, { signal: AbortSignal.timeout(2500) })
        .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));
    ' "$port"
    ;;
  entry) echo "$entry" ;;
  port) echo "$port" ;;
  *) echo "usage: entrypoint.sh [run|healthcheck|entry|port]" >&2; exit 64 ;;
esac
