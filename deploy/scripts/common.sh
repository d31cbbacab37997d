#!/usr/bin/env bash
# Shared by deploy.sh, blue-green-deploy.sh and rollback.sh. Every path and command can be changed
# through the environment (the tests run the scripts in a temporary folder with stand-ins).
#
# Layout (docs/deployment.md):
#   $CBP_ROOT/blue, $CBP_ROOT/green   two checkouts, each with its own .venv and a .env -> ../shared/.env
#   $CBP_ROOT/current, $CBP_ROOT/previous   symlinks to the live slot and the one before it
#   $CBP_ROOT/slots/{blue,green}.env        PORT=8001 / PORT=8002 for chatbot-web@<slot>

CBP_ROOT="${CBP_ROOT:-/srv/chatbot-platform}"
CBP_BRANCH="${CBP_BRANCH:-main}"
CBP_SYSTEMCTL="${CBP_SYSTEMCTL:-sudo systemctl}"
CBP_NGINX_UPSTREAM="${CBP_NGINX_UPSTREAM:-/etc/nginx/chatbot-platform-upstream.conf}"
CBP_NGINX_RELOAD="${CBP_NGINX_RELOAD:-sudo nginx -t && sudo systemctl reload nginx}"
CBP_BLUE_PORT="${CBP_BLUE_PORT:-8001}"
CBP_GREEN_PORT="${CBP_GREEN_PORT:-8002}"
CBP_HEALTH_RETRIES="${CBP_HEALTH_RETRIES:-30}"
CBP_HEALTH_INTERVAL="${CBP_HEALTH_INTERVAL:-2}"
CBP_DRAIN_SECONDS="${CBP_DRAIN_SECONDS:-30}"
CBP_WORKER_QUEUES="${CBP_WORKER_QUEUES:-default ingestion embeddings scraping}"
# HEALTH_CHECK_SECRET, when the platform sets one, is sent to /health.
HEALTH_CHECK_SECRET="${HEALTH_CHECK_SECRET:-}"

log() {
    printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"
}

fail() {
    log "ERROR: $*" >&2
    exit 1
}

systemctl_() {
    # shellcheck disable=SC2086  # CBP_SYSTEMCTL may be "sudo systemctl"
    $CBP_SYSTEMCTL "$@"
}

port_of() {
    case "$1" in
        blue) echo "$CBP_BLUE_PORT" ;;
        green) echo "$CBP_GREEN_PORT" ;;
        *) fail "unknown slot '$1'" ;;
    esac
}

other_slot() {
    if [[ "$1" == "blue" ]]; then echo green; else echo blue; fi
}

live_slot() {
    # The slot `current` points at; blue on a first install.
    local target
    target="$(readlink "$CBP_ROOT/current" 2>/dev/null || true)"
    if [[ "$target" == *green ]]; then echo green; else echo blue; fi
}

cbp_in() {
    # Run `cbp` from a slot's own virtualenv, in the slot (where its .env is).
    local slot_dir="$1"
    shift
    (cd "$slot_dir" && "$slot_dir/.venv/bin/cbp" "$@")
}

build_slot() {
    # Fetch the code and install it into the slot's virtualenv (CBP_BUILD_COMMAND replaces this).
    local slot_dir="$1"
    if [[ -n "${CBP_BUILD_COMMAND:-}" ]]; then
        (cd "$slot_dir" && bash -c "$CBP_BUILD_COMMAND")
        return
    fi
    git -C "$slot_dir" fetch --quiet origin "$CBP_BRANCH"
    git -C "$slot_dir" reset --quiet --hard "origin/$CBP_BRANCH"
    [[ -x "$slot_dir/.venv/bin/python" ]] || python3 -m venv "$slot_dir/.venv"
    "$slot_dir/.venv/bin/python" -m pip install --quiet --upgrade pip
    "$slot_dir/.venv/bin/python" -m pip install --quiet "$slot_dir"
    ln -sfn ../shared/.env "$slot_dir/.env"
}

wait_healthy() {
    # Poll GET /health on a port until it answers 200 (every dependency healthy).
    local port="$1" attempt
    for ((attempt = 1; attempt <= CBP_HEALTH_RETRIES; attempt++)); do
        if curl -fsS --max-time 5 -H "X-Health-Secret: $HEALTH_CHECK_SECRET" \
            "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
            log "healthy on port $port"
            return 0
        fi
        sleep "$CBP_HEALTH_INTERVAL"
    done
    return 1
}

point_nginx_at() {
    # Rewrite the upstream to one slot's port and reload NGINX (atomically: write, then rename).
    local slot="$1" port
    port="$(port_of "$slot")"
    printf '# live slot: %s (written by %s)\nserver 127.0.0.1:%s;\n' "$slot" "$(basename "$0")" "$port" \
        >"$CBP_NGINX_UPSTREAM.tmp"
    mv -f "$CBP_NGINX_UPSTREAM.tmp" "$CBP_NGINX_UPSTREAM"
    bash -c "$CBP_NGINX_RELOAD"
}

restart_workers() {
    local queue units=()
    for queue in $CBP_WORKER_QUEUES; do
        units+=("chatbot-worker@$queue")
    done
    systemctl_ restart "${units[@]}" chatbot-scheduler
}
