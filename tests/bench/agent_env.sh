# Sourced by the agent benchmarks (tests/bench/p*): a real agent on a fresh root under
# /var/tmp, talking to the sandbox's systemd (tests/sandbox/run), with the fake steamcmd and
# the game installed. Defines: top, build, work, ctl (l4d2ctl against it), bench_cleanup_hook
# (a function the caller may define: run before the agent stops). Needs L4D2_SANDBOX.
# Arguments: the first port of the instances' range (2,000 ports).
[ -n "${L4D2_SANDBOX:-}" ] || { echo "run inside tests/sandbox/run" >&2; exit 2; }
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="$top/${BUILD_DIR:-build}"
bench_first_port=$1
work=$(mktemp -d /var/tmp/l4d2-bench-XXXXXX)
agent_pid=""
ctl() { "$build/ctl/l4d2ctl" --agent "unix:$work/agent.sock" "$@"; }
bench_cleanup() {
  if declare -F bench_cleanup_hook >/dev/null; then bench_cleanup_hook || true; fi
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  rm -rf "$work"
}
trap bench_cleanup EXIT
mkdir -p "$work/home/.fake-steamcmd"
cat >"$work/agent.yaml" <<CONFIG
root: $work/root
listen: {tcp: "", unix: $work/agent.sock}
steamcmd: $build/tests/fakes/fake_steamcmd
steam: {home: $work/home}
systemd: {scope: user, unit_dir: $XDG_RUNTIME_DIR/systemd/user,
          overlay_helper: $build/agent/overlay_helper/left4me-overlay,
          console_helper: $build/agent/console/left4me-console, server_users: "", hardening: false}
ports: {first: $bench_first_port, last: $((bench_first_port + 1999))}
bind_ip: 127.0.0.1
fetch_helper: $build/agent/fetch/left4me-fetch
fetch_user: nobody
CONFIG
# Makes the agent an enrolled fleet member, as in production: a certificate for host "bench"
# from a throwaway CA (openssl), mutual TLS on a loopback port, and signed host reports every
# 5 s to a UDP port on loopback (nobody needs to listen: the agent's cost is the same).
bench_enable_reports() {
  local tls="$work/tls"
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bench \
    -keyout "$tls/agent.key" -out "$tls/agent.csr" 2>/dev/null
  openssl x509 -req -in "$tls/agent.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 1 -out "$tls/agent.pem" \
    -extfile <(printf 'subjectAltName=DNS:bench.agent.left4me') 2>/dev/null
  sed -i "s|^listen: .*|listen: {tcp: \"127.0.0.1:0\", unix: $work/agent.sock, tls: {certificate: $tls/agent.pem, key: $tls/agent.key, ca: $tls/ca.pem}}|" \
    "$work/agent.yaml"
  echo 'report: {to: ["127.0.0.1:9"]}' >>"$work/agent.yaml"
}
# Starts the agent and waits for it to answer.
bench_start_agent() {
  "$build/agent/l4d2-agent" --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 100); do ctl health >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "the agent did not start:" >&2
  cat "$work/agent.log" >&2
  exit 1
}
now_ns() { date +%s%N; }
