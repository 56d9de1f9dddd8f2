#!/usr/bin/env bash
# The production stack on this machine: nginx (buffering proxy, TLS) -> two gunicorn
# pools (pages / submissions) -> PostgreSQL; Celery worker and beat on Redis.
#   deploy/prod.sh start | stop | status        (make prod / make prod-stop)
# Every knob is an environment variable with a default (README "Running in production").
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

export PERF_VAR_DIR="${PERF_VAR_DIR:-$ROOT/var}"
VAR="$PERF_VAR_DIR"
PY="${PY:-$ROOT/.venv/bin/python}"
BIN="$(dirname "$PY")"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/lntsite_prod}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/2}"
export DEBUG=0 CELERY_TASK_ALWAYS_EAGER=0 PERF_DEBUG_TOOLBAR=0
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
export PERF_BEHIND_PROXY=1
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PERF_VAR_DIR/metrics}"
# Bots on the internal network may submit over plain HTTP (pages still go to https).
export PERF_PLAIN_HTTP_SUBMISSIONS="${PERF_PLAIN_HTTP_SUBMISSIONS:-1}"
export STATIC_ROOT="${STATIC_ROOT:-$ROOT/staticfiles}"
export PERF_MAX_SUBMISSION_BYTES="${PERF_MAX_SUBMISSION_BYTES:-52428800}"
# The submit pool's worker timeout (default sized for PERF_MAX_SUBMISSION_BYTES, see
# lntsite/workers.py); nginx waits 10 s longer for a submission's answer.
PERF_SUBMIT_TIMEOUT="$("$PY" -c 'from lntsite.workers import submit_timeout; print(submit_timeout())')"
export PERF_SUBMIT_TIMEOUT
HTTP_PORT="${PERF_HTTP_PORT:-8080}"
HTTPS_PORT="${PERF_HTTPS_PORT:-8443}"
CONCURRENCY="${PERF_CELERY_CONCURRENCY:-2}"
# Scaling out (README "Scaling out"): independent gunicorn instances per pool, and
# Celery worker processes, each as if on its own machine.  One beat whatever the count.
WEB_NODES="${PERF_WEB_NODES:-1}"
WORKERS="${PERF_WORKERS:-1}"
# With more than one node, web node k listens on 127.0.0.1:BASE+2(k-1), submit node k
# on the port after it (one is on var/run/ unix sockets, as before).
NODE_PORT_BASE="${PERF_NODE_PORT_BASE:-8100}"
for knob in WEB_NODES WORKERS NODE_PORT_BASE CONCURRENCY; do
    case "${!knob}" in
        '' | *[!0-9]* | 0) echo "prod: $knob must be a positive integer, got '${!knob}'" >&2; exit 2 ;;
    esac
done
# The write side (the submission pool and the Celery workers) runs this many CPU
# niceness levels below the pages (nice(1) adds it to this script's own): when writers
# keep the cores busy, a reader's request still gets a core first (README "Load").
# 0 turns it off; 1-19.
# PERF_WRITE_DB_NICE=N (default 0: off) renices their PostgreSQL server processes too,
# when the server runs on this host and this user may (lntsite/db/postgresql.py).  Off
# by default: no gain measured, and on a loaded machine a reniced server process that
# is ending still counts against max_connections for longer (README "Load").
# Every gunicorn thread and Celery process keeps its database connection for up to this
# many seconds (DATABASE_CONN_MAX_AGE; 0: a new one for each request and task).  A new
# connection costs PostgreSQL a forked server process and cold catalog caches: 7-9 ms
# of server CPU per API read measured, against under 1 ms on a kept one (README
# "Load").  It changes no bound (each held one while it worked anyway), and with no
# connection ending after each request, none lingers past it in pg_stat_activity.
# Django checks a kept connection (one round trip) before a request or task uses it.
CONN_MAX_AGE="${PERF_CONN_MAX_AGE:-60}"
case "$CONN_MAX_AGE" in
    '' | *[!0-9]*) echo "prod: PERF_CONN_MAX_AGE must be an integer >= 0, got '$CONN_MAX_AGE'" >&2; exit 2 ;;
