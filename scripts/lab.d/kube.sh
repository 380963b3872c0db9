# scripts/lab up --kube: the firewall as the pod deploy/kubernetes describes, played by `podman
# kube play` in place of a cluster. Sourced by scripts/lab (its variables are set). The cluster's
# steps, in its order:
#   kubelet      the pod's sandbox (podman's infra container) gets its network namespace;
#   sriov-cni    moves each VF's netdev in as `inside` / `outside`: vfplumb attach --mode direct;
#   Multus       writes the network-status annotation, which the downward API makes a file;
#   kubelet      starts the containers (the device plugin's PCIDEVICE_* variables in their env);
#   readiness    /readyz answers 200: scripts/lab http /readyz from the pod's namespace.
# scripts/lab.d/kube-pod.py makes the rendered Deployment a Pod podman runs, and says what it
# changes. The VFs' trust and spoof checking (the NADs' settings) are set on a PF, which a veth
# has not.

kube_overlay=deploy/kubernetes/overlays/kernel-driver

# The image root fs as a podman image, localhost/vfwall-lab:KEY (kube play runs images, not
# root file systems), with deploy/Containerfile's user, entrypoint and command, and the PATH
# Debian's image sets (the policy-reloader runs `vfwall` by name). KEY is the root fs's content
# stamps and these settings: imported again only when one changes; older ones are removed
# (those a running lab uses stay). Prints the image's name.
kube_image() {
    local rootfs=$1 key tag
    local config=(--change USER=vfwall --change ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                  --change 'ENTRYPOINT=["/usr/local/bin/vfwall-entrypoint"]'
                  --change 'CMD=["run","--config","/etc/vfwall/vfwall.yaml","--no-status"]')
    key="$( (cat "$rootfs/.vfwall-base" "$rootfs/.vfwall-binaries"; echo "${config[*]}") | sha256sum | cut -c1-16)"
    tag="localhost/vfwall-lab:$key"
    (
        flock 9
        "${podman[@]}" image exists "$tag" && exit 0
        # --xattrs: vfwall's file capabilities (security.capability) go into the image with it.
        tar -C "$rootfs" --xattrs --xattrs-include=security.capability \
            --exclude=./.vfwall-base --exclude=./.vfwall-binaries -cf - . |
            "${podman[@]}" import --quiet "${config[@]}" - "$tag" >/dev/null
        "${podman[@]}" images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/vfwall-lab:' |
            grep -vx "$tag" | xargs -r "${podman[@]}" rmi >/dev/null 2>&1 || true
    ) 9>"$rootfs.kube-import.lock" >&2 || { echo "lab: importing $rootfs as $tag failed" >&2; return 1; }
    echo "$tag"
}

# Everything after the two hosts: the pod, the "VFs" in it, vfwall ready.
kube_up() {
    local rootfs=$1 image
    if ! command -v kubectl >/dev/null; then
        echo "lab: --kube renders $kube_overlay with kubectl, which is not on PATH" >&2
        return 1
    fi
    image="$(kube_image "$rootfs")" || return 1
    mkdir -p "$state/kube/volumes"
    kubectl kustomize "$kube_overlay" > "$state/kube/rendered.yaml"
    local network_status
    network_status="$(/usr/bin/python3 scripts/lab.d/kube-pod.py "$name" "$image" "$state/kube/volumes" \
        "$state/kube/pod.yaml" "$state/kube/configmap.yaml" < "$state/kube/rendered.yaml")"

    # Created, not started: the containers start once the sandbox has its networks.
    "${podman[@]}" kube play --network none --start=false --configmap "$state/kube/configmap.yaml" \
        "$state/kube/pod.yaml" >"$state/kube/play.log" 2>&1 || { cat "$state/kube/play.log" >&2; return 1; }
    local infra; infra="$("${podman[@]}" pod inspect --format '{{.InfraContainerID}}' "$fw")"
    echo "$infra" > "$state/target"
    "${podman[@]}" start "$infra" >/dev/null
    "${podman[@]}" inspect --format '{{.State.Pid}}' "$infra" > "$state/pid"
    # No IPv6 on the "VFs" (as in the lab's container): no autoconfiguration in the counters.
    in_fw sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    vfplumb attach "$name-in" "$infra" --name inside --mode direct >/dev/null
    vfplumb attach "$name-out" "$infra" --name outside --mode direct >/dev/null
    kube_write_network_status "$network_status"
    "${podman[@]}" pod start "$fw" >/dev/null
    kube_wait_ready
}

# The annotation's value as Multus writes it for the two sriov networks (pod namespace
# "default"): interface, MAC, and sriov-cni's device-info with the VF's PCI address (the
# placeholders kube-pod.py gives the PCIDEVICE_* variables). The cluster's default network
# (eth0) is absent: the pod has none here. Written whole, then renamed: never read half made.
kube_write_network_status() {
    local file=$1 in_mac out_mac
    in_mac="$(in_fw ip -br link show dev inside | awk '{print $3}')"
    out_mac="$(in_fw ip -br link show dev outside | awk '{print $3}')"
    cat > "$file.partial" <<EOF
[{"name": "default/sriov-inside", "interface": "inside", "mac": "$in_mac", "dns": {},
  "device-info": {"type": "pci", "version": "1.1.0", "pci": {"pci-address": "0000:00:1f.1"}}},
 {"name": "default/sriov-outside", "interface": "outside", "mac": "$out_mac", "dns": {},
  "device-info": {"type": "pci", "version": "1.1.0", "pci": {"pci-address": "0000:00:1f.2"}}}]
EOF
    chmod 0644 "$file.partial"
    mv "$file.partial" "$file"
}

# What the readiness probe asks, until it says ready (30 s; the first start in a pod is slower).
kube_wait_ready() {
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        lab_http /readyz >/dev/null 2>&1 && return 0
        [[ "$("${podman[@]}" inspect --format '{{.State.Running}}' "$fw-vfwall" 2>/dev/null)" == true ]] || break
        sleep 0.2
    done
    echo "lab: vfwall in pod $fw did not turn ready (/readyz: $(lab_http /readyz 2>&1)):" >&2
    "${podman[@]}" logs "$fw-vfwall" >&2 || true
    return 1
}

kube_down() {
    "${podman[@]}" pod rm -f -t 2 "$fw" >/dev/null 2>&1 || true
    "${podman[@]}" volume rm -f "$name-config" >/dev/null 2>&1 || true
}

# GET PATH from the metrics listener (127.0.0.1:9469 in the pod's namespace): its answer on
# stdout; exit 0 on 200, 1 on another status, 2 when nothing answers.
lab_http() {
    in_fw python3 scripts/lab.d/nettool.py http "http://127.0.0.1:9469$1"
}
