#!/usr/bin/env bash
# rollback.sh: emergency rollback to the previous slot (the seed's emergency-rollback.sh).
# Starts the previous slot, checks its health, switches NGINX and the `current` link back to it,
# restarts the workers on its code and stops the broken slot. Maintenance mode covers the switch.
set -Eeuo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "$0")/common.sh"

BROKEN_SLOT="$(live_slot)"
BACK_SLOT="$(other_slot "$BROKEN_SLOT")"
BACK_DIR="$CBP_ROOT/$BACK_SLOT"
[[ -x "$BACK_DIR/.venv/bin/cbp" ]] || fail "no previous deployment in $BACK_DIR"

log "emergency rollback: $BROKEN_SLOT -> $BACK_SLOT"
cbp_in "$BACK_DIR" down --retry 30

systemctl_ restart "chatbot-web@$BACK_SLOT"
if ! wait_healthy "$(port_of "$BACK_SLOT")"; then
    fail "$BACK_SLOT is not healthy either; the platform stays in maintenance mode"
fi

ln -sfn "$CBP_ROOT/$BROKEN_SLOT" "$CBP_ROOT/previous"
ln -sfn "$BACK_DIR" "$CBP_ROOT/current"
point_nginx_at "$BACK_SLOT"
restart_workers
systemctl_ stop "chatbot-web@$BROKEN_SLOT"

cbp_in "$BACK_DIR" up
log "rollback completed: $BACK_SLOT is live"
