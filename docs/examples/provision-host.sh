#!/usr/bin/env bash
# Provisioning a game host from CI, over ssh: the whole of it is one `l4d2ctl hosts create` and
# the one command it prints, run on the host. The host has the l4d2-agent package installed
# (apt install ./l4d2-agent_<version>_amd64.deb); l4d2ctl is logged in to the controller as an
# admin (l4d2ctl login, or an API token in its config); jq reads its JSON.
#
#   docs/examples/provision-host.sh NAME SSH_TARGET AGENT_ADDRESS
#   e.g. docs/examples/provision-host.sh fra-3 root@10.0.0.7 10.0.0.7:7543
#
# Idempotent on the host: `join` on a joined host changes nothing. Exit status: non-zero when
# any step fails (the host's name taken, the token refused, the CA not the pinned one, the agent
# not serving).
set -euo pipefail
name=$1 target=$2 address=$3

# The host record: its one-time token and the join command with the controller's CA pinned.
created=$(l4d2ctl --json hosts create "$name" --address "$address")
token=$(jq -r .enrollmentToken <<<"$created")
command=$(jq -r .enrollCommand <<<"$created")

# The token travels over ssh's standard input into a file only root reads, never in argv.
ssh "$target" 'umask 077 && cat > /root/left4me-token' <<<"$token"
ssh "$target" "${command/TOKEN_FILE//root/left4me-token} && rm -f /root/left4me-token"

# join returns once the agent serves; the controller now reaches it and hears its reports.
l4d2ctl hosts show "$name"
