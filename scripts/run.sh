#!/usr/bin/env bash
# Start the action server, the Rasa server and the reviewers' console together;
# Ctrl-C stops all three.
# Expects `make setup` and `make train` to have run (the Makefile does that).
set -euo pipefail
cd "$(dirname "$0")/.."

RASA_PORT="${RASA_PORT:-5005}"
ACTION_PORT="${ACTION_PORT:-5055}"
# Rasa listens on loopback unless RASA_HOST opens it (to a TLS proxy, say);
# the action server is only ever reached by Rasa, so it stays on loopback.
RASA_HOST="${RASA_HOST:-127.0.0.1}"
ACTION_HOST="${ACTION_HOST:-127.0.0.1}"
# The reviewers' console (and the reporters' notification worker) likewise stays
# on loopback unless CONSOLE_HOST opens it to a TLS proxy (console/config.py).
export CONSOLE_PORT="${CONSOLE_PORT:-5080}"
export CONSOLE_HOST="${CONSOLE_HOST:-127.0.0.1}"
# CORS for Rasa's HTTP routes: none by default (the widget is served by Rasa
# itself); RASA_CORS lists the origins that may embed it from elsewhere.
RASA_CORS="${RASA_CORS:-}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:${ACTION_PORT}/webhook}"
MODEL="${MODEL:-models/assistant.tar.gz}"
BIN=.venv/bin
# One compute thread for the model (OpenMP in the e5 embedding, TensorFlow): Rasa
# handles messages on one event loop, so more threads add no throughput, and when
# the cores are busy their spin-waits multiply the parse time (docs/cluster.md).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export TF_INTRA_OP_PARALLELISM_THREADS="${TF_INTRA_OP_PARALLELISM_THREADS:-1}"
export TF_INTER_OP_PARALLELISM_THREADS="${TF_INTER_OP_PARALLELISM_THREADS:-1}"

# Databases, evidence and keys are readable by this user only.
umask 077
mkdir -p var/log
chmod 700 var
for db in var/*.db; do [ -e "$db" ] && chmod 600 "$db"; done

# Refuse to start production with missing secrets or a half-configured channel.
"$BIN/python" -m channels.preflight credentials.yml

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run: stopped"
}
trap cleanup INT TERM EXIT

SANIC_HOST="$ACTION_HOST" "$BIN/rasa" run actions --actions actions --port "$ACTION_PORT" &
pids+=($!)
cors=()
[ -n "$RASA_CORS" ] && cors=(--cors "$RASA_CORS")
"$BIN/rasa" run --model "$MODEL" --interface "$RASA_HOST" --port "$RASA_PORT" \
  --credentials credentials.yml --endpoints endpoints.yml "${cors[@]}" &
pids+=($!)
"$BIN/python" -m console &
pids+=($!)

# Wait until all three answer, then say where to chat and to review.
"$BIN/python" -m bot.wait_ready \
  "http://127.0.0.1:${ACTION_PORT}/health" "http://127.0.0.1:${RASA_PORT}/" \
  "http://127.0.0.1:${CONSOLE_PORT}/healthz" --timeout 180
cat <<MSG

  The assistant is running (Rasa on ${RASA_HOST}, the action server on ${ACTION_HOST}).
  Web widget:    http://127.0.0.1:${RASA_PORT}/webhooks/webchat/  (open it in a browser)
  REST webhook:  curl -s -XPOST http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook \\
                   -H 'Content-Type: application/json' -d '{"sender":"demo","message":"halo"}'
  Action server: http://127.0.0.1:${ACTION_PORT}/health
  Reviewers' console: http://127.0.0.1:${CONSOLE_PORT}/  (first account:
    .venv/bin/lapor-admin user add NAME --role koordinator --password-stdin)
  WhatsApp and Telegram answer when their variables are set (docs/channels.md).
  Press Ctrl-C to stop everything.

MSG
wait -n "${pids[@]}"
echo "run: a server exited; stopping the others" >&2
exit 1