esac
export DATABASE_CONN_MAX_AGE="$CONN_MAX_AGE"
WRITE_NICE="${PERF_WRITE_NICE:-10}"
WRITE_DB_NICE="${PERF_WRITE_DB_NICE:-0}"
for knob in WRITE_NICE WRITE_DB_NICE; do
    case "${!knob}" in
        [0-9] | 1[0-9]) ;;
        *) echo "prod: PERF_$knob must be 0-19, got '${!knob}'" >&2; exit 2 ;;
    esac
done

# The name suffix of instance $1 of $2 (pid files, logs): none when there is one.
suffix() { if [ "$2" != 1 ]; then echo "-$1"; fi; }
# PERF_SUBMIT_POOL=0 sends submissions to the page pool too (one pool, for
# comparison with bench/load.py; README "Load").
POOLS="web submit"
if [ "${PERF_SUBMIT_POOL:-1}" = 0 ]; then POOLS="web"; fi
# Processes this script starts, by pid file (nginx and gunicorn write their own).
pidfiles() {
    echo nginx celery-beat
    for pool in $POOLS; do
        for k in $(seq "$WEB_NODES"); do echo "gunicorn-$pool$(suffix "$k" "$WEB_NODES")"; done
    done
    for k in $(seq "$WORKERS"); do echo "celery-worker$(suffix "$k" "$WORKERS")"; done
}
# What a running stack left in var/run/, whatever it was started with.
started_pidfiles() {
    # Supervisors first: stopping one stops its process (which must not be restarted).
    for f in "$VAR"/run/{supervise-*,nginx,gunicorn-*,celery-*}.pid; do
        [ -f "$f" ] && basename "$f" .pid
    done
    return 0
}

say() { echo "prod: $*"; }

alive() { [ -f "$VAR/run/$1.pid" ] && kill -0 "$(cat "$VAR/run/$1.pid")" 2>/dev/null; }

# Every process of the configured layout whose name starts with $1 has written its pid
# file and runs.
all_alive() {
    for p in $(pidfiles); do
        case "$p" in $1*) alive "$p" || return 1 ;; esac
    done
}

