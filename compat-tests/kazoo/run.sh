#!/usr/bin/env bash
# Runs kazoo's own test suite, as Debian ships it, against a server that is
# already running at HOST:PORT, or against one it starts for the run with
# kazoo's harness settings (--maestro: built dist/, --zookeeper: Debian's
# Apache ZooKeeper). See README.md in this directory.
#
#   compat-tests/kazoo/run.sh 127.0.0.1:2191                  # whole suite
#   compat-tests/kazoo/run.sh 127.0.0.1:2191 test_lock.py test_party.py
#   compat-tests/kazoo/run.sh 127.0.0.1:2191 -k "Barrier or Queue" -x
#   compat-tests/kazoo/run.sh --maestro                       # start, run, stop
#   compat-tests/kazoo/run.sh --zookeeper test_lock.py
#
# Arguments after the target go to pytest; a bare kazoo test file name
# (test_lock.py, test_lock.py::TestSemaphore) selects from kazoo's tests
# directory, and without any, the whole directory runs.
#
# Environment:
#   KAZOO_TEST_TIMEOUT_S   per-test bound (pytest-timeout), default 60
#   KAZOO_TOTAL_TIMEOUT_S  bound on the whole run, default 1200
#   KAZOO_OUT_DIR          where junit.xml, summary.json and pytest.log go,
#                          default compat-tests/results/kazoo (git-ignored)
#   KAZOO_EXTERNAL_SUPER_AUTH  super digest user:password used to delete test
#                          namespaces, default super:test (kazoo's harness)
#   KAZOO_SERVER_PORT      port for --maestro / --zookeeper, default 2391
#
# The last line printed is machine-readable:
#   KAZOO-COMPAT target=H:P passed=N failed=N errors=N skipped=N ... exit=N
# Exit status: pytest's (0 all passed, 1 some failed), 124 on the overall
# timeout, 2 on bad usage or an unreachable target.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python=/usr/bin/python3   # Debian's kazoo and pytest load only here
tests_dir=/usr/lib/python3/dist-packages/kazoo/tests

repository="$(cd "$here/../.." && pwd)"
# kazoo's harness gives its servers super:test (this digest), reconfig and
# SASL DIGEST-MD5 users; the SASL tests still need --sasl-digest to run.
kazoo_super_digest='super:D/InIHSb7yEEbrWz8b9l71RjZJU='

if [ $# -lt 1 ] || { [[ "$1" != *:* ]] && [ "$1" != --maestro ] && [ "$1" != --zookeeper ]; }; then
  echo "usage: $0 HOST:PORT|--maestro|--zookeeper [pytest args...]" >&2
  exit 2
fi
server_kind=""
case "$1" in
  --maestro) server_kind=maestro ;;
  --zookeeper) server_kind=zookeeper ;;
  *) target="$1" ;;
esac
shift

if ! "$python" -c 'import kazoo, pytest, pytest_timeout' 2>/dev/null || [ ! -d "$tests_dir" ]; then
  echo "kazoo compat: Debian's python3-kazoo, python3-pytest and python3-pytest-timeout are needed; run scripts/install-test-deps.sh" >&2
  exit 2
fi

per_test_timeout="${KAZOO_TEST_TIMEOUT_S:-60}"
total_timeout="${KAZOO_TOTAL_TIMEOUT_S:-1200}"
out_dir="${KAZOO_OUT_DIR:-$(cd "$here/.." && pwd)/results/kazoo}"
mkdir -p "$out_dir"
rm -f "$out_dir/junit.xml" "$out_dir/summary.json"

server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

# Starts the server with the launcher's CLI, which stops it on SIGTERM, and
# waits (bounded) for its "serving on" line.
start_server() {
  local port="${KAZOO_SERVER_PORT:-2391}" log="$out_dir/server.out"
  local args=(--port "$port" --super-digest "$kazoo_super_digest")
  if [ "$server_kind" = zookeeper ]; then
    args+=(--reconfig-enabled --sasl-digest-user super:super_secret --sasl-digest-user jaasuser:jaas_password)
  fi
  node "$repository/scripts/$([ "$server_kind" = zookeeper ] && echo zookeeper-standalone || echo maestro-process).mjs" \
    "${args[@]}" >"$log" 2>&1 &
  server_pid=$!
  local waited=0
  until grep -q 'serving on' "$log" 2>/dev/null; do
    if ! kill -0 "$server_pid" 2>/dev/null || [ "$waited" -ge 600 ]; then
      echo "kazoo compat: could not start $server_kind:" >&2
      cat "$log" >&2
      exit 2
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  cat "$log"
  target="127.0.0.1:$port"
}
[ -z "$server_kind" ] || start_server

host="${target%:*}"
port="${target##*:}"
if ! reply="$(timeout 5 bash -c "exec 3<>/dev/tcp/$host/$port && printf ruok >&3 && cat <&3" 2>/dev/null)" || [ "$reply" != imok ]; then
  echo "kazoo compat: $target does not answer ruok with imok (got '${reply:-nothing}')" >&2
  exit 2
fi

selection=()
passthrough=()
for arg in "$@"; do
  if [[ "$arg" =~ ^test_[A-Za-z0-9_]+\.py(::.*)?$ ]]; then
    selection+=("$tests_dir/$arg")
  else
    passthrough+=("$arg")
  fi
done
[ ${#selection[@]} -gt 0 ] || selection=("$tests_dir")

# Keep pytest from writing caches or bytecode into /usr/lib.
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"

status=0
timeout --kill-after=30 "$total_timeout" \
  "$python" -m pytest \
    -c "$here/pytest.ini" --rootdir "$tests_dir" \
    -p kazoo_external -p no:cacheprovider \
    --external-server "$target" \
    --timeout "$per_test_timeout" \
    --junitxml "$out_dir/junit.xml" \
    --summary-json "$out_dir/summary.json" \
    "${selection[@]}" ${passthrough[@]+"${passthrough[@]}"} \
  2>&1 | tee "$out_dir/pytest.log" || status=${PIPESTATUS[0]}

if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo
  echo "KAZOO-COMPAT target=$target timed_out_after_s=$total_timeout exit=124"
  exit 124
fi
# Clients that tests leak keep logging while the interpreter shuts down, so
# repeat the summary line as the very last one.
summary_line="$(grep -a '^KAZOO-COMPAT ' "$out_dir/pytest.log" | tail -n 1 || true)"
echo "${summary_line:-KAZOO-COMPAT target=$target no_summary exit=$status}"
exit "$status"
