#!/usr/bin/env bash
# The fresh-clone check: does the committed repository work for someone who has only cloned it?
#
# Clones this checkout's HEAD (committed work only) into a new, empty temporary folder with nothing
# beside the clone (no `shared` folder, no other checkout), on a PATH where no `chromium` or
# `chromium-browser` is found and with a clean environment (no CHROMIUM_PATH, DATABASE_URL, NATS_URL
# or npm variables), then runs the README's two commands exactly as its first lines state them:
#   1. `npm install && npm start`, until it logs "stack ready" and the gateway's /readyz answers 200;
#      then SIGINT to its process group (what Ctrl-C does), which must end it with exit code 0;
#   2. `npm install && npm test`, which finds the machine's Postgres (127.0.0.1:5432) and NATS
#      (127.0.0.1:4222) as the README's "Testing" says, and must pass.
# It prints a summary with each step's result and duration and exits 0 only if every step passed.
# It runs the whole test suite, so it is not part of `npm test`.
#
#   bash tools/fresh-clone/run.sh        # or: npm run check:fresh-clone
#   KEEP=1 bash tools/fresh-clone/run.sh # keep the temporary folder (it is always kept on failure)
#
# Needs on the machine: git, bash, curl, Node.js with npm (any version: the project brings Node 24),
# nats-server on PATH (npm start's NATS), Postgres and NATS running on their usual ports (npm test).
# The npm cache in $HOME is used as npm always does; everything else comes from the clone.
set -uo pipefail

repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
sha=$(git -C "$repo" rev-parse HEAD)
uncommitted=$(git -C "$repo" status --porcelain | wc -l)
start_deadline_s=${FRESH_CLONE_START_TIMEOUT_S:-900}
stop_deadline_s=90
gateway=http://127.0.0.1:8080

tmp=$(mktemp -d "${TMPDIR:-/tmp}/offramp-fresh-clone.XXXXXX")
# As root, npm start runs the embedded Postgres as the `postgres` user, who must reach its data dir.
chmod 755 "$tmp"
parent="$tmp/fresh"      # holds the clone and nothing else
clone="$parent/offramp"
bin="$tmp/bin"           # the PATH: links to the machine's tools, Chromium left out
logs="$tmp/logs"
mkdir -p "$parent" "$bin" "$logs"
chmod 755 "$parent"

results=()   # "name|ok or FAIL|seconds|detail"
failed=0
start_pid=

record() { # name status seconds detail
  results+=("$1|$2|$3|$4")
  if [ "$2" != ok ]; then failed=1; fi
}
now() { date +%s; }
say() { echo "fresh-clone: $*"; }
strip_ansi() { sed -E 's/\x1b\[[0-9;]*[A-Za-z]//g'; }

