#!/usr/bin/env bash
# blue-green-deploy.sh: zero-downtime deployment (the seed's blue-green script for this service).
# Builds and migrates the idle slot, starts it on its own port, switches NGINX to it only once its
# /health is 200, restarts the workers on the new code, then stops the old slot after a drain.
# Migrations must keep working for the old code while both run (add columns, never drop them here).
set -Eeuo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "$0")/common.sh"

OLD_SLOT="$(live_slot)"
NEW_SLOT="$(other_slot "$OLD_SLOT")"
NEW_DIR="$CBP_ROOT/$NEW_SLOT"
NEW_PORT="$(port_of "$NEW_SLOT")"

log "live slot: $OLD_SLOT; deploying to $NEW_SLOT (port $NEW_PORT)"
[[ -d "$NEW_DIR" ]] || fail "$NEW_DIR does not exist (clone the repository there first)"

log "1/6 code and dependencies"
build_slot "$NEW_DIR"

log "2/6 migrations"
cbp_in "$NEW_DIR" migrate

log "3/6 start the $NEW_SLOT web server"
systemctl_ restart "chatbot-web@$NEW_SLOT"

log "4/6 health check of $NEW_SLOT"
if ! wait_healthy "$NEW_PORT"; then
    systemctl_ stop "chatbot-web@$NEW_SLOT"
    fail "$NEW_SLOT is not healthy; traffic stays on $OLD_SLOT"
fi

log "5/6 switch traffic to $NEW_SLOT"
ln -sfn "$CBP_ROOT/$OLD_SLOT" "$CBP_ROOT/previous"
ln -sfn "$NEW_DIR" "$CBP_ROOT/current"
point_nginx_at "$NEW_SLOT"
restart_workers

log "6/6 drain and stop $OLD_SLOT (${CBP_DRAIN_SECONDS}s)"
sleep "$CBP_DRAIN_SECONDS"
systemctl_ stop "chatbot-web@$OLD_SLOT"
log "deployment to $NEW_SLOT completed"
