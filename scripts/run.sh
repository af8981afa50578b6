#!/usr/bin/env bash
# Start the action server and the Rasa server together; Ctrl-C stops both.
# Expects `make setup` and `make train` to have run (the Makefile does that).
set -euo pipefail
cd "$(dirname "$0")/.."

RASA_PORT="${RASA_PORT:-5005}"
ACTION_PORT="${ACTION_PORT:-5055}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:${ACTION_PORT}/webhook}"
MODEL="${MODEL:-models/assistant.tar.gz}"
BIN=.venv/bin
mkdir -p var/log

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run: stopped"
}
trap cleanup INT TERM EXIT

"$BIN/rasa" run actions --actions actions --port "$ACTION_PORT" &
pids+=($!)
"$BIN/rasa" run --model "$MODEL" --port "$RASA_PORT" \
  --credentials credentials.yml --endpoints endpoints.yml --cors "*" &
pids+=($!)

# Wait until both answer, then say where to chat.
"$BIN/python" -m bot.wait_ready \
  "http://127.0.0.1:${ACTION_PORT}/health" "http://127.0.0.1:${RASA_PORT}/" --timeout 180
cat <<MSG

  The assistant is running.
  Web widget:    http://127.0.0.1:${RASA_PORT}/webhooks/webchat/  (open it in a browser)
  REST webhook:  curl -s -XPOST http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook \\
                   -H 'Content-Type: application/json' -d '{"sender":"demo","message":"halo"}'
  Action server: http://127.0.0.1:${ACTION_PORT}/health
  WhatsApp and Telegram answer when their variables are set (docs/channels.md).
  Press Ctrl-C to stop both.

MSG
wait -n "${pids[@]}"
echo "run: a server exited; stopping the other" >&2
exit 1
