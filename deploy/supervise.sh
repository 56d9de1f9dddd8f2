#!/usr/bin/env bash
# Keeps one process running, as systemd's Restart=always would (deploy/prod.sh runs the
# Celery worker and beat under it): deploy/supervise.sh PIDFILE COMMAND [ARGS...]
# The command runs in a session of its own (a group kill reaches its pool children, not
# this script) and its pid is written to PIDFILE at every start.  When it exits it is
# started again after a back-off: 1 s, doubling while it keeps dying young, at most 30 s,
# back to 1 s once it has stayed up a minute.  TERM or INT stops the command (TERM, as
# for a warm shutdown), waits for it, removes PIDFILE and ends the script.
set -u
pidfile="$1"
shift
child=0
stopping=0
stop() {
    stopping=1
    if [ "$child" -gt 0 ]; then kill -TERM "$child" 2>/dev/null; fi
}
trap stop TERM INT
delay=1
while [ "$stopping" = 0 ]; do
    started=$SECONDS
    setsid "$@" &
    child=$!
    echo "$child" >"$pidfile"
    status=0
    wait "$child" || status=$?
    # A trapped signal ends `wait` early: wait again until the command has ended.
    while kill -0 "$child" 2>/dev/null; do wait "$child" || status=$?; done
    [ "$stopping" = 1 ] && break
    echo "supervise: $1 ended (status $status); starting it again in ${delay} s" >&2
    sleep "$delay" &
    wait $! || true
    if [ $((SECONDS - started)) -ge 60 ]; then
        delay=1
    elif [ "$delay" -lt 30 ]; then
        delay=$((delay * 2 > 30 ? 30 : delay * 2))
    fi
done
rm -f "$pidfile"
