#!/usr/bin/env bash
# deploy.sh: deploy in place, behind maintenance mode (the seed's deploy-prod.sh for this service):
# backup, maintenance, code + dependencies, cache clear, migrate, restart web and workers, health
# check, back up. For zero downtime use blue-green-deploy.sh instead.
#
#   CBP_MAINTENANCE_SECRET=some-secret deploy/scripts/deploy.sh
set -Eeuo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "$0")/common.sh"

SLOT="$(live_slot)"
SLOT_DIR="$CBP_ROOT/$SLOT"
CBP_MAINTENANCE_SECRET="${CBP_MAINTENANCE_SECRET:-}"

DONE=0
on_exit() {
    if [[ "$DONE" != 1 ]]; then
        log "deployment FAILED; the platform stays in maintenance mode."
        log "fix and rerun, run deploy/scripts/rollback.sh, or bring it back with: cbp up"
    fi
}
trap on_exit EXIT

log "deploying into the $SLOT slot ($SLOT_DIR)"

log "1/8 backup (database and stored files)"
cbp_in "$SLOT_DIR" backup

log "2/8 maintenance mode"
down_args=(down --refresh 15 --retry 60)
if [[ -n "$CBP_MAINTENANCE_SECRET" ]]; then
    down_args+=(--secret "$CBP_MAINTENANCE_SECRET")
fi
cbp_in "$SLOT_DIR" "${down_args[@]}"

log "3/8 code and dependencies"
build_slot "$SLOT_DIR"

log "4/8 clear the cache"
cbp_in "$SLOT_DIR" cache clear

log "5/8 migrations"
cbp_in "$SLOT_DIR" migrate

log "6/8 restart the web server, the workers and the scheduler"
systemctl_ restart "chatbot-web@$SLOT"
restart_workers

log "7/8 health check"
wait_healthy "$(port_of "$SLOT")" || fail "the platform is not healthy after the deployment"

log "8/8 back online"
cbp_in "$SLOT_DIR" up
DONE=1
log "deployment completed"
