#!/usr/bin/env bash
# The package is whole: build the wheel, install it into a fresh venv outside the checkout,
# migrate a PostgreSQL database, create an admin, serve with gunicorn and ask /readyz - all from
# the installed package, never from the checkout.
# Usage: deploy/check-wheel.sh postgresql+psycopg://USER@HOST:PORT/DATABASE
set -euo pipefail
cd "$(dirname "$0")/.."
DATABASE_URL=${1:?give a PostgreSQL URL}
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d /tmp/engage-wheel.XXXXXX)
SERVER_PID=""
REDIS_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

test -f engage/static/vendor/nhsuk/nhsuk-frontend.min.css || { echo "run make assets first"; exit 1; }
ls engage/translations/*/LC_MESSAGES/*.mo >/dev/null || { echo "run make translations first"; exit 1; }

echo "== building the wheel"
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" .
WHEEL=$(ls "$WORK"/dist/engage-*.whl)
"$PYTHON" -m zipfile -l "$WHEEL" > "$WORK/wheel-contents.txt"
for needed in engage/templates/base.html engage/static/css/engage.css \
              engage/static/vendor/nhsuk/nhsuk-frontend.min.css engage/migrations/env.py \
              engage/translations/en_GB/LC_MESSAGES/messages.mo engage/gunicorn_conf.py; do
  grep -q "^$needed " "$WORK/wheel-contents.txt" || { echo "the wheel lacks $needed"; exit 1; }
done

echo "== installing it into a fresh venv in $WORK"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet "$WHEEL[postgres,redis,s3]"

cd "$WORK"   # nothing from the checkout on the path from here on
export ENGAGE_CONFIG=production DATABASE_URL
export SECRET_KEY=wheel-check-secret-key-that-is-long-enough-0123456789
export FIELD_ENCRYPTION_KEY=$("$WORK/venv/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
free_port() { "$WORK/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
if [ -z "${RATELIMIT_STORAGE_URI:-}" ]; then
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" > "$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  export RATELIMIT_STORAGE_URI=redis://127.0.0.1:$REDIS_PORT/0
fi
export UPLOADS_DIR="$WORK/uploads" SESSION_COOKIE_SECURE=0 ENGAGE_INSTANCE_PATH="$WORK/instance"
PORT=$(free_port)
export WEB_BIND=127.0.0.1:$PORT

"$WORK/venv/bin/python" -c 'import engage, sys; assert "/venv/" in engage.__file__, engage.__file__; print("engage from", engage.__file__)'
echo "== engage db upgrade"
"$WORK/venv/bin/engage" db upgrade
echo "== engage create-admin"
"$WORK/venv/bin/engage" create-admin --username wheel-admin --display-name "Wheel Admin" \
  --password "a long admin passphrase for the check"
echo "== engage serve, then /readyz"
"$WORK/venv/bin/engage" serve > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  if "$WORK/venv/bin/python" - "$PORT" <<'PY'
import json, sys, urllib.request
try:
    body = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=2))
except Exception:
    sys.exit(1)
print(body)
assert body["ready"] is True and body["checks"]["database"] == "ok", body
home = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=5).read().decode()
css = home.split('rel="stylesheet" href="')[1].split('"')[0]
assert urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{css}", timeout=5).status == 200
PY
  then echo "== the installed package serves the site: ok"; exit 0; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/serve.log"; echo "engage serve stopped"; exit 1; fi
  sleep 0.5
done
cat "$WORK/serve.log"; echo "/readyz never answered ready"; exit 1
