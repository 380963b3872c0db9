# Network namespaces and veth pairs for the scripts (bash; source it). Every namespace has its
# loopback up and IPv6 off (no autoconfiguration chatter in the counters); every veth end has
# checksum and segmentation offloads off, so the frames on the wire are complete ones (no
# partial checksums or GSO super-frames to forward).
#
#   netns_tag PREFIX            prints PREFIX-PID: a name no other run uses at the same time
#   netns_add NS                a namespace
#   netns_veth A NS_A B NS_B    a veth pair, A in NS_A and B in NS_B ("" = this namespace); the
#                               ends in namespaces come up, an end here stays down (it stands in
#                               for a VF's netdev, which vfplumb takes as it is)
#   netns_offloads_off DEV [NS]
#   netns_remove_made           deletes what netns_add and netns_veth made (safe to repeat)
#   netns_cleanup_on_exit [CMD] at exit runs CMD (a function of the script: stop processes
#                               first) and then netns_remove_made
# What is made is removed only on request, so scripts/lab, whose namespaces outlive
# `scripts/lab up`, uses the same functions without the trap.

netns_made=() netns_links_made=()

netns_tag() { echo "$1-$$"; }

netns_add() {
    ip netns add "$1"
    netns_made+=("$1")
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$1" link set lo up
}

netns_offloads_off() {
    local dev=$1 ns=${2:-} feature
    local in_ns=()
    [[ -z "$ns" ]] || in_ns=(ip netns exec "$ns")
    # Not every kernel has each feature: ethtool changes those it can.
    for feature in tx tso gso gro; do "${in_ns[@]}" ethtool -K "$dev" "$feature" off >/dev/null 2>&1 || true; done
}

netns_veth() {
    local a=$1 ns_a=$2 b=$3 ns_b=$4
    local at_a=() peer_at=()
    [[ -z "$ns_a" ]] || at_a=(-n "$ns_a")
    [[ -z "$ns_b" ]] || peer_at=(netns "$ns_b")
    ip "${at_a[@]}" link add "$a" type veth peer name "$b" "${peer_at[@]}"
    [[ -n "$ns_a" ]] || netns_links_made+=("$a")
    [[ -n "$ns_b" ]] || netns_links_made+=("$b")
    local end dev ns
    for end in "$a:$ns_a" "$b:$ns_b"; do
        dev=${end%%:*} ns=${end#*:}
        netns_offloads_off "$dev" "$ns"
        if [[ -n "$ns" ]]; then
            ip -n "$ns" link set "$dev" up
        else
            sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
        fi
    done
}

netns_remove_made() {
    local link ns
    for link in "${netns_links_made[@]}"; do ip link del "$link" 2>/dev/null || true; done
    for ns in "${netns_made[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    netns_made=() netns_links_made=()
}

netns_cleanup_on_exit() {
    # shellcheck disable=SC2064  # the command is fixed now, on purpose
    trap "${1:+$1; }netns_remove_made" EXIT
}