stop_start_group() { # signal: to npm start's whole process group (setsid made it lead one)
  if [ -n "$start_pid" ] && kill -0 "$start_pid" 2>/dev/null; then
    if [ "$(ps -o pgid= -p "$start_pid" | tr -d ' ')" = "$start_pid" ]; then kill "-$1" -- "-$start_pid" 2>/dev/null
    else kill "-$1" "$start_pid" 2>/dev/null; fi
  fi
}
cleanup() {
  if [ -n "$start_pid" ] && kill -0 "$start_pid" 2>/dev/null; then
    stop_start_group INT
    for _ in $(seq 60); do kill -0 "$start_pid" 2>/dev/null || break; sleep 1; done
    stop_start_group KILL
  fi
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

summary() {
  echo
  echo "== fresh-clone check: commit ${sha:0:12} =="
  if [ "$uncommitted" -gt 0 ]; then
    echo "   (the checkout has $uncommitted uncommitted or untracked paths; only committed work was checked)"
  fi
  local line name status seconds detail
  for line in "${results[@]}"; do
    IFS='|' read -r name status seconds detail <<<"$line"
    printf '   %-4s  %-28s %6ss  %s\n' "$status" "$name" "$seconds" "$detail"
  done
  if [ "$failed" = 0 ]; then
    echo "RESULT: PASS"
    if [ "${KEEP:-}" = 1 ]; then echo "   kept: $tmp"; else rm -rf "$tmp"; fi
  else
    echo "RESULT: FAIL (logs kept in $logs, the clone in $clone)"
  fi
}

# -- the clone --------------------------------------------------------------------------------------
say "cloning ${sha:0:12} into $clone"
t0=$(now)
if git clone --quiet --no-hardlinks "$repo" "$clone" >"$logs/clone.log" 2>&1 &&
  git -C "$clone" checkout --quiet --detach "$sha" >>"$logs/clone.log" 2>&1; then
  record "git clone" ok $(($(now) - t0)) "$clone at ${sha:0:12}"
else
  record "git clone" FAIL $(($(now) - t0)) "$(tail -3 "$logs/clone.log" | tr '\n' ' ')"
  summary
  exit 1
fi

# -- the environment of a new user: no Chromium on PATH, nothing beside the clone -------------------
say "building a PATH without Chromium in $bin"
t0=$(now)
IFS=: read -ra path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
  [ -d "$dir" ] || continue
  case "$dir" in
    "$repo" | "$repo"/* | */node_modules/.bin | */node-gyp-bin) continue ;; # this checkout's and npm's own
  esac
  for tool in "$dir"/*; do
    name=${tool##*/}
    case "$name" in chromium*) continue ;; esac # by name: /bin may be /usr/bin (merged /usr)
    if [ -x "$tool" ] && [ ! -d "$tool" ] && [ ! -L "$bin/$name" ]; then ln -s "$tool" "$bin/$name"; fi
  done
done
clean_env=(env -i "HOME=$HOME" "PATH=$bin" "LANG=${LANG:-C.UTF-8}" "TERM=dumb" "TMPDIR=${TMPDIR:-/tmp}" "USER=${USER:-$(id -un)}")

problems=()
for name in chromium chromium-browser; do
  if found=$("${clean_env[@]}" bash -c "command -v $name"); then problems+=("$name is on PATH ($found)"); fi
done
for name in git node npm nats-server; do
  "${clean_env[@]}" bash -c "command -v $name" >/dev/null || problems+=("$name is not on PATH")
