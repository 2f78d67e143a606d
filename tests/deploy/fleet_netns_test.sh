#!/usr/bin/env bash
# Issue Deploy: a fleet end to end, in network namespaces. One controller (the real binary) and
# three hosts, each in a network namespace of its own (10.200.<n>.1x on a bridge, the controller
# at 10.200.<n>.1) with its own root and its own systemd sandbox (tests/sandbox/run again: a
# user manager and a journald of its own), joined with the command the controller prints. Then,
# with servers spread across the three:
#   - one agent stopped: its host is marked unreachable, its servers are not started elsewhere,
#     its games keep running; started again: reconciled, the same game PIDs;
#   - one host's link cut for 30 s and restored: the same;
#   - a drained host is given no new server.
# The figures (time to unreachable, to reconciled, jobs made during each outage) are printed as
# "[ figure ]" lines (docs/benchmarks.md, "Deploy").
#
#   tests/deploy/fleet_netns_test.sh BUILD_DIR    (root inside tests/sandbox/run; else 77)
set -euo pipefail

if [ "$(id -u)" != 0 ] || [ -z "${L4D2_SANDBOX:-}" ] || ! command -v ip >/dev/null; then
  echo "fleet_netns_test: needs root inside tests/sandbox/run"
  exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
controller_bin=$build/controller/l4d2-controller
agent_bin=$build/agent/l4d2-agent
ctl_bin=$build/ctl/l4d2ctl
dir=$(mktemp -d /tmp/l4d2-fleet.XXXXXX)
chmod 0755 "$dir"  # as /var/lib is: overlay scripts and servers pass through it
tag=$(($$ % 100000))
bridge=l4f${tag}br
net=10.$((200 + $$ % 50)).$(($$ % 250)).0
prefix=${net%.0}
controller_ip=$prefix.1
http_port=18080 report_port=18444
controller_pid=""
declare -A sandbox_pid=()