secret_key() {
    # Generated once, kept in var/ (mode 600), never in the repository.
    if [ ! -s "$VAR/secret_key" ]; then
        (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$VAR/secret_key")
    fi
    SECRET_KEY="$(cat "$VAR/secret_key")"
    export SECRET_KEY
}

need_nginx() {
    command -v nginx >/dev/null 2>&1 && return
    [ "$(id -u)" = 0 ] || { say "nginx is missing: apt-get install nginx-light (as root)"; exit 1; }
    say "installing nginx from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
}

need_services() {
    # The server DATABASE_URL names (postgres://user@host:port/name; port 5432 if none).
    local hostport="${DATABASE_URL#*://}"
    hostport="${hostport#*@}" && hostport="${hostport%%/*}"
    local pghost="${hostport%%:*}" pgport=5432
    [ "$hostport" != "$pghost" ] && pgport="${hostport##*:}"
    pg_isready -q -h "$pghost" -p "$pgport" || { say "PostgreSQL is not answering on $pghost:$pgport"; exit 1; }
    "$PY" - <<'PY'
import os, sys
import dj_database_url, psycopg2, redis
db = dj_database_url.parse(os.environ["DATABASE_URL"])
admin = dict(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
             password=db["PASSWORD"] or None, dbname="postgres", connect_timeout=3)
conn = psycopg2.connect(**admin)
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
    if cur.fetchone() is None:
        cur.execute(f'CREATE DATABASE "{db["NAME"]}"')
        print(f"prod: created database {db['NAME']}")
try:
    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"], socket_timeout=2).ping()
except redis.RedisError as exc:
    sys.exit(f"prod: the broker {os.environ['CELERY_BROKER_URL']} is not answering: {exc}")
PY
}

tls_pair() {
    [ -s "$VAR/tls/cert.pem" ] && return
    mkdir -p "$VAR/tls" && chmod 700 "$VAR/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$VAR/tls/key.pem" -out "$VAR/tls/cert.pem" 2>/dev/null
    say "made a self-signed certificate in $VAR/tls/ (replace it with yours)"
}

# The address gunicorn instance k of a pool binds (empty: its unix socket).
node_bind() {
    [ "$WEB_NODES" = 1 ] && return
    local offset=0
    if [ "$1" = submit ]; then offset=1; fi
    echo "127.0.0.1:$((NODE_PORT_BASE + 2 * ($2 - 1) + offset))"
}

# nginx upstream members of a pool, one per instance, on one line (\n for sed).
upstream_members() {
    if [ "$WEB_NODES" = 1 ]; then
        printf '        server unix:%s fail_timeout=0;' "$VAR/run/gunicorn-$1.sock"
        return
    fi
    for k in $(seq "$WEB_NODES"); do
        printf '        server %s max_fails=1 fail_timeout=2s;\\n' "$(node_bind "$1" "$k")"
    done
}

render_nginx() {
    local user_line=""
    if [ "$(id -u)" = 0 ]; then
        # Workers drop to www-data when it can reach the sockets and static files
        # (a clone under /root cannot): else they stay root, with a warning.
        if runuser -u www-data -- test -x "$VAR/run" -a -r "$STATIC_ROOT" 2>/dev/null; then
            user_line="user www-data;"
            chown -R www-data "$VAR/nginx"
        else
            user_line="user root;"
            say "warning: www-data cannot reach $VAR/run or $STATIC_ROOT; nginx workers run as root"
        fi
    fi
    local web_servers submit_servers
    web_servers="$(upstream_members web)"
    submit_servers="$(upstream_members submit)"
    if [ "${PERF_SUBMIT_POOL:-1}" = 0 ]; then submit_servers="$web_servers"; fi
    local guard="# plain HTTP allowed (PERF_PLAIN_HTTP_SUBMISSIONS=1)"
    if [ "$PERF_PLAIN_HTTP_SUBMISSIONS" = 0 ]; then
        guard="if (\$scheme = http) { return 308 https://\$host:$HTTPS_PORT\$request_uri; }"
    fi
    sed -e "s|@USER_LINE@|$user_line|" -e "s|@SUBMIT_TLS_ONLY@|$guard|" -e "s|@VAR@|$VAR|g" -e "s|@ROOT@|$ROOT|g" \
        -e "s|@TLS_DIR@|$VAR/tls|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@HTTPS_PORT@|$HTTPS_PORT|g" -e "s|@MAX_BODY@|$PERF_MAX_SUBMISSION_BYTES|g" \
        -e "s|@SUBMIT_READ_TIMEOUT@|$((PERF_SUBMIT_TIMEOUT + 10))|g" \
        -e "s|alias $ROOT/staticfiles/|alias $STATIC_ROOT/|" \
        -e "s|@WEB_SERVERS@|$web_servers|" -e "s|@SUBMIT_SERVERS@|$submit_servers|" \
        deploy/nginx.conf >"$VAR/nginx/nginx.conf"
    nginx -t -q -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf"
}

start() {
    for p in $(started_pidfiles); do
        if alive "$p"; then say "$p is already running (make prod-stop first)"; exit 1; fi
    done
    need_nginx
    mkdir -p "$VAR/log" "$VAR/run" "$VAR/nginx"/{body,proxy,fastcgi,uwsgi,scgi}
    # /metrics in prometheus_client's multiprocess mode: every gunicorn and Celery
    # process writes its samples here; emptied at each start, as the library asks.
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    secret_key
    need_services
    "$PY" manage.py migrate --no-input -v 0
    "$PY" manage.py collectstatic --no-input -v 0
    "$PY" manage.py check --deploy --fail-level WARNING
    tls_pair
    render_nginx

    for pool in $POOLS; do
        for k in $(seq "$WEB_NODES"); do
            s="$(suffix "$k" "$WEB_NODES")"
            niceness=0 db_niceness=0
            if [ "$pool" = submit ]; then niceness="$WRITE_NICE" db_niceness="$WRITE_DB_NICE"; fi
            PERF_POOL=$pool PERF_NODE="${s#-}" PERF_BIND="$(node_bind "$pool" "$k")" \
                DATABASE_BACKEND_NICE="$db_niceness" \
                setsid nohup nice -n "$niceness" "$BIN/gunicorn" -c deploy/gunicorn.conf.py \
                >>"$VAR/log/gunicorn-$pool$s-start.log" 2>&1 </dev/null &
        done
    done
    # Each worker under its own node name, as if on its own machine.  Worker and beat
    # run under deploy/supervise.sh, which starts them again when they end (as systemd's
    # Restart=always would): a Celery worker can die of a lost Redis connection
    # (README "Faults"), and detection must not wait for a person.
    for k in $(seq "$WORKERS"); do
        s="$(suffix "$k" "$WORKERS")"
        DATABASE_BACKEND_NICE="$WRITE_DB_NICE" \
            setsid nohup nice -n "$WRITE_NICE" deploy/supervise.sh "$VAR/run/celery-worker$s.pid" \
            "$BIN/celery" -A lntsite worker -l INFO -c "$CONCURRENCY" \
            -n "lntsite@node$k.%h" >>"$VAR/log/celery-worker$s.log" 2>&1 </dev/null &
        echo $! >"$VAR/run/supervise-celery-worker$s.pid"
    done
    setsid nohup deploy/supervise.sh "$VAR/run/celery-beat.pid" \
        "$BIN/celery" -A lntsite beat -l INFO -s "$VAR/run/celerybeat-schedule" \
        >>"$VAR/log/celery-beat.log" 2>&1 </dev/null &
    echo $! >"$VAR/run/supervise-celery-beat.pid"
    # nginx last, once every gunicorn instance listens (it writes its pid file after
    # binding): a member that refuses the first requests would be marked down.
    for _ in $(seq 120); do all_alive gunicorn- && break; sleep 0.5; done
    setsid nohup sh -c "nginx -p '$VAR/nginx' -c '$VAR/nginx/nginx.conf' -g 'daemon off;' 2>&1 \
        | '$PY' deploy/redact.py '$VAR/log/nginx-error.log'" >/dev/null 2>&1 </dev/null &

    for _ in $(seq 60); do
        code="$("$PY" -c 'import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except Exception as exc:
    print(getattr(exc, "code", 0))' "http://127.0.0.1:$HTTP_PORT/api/db_default/v4/nts/fields")"
        [ "$code" = 200 ] && all_alive "" && break
        sleep 0.5
    done
    if [ "$code" != 200 ] || ! all_alive ""; then
        say "the stack did not answer (last status $code) or a process is missing; see $VAR/log/"
        exit 1
    fi
    say "up: http://127.0.0.1:$HTTP_PORT/ (submissions, API) and https://127.0.0.1:$HTTPS_PORT/"
    say "logs in $VAR/log/; stop with: make prod-stop"
}

stop() {
    for p in $(started_pidfiles); do
        [ -f "$VAR/run/$p.pid" ] || continue
        pid="$(cat "$VAR/run/$p.pid")"
        if kill -0 "$pid" 2>/dev/null; then
            # nginx finishes in-flight requests on QUIT; the others on TERM.
            if [ "$p" = nginx ]; then kill -QUIT "$pid"; else kill -TERM "$pid"; fi
            for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
            say "stopped $p ($pid)"
        fi
        rm -f "$VAR/run/$p.pid"
    done
}

status() {
    for p in $(started_pidfiles); do
        if alive "$p"; then echo "$p: running ($(cat "$VAR/run/$p.pid"))"; else echo "$p: stopped"; fi
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
