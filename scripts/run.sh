#!/usr/bin/env bash
# Start Procto: migrate, seed the demo data, then serve HTTP + WebSocket with daphne.
# With REDIS_URL set a Celery worker (with beat) starts beside it; without, tasks run in-process.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
HOST=${PROCTO_HOST:-127.0.0.1}
PORT=${PROCTO_PORT:-8000}

"$PY" manage.py migrate --noinput
"$PY" manage.py seed_demo
if [ "${DJANGO_DEBUG:-1}" = "0" ]; then
  "$PY" manage.py collectstatic --noinput
fi

if [ -n "${REDIS_URL:-}" ]; then
  mkdir -p .local
  "$PY" -m celery -A procto worker -Q default,frames,audio --beat \
    --schedule .local/celerybeat-schedule --loglevel INFO &
  worker_pid=$!
  # Ctrl-C stops daphne; the worker then finishes its current task (warm shutdown) before we exit.
  trap 'kill -TERM "$worker_pid" 2>/dev/null; wait "$worker_pid" 2>/dev/null || true' EXIT
  echo "Celery worker started (pid $worker_pid) on queues default, frames, audio."
else
  echo "Embedded mode: SQLite, in-memory channel layer, tasks run in-process."
fi

echo
echo "Procto is starting at http://$HOST:$PORT/  (health: http://$HOST:$PORT/healthz)"
echo "Log in with one of the demo logins above. Stop with Ctrl-C."
echo
"$PY" -m daphne -b "$HOST" -p "$PORT" procto.asgi:application
