#!/bin/sh
# The image's entrypoint: waits until the interfaces in $VFWALL_WAIT_FOR (space separated, e.g.
# "inside outside") exist in the container's namespace (vfplumb attaches them after the
# container starts) and the files in $VFWALL_WAIT_FILES have content, then becomes vfwall, so
# vfwall is PID 1 and gets the stop signal.
set -eu
# wait_for MESSAGE TEST...: waits up to $VFWALL_WAIT_SECONDS (60) until TEST holds; else says
# MESSAGE and fails.
wait_for() {
    what=$1
    shift
    n=0
    until "$@"; do
        n=$((n + 1))
        [ "$n" -le "${VFWALL_WAIT_SECONDS:-60}0" ] || { echo "vfwall-entrypoint: $what" >&2; exit 1; }
        sleep 0.1
    done
}
for dev in ${VFWALL_WAIT_FOR:-}; do
    wait_for "$dev never appeared" [ -e "/sys/class/net/$dev" ]
done
# Kubernetes: files in $VFWALL_WAIT_FILES (the downward API's network-status) may be mounted
# before Multus has written them; wait until each has content.
for file in ${VFWALL_WAIT_FILES:-}; do
    wait_for "$file stayed empty" [ -s "$file" ]
done
[ "${1:-}" = "idle" ] && exec sleep infinity   # the lab's kernel dataplanes: no vfwall
exec /usr/local/bin/vfwall "$@"
