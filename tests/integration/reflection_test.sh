#!/usr/bin/env bash
# A gRPC client nobody here wrote, `buf curl` (npm @bufbuild/buf), finds the agent's services
# through server reflection and calls them, over TCP and over the unix socket.
#
#   tests/integration/reflection_test.sh AGENT_BINARY BUF_BINARY
# The agent's helpers are the built ones, beside the agent in the build tree.
set -euo pipefail
agent=$1
buf=$2
build=$(cd "$(dirname "$agent")/.." && pwd)
if [ ! -x "$buf" ]; then
  echo "reflection_test: '$buf' missing; run 'npm ci --prefix tests/tools' (tests/run does)" >&2
  exit 1
fi
tmp=$(mktemp -d)
chmod 0755 "$tmp"  # as /var/lib: the servers' accounts pass it (the agent checks)
agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

"$agent" --root "$tmp/root" --listen_tcp 127.0.0.1:0 --plaintext_tcp --listen_unix "$tmp/agent.sock" \
  --unit_dir "$tmp/units" --overlay_helper "$build/agent/overlay_helper/left4me-overlay" \
  --console_helper "$build/agent/console/left4me-console" \
  --fetch_helper "$build/agent/fetch/left4me-fetch" \
  >"$tmp/agent.log" 2>&1 &
agent_pid=$!
port=""
for _ in $(seq 200); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$tmp/agent.log")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "the agent did not start:"; cat "$tmp/agent.log"; exit 1; }

fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {  # expect WHAT TEXT OUTPUT
  grep -qF -- "$2" <<<"$3" || fail "$1: expected '$2' in: $3"
  echo "ok - $1"
}
grpc=(--protocol grpc --http2-prior-knowledge)

methods=$("$buf" curl "${grpc[@]}" --list-methods "http://127.0.0.1:$port")
expect "reflection lists the agent API" "l4d2.agent.v1.AgentService/GetHostInfo" "$methods"
expect "reflection lists the install stream" "l4d2.agent.v1.AgentService/Install" "$methods"
expect "reflection lists the health service" "grpc.health.v1.Health/Check" "$methods"

health=$("$buf" curl "${grpc[@]}" "http://127.0.0.1:$port/grpc.health.v1.Health/Check" -d '{}')
expect "health over TCP" '"status": "SERVING"' "$health"
health=$("$buf" curl "${grpc[@]}" --unix-socket "$tmp/agent.sock" \
  "http://localhost/grpc.health.v1.Health/Check" -d '{"service":"l4d2.agent.v1.AgentService"}')
expect "health over the unix socket" '"status": "SERVING"' "$health"

host=$("$buf" curl "${grpc[@]}" --unix-socket "$tmp/agent.sock" \
  "http://localhost/l4d2.agent.v1.AgentService/GetHostInfo" -d '{}')
expect "host info over the unix socket" "\"root\": \"$tmp/root\"" "$host"
echo "reflection_test: all passed"
