#!/bin/sh
# The image's entrypoint: waits until the interfaces in $VFWALL_WAIT_FOR (space separated, e.g.
# "inside outside") exist in the container's namespace (vfplumb attaches them after the
# container starts), then becomes vfwall, so vfwall is PID 1 and gets the stop signal.
set -eu
for dev in ${VFWALL_WAIT_FOR:-}; do
    n=0
    until [ -e "/sys/class/net/$dev" ]; do
        n=$((n + 1))
        [ "$n" -le "${VFWALL_WAIT_SECONDS:-60}0" ] || { echo "vfwall-entrypoint: $dev never appeared" >&2; exit 1; }
        sleep 0.1
    done
done
[ "${1:-}" = "idle" ] && exec sleep infinity   # the lab's kernel dataplanes: no vfwall
exec /usr/local/bin/vfwall "$@"
