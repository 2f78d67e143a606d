#!/usr/bin/env bash
# Issue Deploy: the firewall the agent package ships (deploy/nftables/left4me.nft), loaded for
# real in a network namespace with a game server (the fake srcds, bound to every address as
# production binds it) and tried from a second namespace over a veth link:
#   - before it, RCON answers from the other namespace (what an internet scanner sees today);
#   - with it, RCON from a non-loopback address is reset while A2S answers, and RCON over
#     loopback (the agent's console) still works;
#   - game_dscp = ef marks the game's replies Expedited Forwarding; the default leaves them 0;
#   - loading it again replaces its table, and touches no other table.
#
#   tests/deploy/firewall_test.sh FAKE_STEAMCMD    (root; exits 77, skipped, otherwise)
set -euo pipefail

if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null; then
  echo "firewall_test: needs root and nft (nftables)"
  exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
steamcmd=$1
shipped=$here/../../deploy/nftables/left4me.nft
probe=$here/firewall_probe.py
tmp=$(mktemp -d)
ns=l4d2fw$$
server=${ns}s client=${ns}c
port=27015 password=fw-test-secret
server_pid=""

cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$server" 2>/dev/null || true
  ip netns del "$client" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ ! -f "$tmp/srcds.log" ] || tail -20 "$tmp/srcds.log" >&2; exit 1; }

# Two namespaces, one link: the host at 10.231.0.1, a player (or a scanner) at 10.231.0.2.
ip netns add "$server"
ip netns add "$client"
ip link add "${ns}a" type veth peer name "${ns}b"
ip link set "${ns}a" netns "$server"
ip link set "${ns}b" netns "$client"
ip -n "$server" addr add 10.231.0.1/24 dev "${ns}a"
ip -n "$client" addr add 10.231.0.2/24 dev "${ns}b"
for n in "$server" "$client"; do ip -n "$n" link set lo up; done
ip -n "$server" link set "${ns}a" up
ip -n "$client" link set "${ns}b" up

# The game, installed as the agent installs it (Windows first: l4d2-facts.md), and started as
# the agent starts it: on every address of the host.
for platform in windows linux; do
  HOME=$tmp/home FAKE_STEAMCMD_STATE=$tmp/state "$steamcmd" +force_install_dir "$tmp/install" \
    +login anonymous +@sSteamCmdForcePlatformType "$platform" +app_update 222860 +quit >/dev/null
done
printf 'hostname "Firewalled"\nrcon_password "%s"\n' "$password" \
  >"$tmp/install/left4dead2/cfg/server.cfg"
(cd "$tmp/install" && exec ip netns exec "$server" ./srcds_run -game left4dead2 -port "$port" \
  +ip 0.0.0.0 +map c2m1_highway -maxplayers 6 -norestart -strictportbind) >"$tmp/srcds.log" 2>&1 &
server_pid=$!
on_client() { ip netns exec "$client" python3 "$probe" "$@"; }
on_server() { ip netns exec "$server" python3 "$probe" "$@"; }
for _ in $(seq 100); do
  on_client a2s 10.231.0.1 "$port" >/dev/null 2>&1 && break
  sleep 0.1
done

# Without the firewall, RCON answers anyone who can reach the port.
out=$(on_client rcon 10.231.0.1 "$port" "$password")
echo "$out" | grep -q 'hostname: Firewalled' || fail "RCON before the firewall: $out"

# The shipped rules, with this test's port range; another table stays as it was.
load() { # game_dscp
  sed -e "s/^define game_ports = .*/define game_ports = $port-$((port + 9))/" \
      -e "s/^define game_dscp = .*/define game_dscp = $1/" "$shipped" >"$tmp/firewall.nft"
  ip netns exec "$server" nft -f "$tmp/firewall.nft"
}
ip netns exec "$server" nft add table inet operator
load cs0
out=$(on_client a2s 10.231.0.1 "$port") || fail "A2S through the firewall"
[ "$out" = "name=Firewalled dscp=0" ] || fail "A2S through the firewall: $out"
out=$(on_client rcon 10.231.0.1 "$port" "$password")
[ "$out" = refused ] || fail "RCON from 10.231.0.2 was not refused: $out"
out=$(on_server rcon 127.0.0.1 "$port" "$password")
echo "$out" | grep -q 'hostname: Firewalled' || fail "RCON over loopback: $out"

# Expedited Forwarding on the game's replies, and a reload replaces the table.
load ef
out=$(on_client a2s 10.231.0.1 "$port")
[ "$out" = "name=Firewalled dscp=46" ] || fail "A2S with game_dscp = ef: $out"
tables=$(ip netns exec "$server" nft list tables)
[ "$(echo "$tables" | grep -c 'table inet left4me')" = 1 ] || fail "tables after a reload: $tables"
echo "$tables" | grep -q 'table inet operator' || fail "another table was touched: $tables"
out=$(on_client rcon 10.231.0.1 "$port" "$password")
[ "$out" = refused ] || fail "RCON after a reload: $out"

# Stopping it (the unit's ExecStop) removes its table alone.
ip netns exec "$server" nft delete table inet left4me
tables=$(ip netns exec "$server" nft list tables)
[ "$tables" = "table inet operator" ] || fail "tables after stop: $tables"
echo "firewall_test: RCON refused from 10.231.0.2 and answered over loopback, A2S open, DSCP ef"
