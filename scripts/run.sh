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
  # One solo worker per core (a prefork parent relaying frames costs more than it gives); the
  # first also runs the beat schedule.
  worker_pids=""
  for n in $(seq 1 "$(nproc)"); do
    beat=""
    if [ "$n" = 1 ]; then beat="--beat --schedule .local/celerybeat-schedule"; fi
    # shellcheck disable=SC2086
    "$PY" -m celery -A procto worker -Q default,frames,audio --pool solo -n "worker$n@%h" $beat \
      --loglevel INFO &
    worker_pids="$worker_pids $!"
  done
  # Ctrl-C stops daphne; each worker then finishes its current task (warm shutdown) before we exit.
  # shellcheck disable=SC2086
  trap 'kill -TERM $worker_pids 2>/dev/null; wait $worker_pids 2>/dev/null || true' EXIT
  echo "Celery workers started (pids$worker_pids) on queues default, frames, audio."
else
  echo "Embedded mode: SQLite, in-memory channel layer, tasks run in-process."
fi

echo
echo "Procto is starting at http://$HOST:$PORT/  (health: http://$HOST:$PORT/healthz)"
echo "Log in with one of the demo logins above. Stop with Ctrl-C."
echo
"$PY" -m daphne -b "$HOST" -p "$PORT" procto.asgi:application
