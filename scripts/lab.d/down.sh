# scripts/lab down and status: sourced by scripts/lab. down is safe to repeat and works from
# any half-made state: each step ignores what is already gone.

lab_down() {
    [[ $(id -u) -eq 0 ]] || { echo "lab: needs root" >&2; exit 1; }
    if [[ ! -d "$state" ]] && [[ $named -eq 0 ]] && [[ -n "$(ls "$labs_root" 2>/dev/null)" ]]; then
        echo "lab: $name is not up; up are: $(ls "$labs_root" | paste -sd' ')" \
             "(scripts/lab --name NAME down, or scripts/lab down --all)" >&2
    fi
    # The "VFs" back to the host (direct) or their macvlans deleted, while the container lives.
    # (--kube: they are in the pod's infra container, $state/target)
    local target; target="$(cat "$state/target" 2>/dev/null || echo "$fw")"
    [[ -f "$state/bin" ]] && vfplumb detach "$target" >/dev/null 2>&1 || true
    if [[ $kube -eq 1 ]]; then kube_down; else "${podman[@]}" rm -f -t 2 "$fw" >/dev/null 2>&1 || true; fi
    ip link del "$name-in" 2>/dev/null || true    # deletes the peer in the namespace too
    ip link del "$name-out" 2>/dev/null || true
    ip netns del "$src" 2>/dev/null || true
    ip netns del "$dst" 2>/dev/null || true
    rm -rf "$state"
    echo "lab: $name down"
}

lab_status() {
    if [[ ! -d "$state" ]]; then echo "lab: $name is down"; return 0; fi
    echo "lab: $name up ($(cat "$state/kind"))"
    "${podman[@]}" ps -a --filter "name=^$fw(-[a-z-]+)?\$" --format '  container {{.Names}}: {{.Status}}'
    ip netns list | grep -E "^$name-(src|dst)" | sed 's/^/  netns /' || true
    [[ -f "$state/pid" ]] && in_fw ip -br link show | sed 's/^/  in container: /' || true
    if [[ "$(cat "$state/kind")" == *"afpacket"* || "$(cat "$state/kind")" == *"dpdk"* ]]; then
        "${podman[@]}" exec "$fw_vfwall" vfwall stats --socket "$control_socket" 2>/dev/null |
            python3 -c 'import json,sys; s=json.load(sys.stdin)
for p in s["ports"]: print("  port %-8s link %-4s rx %d tx %d dropped %d" % (p["name"], p["link"], p["rx"], p["tx"], p["dropped"]))' || true
    fi
}