log() { echo "fleet_netns_test: $*"; }
fail() {
  echo "fleet_netns_test: FAIL: $*" >&2
  [ ! -f "$dir/controller.log" ] || tail -30 "$dir/controller.log" >&2
  exit 1
}
cleanup() {
  # Each sandbox ends (stopping its manager and units) once its command, a sleep, ends.
  for n in 1 2 3; do [ ! -s "$dir/h$n/pid" ] || kill -TERM "$(cat "$dir/h$n/pid")" 2>/dev/null || true; done
  for h in "${!sandbox_pid[@]}"; do
    for _ in $(seq 100); do kill -0 "${sandbox_pid[$h]}" 2>/dev/null || break; sleep 0.1; done
  done
  [ -z "$controller_pid" ] || kill -TERM "$controller_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  for n in 1 2 3; do ip netns del "l4f${tag}h$n" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  # What the hosts' servers mounted went with their sandboxes' namespaces.
  rm -rf "$dir" 2>/dev/null || true
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# The network: a bridge in this namespace (the controller's side), one namespace per host.
ip link add "$bridge" type bridge
ip addr add "$controller_ip/24" dev "$bridge"
ip link set "$bridge" up
for n in 1 2 3; do
  ns=l4f${tag}h$n
  ip netns add "$ns"
  ip link add "l4f${tag}v$n" type veth peer name eth0 netns "$ns"
  ip link set "l4f${tag}v$n" master "$bridge" up
  ip -n "$ns" addr add "$prefix.1$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

# The controller, as operators run it: its public URL is what the hosts reach.
cat >"$dir/controller.yaml" <<EOF
database: sqlite3:$dir/controller.db
listen_http: $controller_ip:$http_port
public_url: http://$controller_ip:$http_port
agents: {report_listen: "$controller_ip:$report_port"}
pki_dir: $dir/pki
EOF
L4D2_ADMIN_PASSWORD=fleet-test-password "$controller_bin" --config "$dir/controller.yaml" \
  admin create --username admin >/dev/null
"$controller_bin" --config "$dir/controller.yaml" >"$dir/controller.log" 2>&1 &
controller_pid=$!
for _ in $(seq 100); do grep -q "serving HTTP" "$dir/controller.log" && break; sleep 0.1; done
export XDG_CONFIG_HOME=$dir/cfg
L4D2_PASSWORD=fleet-test-password "$ctl_bin" --controller "http://$controller_ip:$http_port" \
  login --username admin >/dev/null || fail "l4d2ctl login"
ctl() { "$ctl_bin" "$@"; }

# Each host: the package's starting point (a config without TLS, the agent's unit), then the
# printed join command, in its own namespace and systemd sandbox.
join_host() {  # join_host N
  local n=$1 h=h$1 hd=$dir/h$1
  mkdir -p "$hd/root" "$hd/home"
  cat >"$hd/agent.yaml" <<EOF
root: $hd/root
steamcmd: $build/tests/fakes/fake_steamcmd
steam: {home: $hd/home}
listen: {unix: $hd/agent.sock}
systemd: {scope: user, unit_dir: /run/user/0/systemd/user, overlay_helper: $build/agent/overlay_helper/left4me-overlay, console_helper: $build/agent/console/left4me-console, server_users: "", hardening: false}
ports: {first: 27015, last: 27024}
scripts: {user: nobody}
fetch_helper: $build/agent/fetch/left4me-fetch
fetch_user: nobody
EOF
  local created token command
  created=$(ctl --json hosts create "$h" --address "$prefix.1$n:7543") || fail "hosts create $h"
  token=$(sed -n 's/.*"enrollmentToken": *"\([0-9a-f]*\)".*/\1/p' <<<"$created")
  command=$(sed -n 's/.*"enrollCommand": *"\([^"]*\)".*/\1/p' <<<"$created")
  [ -n "$token" ] && [ -n "$command" ] || fail "hosts create $h: $created"
  (umask 077 && printf '%s' "$token" >"$hd/token")
  command=${command/\/etc\/left4me\/agent.yaml/$hd/agent.yaml}
  command=${command/TOKEN_FILE/$hd/token}
  cat >"$hd/inside.sh" <<EOF
set -e
printf '[Service]\nType=notify\nNotifyAccess=main\nWatchdogSec=30s\nRestart=on-failure\nExecStart=$agent_bin --config $hd/agent.yaml\n' >/run/user/0/systemd/user/left4me-agent.service
systemctl --user daemon-reload
${command/l4d2-agent/$agent_bin} >$hd/join.log 2>&1
echo \$\$ >$hd/pid
exec sleep infinity
EOF
  # nsenter, not `ip netns exec`: that mounts a new /sys, without the cgroup hierarchies the
  # sandbox's manager needs.
  env -u L4D2_SANDBOX_INNER -u L4D2_SANDBOX nsenter --net="/run/netns/l4f${tag}h$n" \
    "$top/tests/sandbox/run" bash "$hd/inside.sh" >"$hd/sandbox.log" 2>&1 &
  sandbox_pid[$h]=$!
}
on_host() {  # on_host N COMMAND...: in host N's namespaces (its manager, its network)
  local n=$1; shift
  nsenter --target "$(cat "$dir/h$n/pid")" --mount --net -- env XDG_RUNTIME_DIR=/run/user/0 "$@"
}
started=$(now)
for n in 1 2 3; do join_host "$n"; done
for n in 1 2 3; do
  for _ in $(seq 300); do [ -s "$dir/h$n/pid" ] && break; sleep 0.1; done
  [ -s "$dir/h$n/pid" ] || fail "h$n did not join: $(cat "$dir/h$n/join.log" "$dir/h$n/sandbox.log" 2>/dev/null)"
done
log "three hosts joined in $(since "$started") s"
host_state() { ctl --json hosts show "$1" | sed -n 's/.*"state": *"\([a-z]*\)".*/\1/p'; }
for n in 1 2 3; do [ "$(host_state "h$n")" = ready ] || fail "h$n is $(host_state "h$n")"; done
for n in 1 2 3; do ctl hosts install "h$n" --wait >/dev/null || fail "hosts install h$n"; done

# Six servers, placed by the controller across the three.
printf 'name: coop\nhostname: "Fleet"\nmap: c2m1_highway\nmax_players: 8\n' >"$dir/coop.yaml"
ctl blueprints apply -f "$dir/coop.yaml" >/dev/null
for i in 1 2 3 4 5 6; do ctl servers create "vs$i" --blueprint coop --wait >/dev/null || fail "create vs$i"; done
all_running() {  # all_running [HOST]: every server (of HOST) running in the controller's view
  local listed
  listed=$(ctl servers list)
  ! awk -v h="${1:-}" 'NR > 1 && (h == "" || $4 == h) && $3 != "running" { bad = 1 } END { exit !bad }' <<<"$listed"
}
for _ in $(seq 300); do all_running && break; sleep 0.1; done
all_running || fail "not every server runs: $(ctl servers list)"
servers_on() { ctl servers list | awk -v h="$1" 'NR > 1 && $4 == h { print $1 }'; }
for n in 1 2 3; do
  [ -n "$(servers_on "h$n")" ] || fail "no server placed on h$n: $(ctl servers list)"
done
game_pids() {  # game_pids N: "name=pid ..." of host N's servers, from its agent
  local name pid out=""
  for name in $(servers_on "h$1"); do
    pid=$(ctl --agent "unix:$dir/h$1/agent.sock" status "$name" --json |
      sed -n 's/.*"main_pid": *"\{0,1\}\([0-9]*\).*/\1/p')
    out+="$name=$pid "
  done
  echo "$out"
}
# Jobs an outage could make (a server restarted or made again, a host acted on); the
# controller's own hourly update check (game.check), which may fall in the window, is not one.
jobs_count() {
  { ctl --json jobs list | grep -o '"kind":"[^"]*"' || true; } |
    awk '$0 != "\"kind\":\"game.check\"" { n++ } END { print n + 0 }'
}
alive() { local entry; for entry in $1; do kill -0 "${entry#*=}" 2>/dev/null || return 1; done; }
wait_state() {  # wait_state HOST STATE SECONDS
  for _ in $(seq $(($3 * 10))); do [ "$(host_state "$1")" = "$2" ] && return 0; sleep 0.1; done
  return 1
}
log "servers: $(ctl servers list | awk 'NR > 1 { printf "%s@%s ", $1, $4 }')"

# An outage of host N for 30 s: DOWN, then UP. Its host is marked unreachable; nothing of it
# moves, starts elsewhere or stops; the other hosts' agents keep running; once it is back it is
# reconciled with the same game PIDs, and no job was made meanwhile.
outage() {  # outage N LABEL DOWN UP
  local n=$1 label=$2 down=$3 up=$4 h=h$1 pids jobs t to_unreachable to_reconciled made m
  pids=$(game_pids "$n")
  jobs=$(jobs_count)
  t=$(now)
  eval "$down"
  for m in 1 2 3; do
    [ "$m" = "$n" ] || on_host "$m" systemctl --user is-active --quiet left4me-agent.service ||
      fail "h$m's agent stopped with $h's: $(on_host "$m" journalctl --no-pager -n 40)"
  done
  wait_state "$h" unreachable 60 || fail "$h was not marked unreachable"
  to_unreachable=$(since "$t")
  sleep "$(awk -v a="$t" -v b="$(now)" 'BEGIN { r = 30 - (b - a); print (r > 0 ? r : 0) }')"
  alive "$pids" || fail "$h's games died while it was down"
  [ "$(servers_on "$h" | sort)" = "$(for e in $pids; do echo "${e%=*}"; done | sort)" ] ||
    fail "$h's servers moved: $(ctl servers list)"
  t=$(now)
  eval "$up"
  wait_state "$h" ready 60 || fail "$h did not come back"
  for _ in $(seq 300); do all_running "$h" && break; sleep 0.1; done
  all_running "$h" || fail "$h's servers were not reconciled: $(ctl servers list)"
  to_reconciled=$(since "$t")
  made=$(($(jobs_count) - jobs))
  [ "$(game_pids "$n")" = "$pids" ] || fail "$h's games were restarted: $pids -> $(game_pids "$n")"
  echo "[ figure ] $label: unreachable after ${to_unreachable} s (health_grace 15 s), reconciled ${to_reconciled} s after it was back, ${made} jobs during the outage, game PIDs unchanged"
  [ "$made" = 0 ] || fail "jobs were made during the outage: $(ctl jobs list | head -5)"
}
outage 2 "agent stopped for 30 s" "on_host 2 systemctl --user stop left4me-agent.service" \
  "on_host 2 systemctl --user start left4me-agent.service"
outage 3 "link cut for 30 s" "ip link set l4f${tag}v3 down" "ip link set l4f${tag}v3 up"

# A drained host is given nothing new.
ctl hosts drain h1 >/dev/null
before=$(servers_on h1 | wc -l)
for i in 7 8 9; do ctl servers create "vs$i" --blueprint coop --wait >/dev/null || fail "create vs$i"; done
[ "$(servers_on h1 | wc -l)" = "$before" ] || fail "a server was placed on drained h1: $(ctl servers list)"
log "drained h1 kept its $before servers and got none of vs7-vs9"
log "passed in $(since "$started") s"