done
beside=$(ls -A "$parent" | grep -vx offramp)
if [ -n "$beside" ]; then problems+=("beside the clone: $beside"); fi
if "${clean_env[@]}" bash -c '[ -n "${CHROMIUM_PATH:-}${DATABASE_URL:-}${NATS_URL:-}" ]'; then problems+=("CHROMIUM_PATH/DATABASE_URL/NATS_URL set"); fi
for port in 8080 8081 8082 8083 8084 8085 8090 4223 54329; do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then problems+=("port $port is taken (npm start needs it)"); fi
done
if [ ${#problems[@]} -gt 0 ]; then
  record "fresh environment" FAIL $(($(now) - t0)) "$(IFS=';'; echo "${problems[*]}")"
  summary
  exit 1
fi
record "fresh environment" ok $(($(now) - t0)) "no chromium on PATH, CHROMIUM_PATH unset, nothing beside the clone, node $("${clean_env[@]}" node --version)"

# -- the README's two commands, from its first lines ------------------------------------------------
readme_commands=$(awk '/^```/ { if (open) exit; open = 1; next } open { sub(/[[:space:]]*#.*/, ""); if ($0 != "") print }' "$clone/README.md")
start_cmd=$(grep -m1 'npm start' <<<"$readme_commands")
test_cmd=$(grep -m1 'npm test' <<<"$readme_commands")
if [ -z "$start_cmd" ] || [ -z "$test_cmd" ]; then
  record "README commands" FAIL 0 "the README's first code block does not name npm start and npm test: $readme_commands"
  summary
  exit 1
fi

# -- 1. npm install && npm start, until ready; then Ctrl-C ------------------------------------------
say "running '$start_cmd' until 'stack ready' and $gateway/readyz answers 200 (log: $logs/start.log)"
t0=$(now)
(cd "$clone" && exec setsid "${clean_env[@]}" bash -c "$start_cmd") >"$logs/start.log" 2>&1 < /dev/null &
start_pid=$!
ready=
readyz=
while [ $(($(now) - t0)) -lt "$start_deadline_s" ]; do
  kill -0 "$start_pid" 2>/dev/null || break
  if grep -q 'stack ready' "$logs/start.log"; then
    readyz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$gateway/readyz")
    if [ "$readyz" = 200 ]; then ready=1; break; fi
  fi
  sleep 1
done
t_ready=$(($(now) - t0))
if [ -z "$ready" ]; then
  if kill -0 "$start_pid" 2>/dev/null; then why="not ready after ${start_deadline_s}s (gateway /readyz: ${readyz:-no answer})"
  else wait "$start_pid"; why="exited with code $? before it was ready"; fi
  record "$start_cmd" FAIL "$t_ready" "$why; last lines: $(tail -5 "$logs/start.log" | strip_ansi | tr '\n' ' ' | cut -c1-600)"
else
  say "ready after ${t_ready}s; sending SIGINT (Ctrl-C)"
  t1=$(now)
  stop_start_group INT
  stopped=
  for _ in $(seq "$stop_deadline_s"); do
    if ! kill -0 "$start_pid" 2>/dev/null; then stopped=1; break; fi
    sleep 1
  done
  if [ -z "$stopped" ]; then
    record "$start_cmd" FAIL "$(($(now) - t0))" "ready in ${t_ready}s, but still running ${stop_deadline_s}s after SIGINT"
  else
    wait "$start_pid"
    code=$?
    start_pid=
    if [ "$code" = 0 ]; then
      record "$start_cmd" ok "$(($(now) - t0))" "install + 'stack ready' + gateway /readyz 200 in ${t_ready}s; SIGINT -> exit 0 in $(($(now) - t1))s"
    else
      record "$start_cmd" FAIL "$(($(now) - t0))" "ready in ${t_ready}s, but SIGINT ended it with exit code $code; last lines: $(tail -5 "$logs/start.log" | strip_ansi | tr '\n' ' ' | cut -c1-600)"
    fi
  fi
fi
stop_start_group KILL
start_pid=

# -- 2. npm install && npm test ----------------------------------------------------------------------
say "running '$test_cmd' (the whole suite: minutes; log: $logs/test.log)"
t0=$(now)
(cd "$clone" && "${clean_env[@]}" bash -c "$test_cmd") >"$logs/test.log" 2>&1 < /dev/null
code=$?
counts=$(strip_ansi <"$logs/test.log" | grep -E '^\s*(Test Files|Tests)\s' | sed -E 's/^\s+//; s/\s+/ /g' | tr '\n' ';' | sed 's/;$//; s/;/, /g')
# Which Chromium the browser tests had: with none on PATH, the npm package's is unpacked into the clone.
unpacked=$(cd "$clone" && ls -d node_modules/.cache/offramp-chromium/*/chromium 2>/dev/null | head -1)
counts="${counts}${unpacked:+; browser tests ran the Chromium unpacked from @sparticuz/chromium: $unpacked}"
if [ "$code" = 0 ]; then
  record "$test_cmd" ok "$(($(now) - t0))" "${counts:-exit 0}"
else
  record "$test_cmd" FAIL "$(($(now) - t0))" "exit code $code; ${counts:-no test summary}"
  echo "failed tests (from $logs/test.log):"
  strip_ansi <"$logs/test.log" | grep -E '^\s*(FAIL|×)\s' | sort -u | head -60
fi

summary
exit "$failed"
