# scripts/lab up: sourced by scripts/lab (its variables are set). A failure half way takes
# down what was made (the EXIT trap), so a failed `up` leaves nothing behind either.

lab_up() {
    case "$mode" in direct|macvlan) ;; *) echo "lab: --mode direct|macvlan" >&2; exit 64 ;; esac
    case "$backend" in afpacket|dpdk|afxdp|kernel|nft) ;; *) echo "lab: --backend afpacket|dpdk|afxdp|kernel|nft" >&2; exit 64 ;; esac
    case "$topology" in bridged|routed) ;; *) echo "lab: --topology bridged|routed" >&2; exit 64 ;; esac
    if [[ $topology == routed ]] && [[ "$mode $kube" != "direct 0" || ( $backend != afpacket && $backend != dpdk ) ]]; then
        echo "lab: --topology routed runs vfwall in route mode: --mode direct, --backend afpacket or dpdk" >&2
        exit 64
    fi
    [[ $(id -u) -eq 0 ]] || { echo "lab: needs root (namespaces, podman, vfplumb)" >&2; exit 1; }
    [[ ! -d "$state" ]] || { echo "lab: '$name' is already up ($state); scripts/lab down first" >&2; exit 1; }
    if [[ $kube -eq 1 ]] && [[ "$mode $backend $config" != "direct afpacket configs/lab.yaml" ]]; then
        echo "lab: --kube plays the kernel-driver overlay: its configuration, afpacket, direct" >&2
        exit 64
    fi
    local image; image="$(scripts/make-image-rootfs)"
    scripts/setup-podman
    mkdir -p "$state/etc"
    echo "$image/usr/local/bin" > "$state/bin"
    local kind="$mode $backend"
    [[ $topology == bridged ]] || kind+=" routed"
    [[ $kube -eq 0 ]] || kind+=" kube"
    echo "$kind" > "$state/kind"
    trap 'echo "lab: up failed; taking down what was made" >&2; lab_down >/dev/null 2>&1 || true' EXIT

    # The two hosts, each behind a veth whose host end stands in for a VF's netdev.
    local ns dev peer mac ip
    for spec in "$src s0 $name-in $src_mac $src_ip" "$dst d0 $name-out $dst_mac $dst_ip"; do
        read -r ns dev peer mac ip <<<"$spec"
        netns_add "$ns"
        netns_veth "$peer" "" "$dev" "$ns"   # scripts/lib/netns.sh: offloads off, $dev up
        ip -n "$ns" link set "$dev" address "$mac"
        ip -n "$ns" addr add "$ip/24" dev "$dev"
    done
    if [[ $topology == routed ]]; then
        # Each host's gateway is vfwall: found by ARP and neighbour solicitation, as on any
        # routed link. No duplicate address detection: the address is usable at once.
        ip -n "$src" route add default via "$src_gw" dev s0
        ip -n "$dst" route add default via "$dst_gw" dev d0
        ip netns exec "$src" sysctl -qw net.ipv6.conf.s0.disable_ipv6=0   # off by netns_add
        ip netns exec "$dst" sysctl -qw net.ipv6.conf.d0.disable_ipv6=0
        ip -n "$src" addr add "$src_ip6/64" dev s0 nodad
        ip -n "$dst" addr add "$dst_ip6/64" dev d0 nodad
        ip -n "$src" -6 route add default via "$src_gw6" dev s0
        ip -n "$dst" -6 route add default via "$dst_gw6" dev d0
    else
        # Static neighbours: no ARP in the counters the tests compare.
        ip -n "$src" neigh replace "$dst_ip" lladdr "$dst_mac" dev s0 nud permanent
        ip -n "$dst" neigh replace "$src_ip" lladdr "$src_mac" dev d0 nud permanent
    fi
    if [[ $kube -eq 1 ]]; then
        kube_up "$image"
        trap - EXIT
        echo "lab: $name up: pod $fw (podman kube play, $kube_overlay); $src ($src_ip) <-> $fw <-> $dst ($dst_ip)"
        return 0
    fi

    # The firewall's configuration: the shipped one, on this backend, its worker on the last core.
    sed -e "s/^\(  backend:\) [a-z]*/\1 ${backend/kernel/afpacket}/" -e "s/^\(  cores:\) .*/\1 [$(( $(nproc) - 1 ))]/" \
        "$config" > "$state/etc/vfwall.yaml"
    [[ "$backend" == nft ]] && sed -i 's/^\(  backend:\) .*/\1 afpacket/' "$state/etc/vfwall.yaml"
    # afxdp: the dpdk backend on DPDK's net_af_xdp (AF_XDP sockets, copy mode on a veth).
    if [[ "$backend" == afxdp ]]; then
        sed -i -e 's/^\(  backend:\) .*/\1 dpdk/' \
            -e '/^    interface: inside/a\    device: net_af_xdp0,iface=inside' \
            -e '/^    interface: outside/a\    device: net_af_xdp1,iface=outside' "$state/etc/vfwall.yaml"
    fi
    local argv=(run --config /etc/vfwall/vfwall.yaml --no-status)
    [[ "$backend" == kernel || "$backend" == nft ]] && argv=(idle)

    # The container: no network of its own, read-only root, only the three capabilities. afxdp
    # needs more: net_af_xdp loads an XDP program (bpf()), which podman's seccomp profile allows
    # only with CAP_SYS_ADMIN; vfwall's file capabilities cannot carry it (a binary with file
    # capabilities it cannot all get fails to start), so that one runs as root in the container.
    local who=(--cap-add NET_ADMIN,NET_RAW,IPC_LOCK --user vfwall)
    [[ "$backend" == afxdp ]] && who=(--cap-add NET_ADMIN,NET_RAW,IPC_LOCK,SYS_ADMIN,BPF,PERFMON --user 0)
    "${podman[@]}" run -d --name "$fw" --network none --read-only \
        --cap-drop all "${who[@]}" \
        -e VFWALL_WAIT_FOR="inside outside" -v "$state/etc:/etc/vfwall:ro" \
        --rootfs "$image" /usr/local/bin/vfwall-entrypoint "${argv[@]}" \
        >/dev/null 2>"$state/podman-run.log" </dev/null || { cat "$state/podman-run.log" >&2; return 1; }
    # (conmon stays behind holding podman's stdout and stderr: never a caller's pipe)
    "${podman[@]}" inspect --format '{{.State.Pid}}' "$fw" > "$state/pid"
    in_fw sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

    # The "VFs" go in. A bridge-mode macvlan receives only frames for its own MAC (as a VF
    # without trust+promiscuous does), so each takes the MAC of the host beyond the other port.
    local in_mac=() out_mac=()
    [[ "$mode" == macvlan ]] && in_mac=(--mac "$dst_mac") out_mac=(--mac "$src_mac")
    vfplumb attach "$name-in" "$fw" --name inside --mode "$mode" "${in_mac[@]}" >/dev/null
    vfplumb attach "$name-out" "$fw" --name outside --mode "$mode" "${out_mac[@]}" >/dev/null

    case "$backend" in
        kernel|nft)
            in_fw ip link add br0 type bridge
            in_fw ip link set inside master br0
            in_fw ip link set outside master br0
            in_fw ip link set br0 up
            if [[ "$backend" == nft ]]; then
                in_fw sysctl -qw net.bridge.bridge-nf-call-iptables=1
                in_fw nft -f configs/lab.nft
            fi
            # A macvlan carries the far host's MAC; the bridge would take frames for its own
            # ports' MACs as its own, so forget those (flooded, then learned on the far port).
            if [[ "$mode" == macvlan ]]; then
                in_fw bridge fdb del "$dst_mac" dev inside master 2>/dev/null || true
                in_fw bridge fdb del "$src_mac" dev outside master 2>/dev/null || true
            fi
            ;;
        *) wait_for_vfwall ;;
    esac
    trap - EXIT
    echo "lab: $name up: $mode attachment, $backend dataplane; $src ($src_ip) <-> $fw <-> $dst ($dst_ip)"
}

# vfwall answers on its control socket once its ports are open and its workers run.
wait_for_vfwall() {
    local i
    for i in $(seq 1 100); do
        "${podman[@]}" exec "$fw" vfwall stats --socket /tmp/vfwall-lab.sock >/dev/null 2>&1 && return 0
        if [[ "$("${podman[@]}" inspect --format '{{.State.Running}}' "$fw" 2>/dev/null)" != true ]]; then break; fi
        sleep 0.2
    done
    echo "lab: vfwall did not come up in $fw:" >&2
    "${podman[@]}" logs "$fw" >&2 || true
    return 1
}
