#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus, Fuzz/corpus/<target>/, from what the repository ships: frames
of captures/sample.pcap, frames of the malformed corpus (scripts/make-malformed-corpus.py), and
configurations (configs/*.yaml and hand-made broken ones), and through scripts/make-capture-seeds.py
whole capture files for fuzz-capture. Deterministic; about 240 small files.

Input formats are those documented at the top of each target in Fuzz/Sources/.
Usage: scripts/make-fuzz-seeds.py
"""
import hashlib, os, struct, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from frames import read_pcap_frames

root = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
out = os.path.join(root, "Fuzz", "corpus")
ROUTER_MAC = bytes.fromhex("0200000000fe")

def write(target, content):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(content).hexdigest()[:16]), "wb") as f:
        f.write(content)

sample = read_pcap_frames(os.path.join(root, "captures", "sample.pcap"))
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, os.path.join(root, "scripts", "make-malformed-corpus.py"), tmp], check=True, stdout=subprocess.DEVNULL)
    malformed = read_pcap_frames(os.path.join(tmp, "malformed-ethernet.pcap"))

def ingress(frame): return 1 if frame[6:12] == ROUTER_MAC else 0

# fuzz-frame: mode byte (bits 0-1 link: 0 Ethernet, 3 raw IP, 1 and 2 cooked or with bit 7 NULL and
# LOOP, as fuzzLinkType reads it; bit 2 ingress; bits 3-7 policy), frame.
for i, fr in enumerate(sample[::8]):
    write("fuzz-frame", bytes([(ingress(fr) << 2) | ((i % 32) << 3)]) + fr)
for fr in malformed[::6]:
    if len(fr) <= 2048:
        write("fuzz-frame", bytes([0]) + fr)
write("fuzz-frame", bytes([3]) + sample[0][14:])   # the same packet as raw IP
write("fuzz-frame", bytes([0x81]) + struct.pack("<I", 2) + sample[0][14:])   # BSD loopback NULL
write("fuzz-frame", bytes([0x82]) + struct.pack(">I", 2) + sample[0][14:])   # BSD loopback LOOP

# fuzz-pipeline: mode byte, then (control, length, frame) records; whole conversations in order.
def records(frames, step=0, burst_every=0):
    b = b""
    for i, fr in enumerate(frames):
        if len(fr) > 255: continue
        control = ingress(fr) | (2 if burst_every and i % burst_every == burst_every - 1 else 0) | (step << 3)
        b += bytes([control, len(fr)]) + fr
    return b
for n, start in enumerate(range(0, len(sample), 40)):
    write("fuzz-pipeline", bytes([(n * 37) & 0xFF]) + records(sample[start:start + 40], step=n % 3, burst_every=7 + n % 5))
write("fuzz-pipeline", bytes([0x04]) + records(sample[:24]) + bytes([4, 0]) + records(sample[:24]))   # a reload mid-stream
write("fuzz-pipeline", bytes([0]) + records([fr for fr in malformed if len(fr) <= 255][:60]))

# fuzz-config: the shipped configurations and broken ones.
for name in sorted(os.listdir(os.path.join(root, "configs"))):
    if name.endswith(".yaml"):
        write("fuzz-config", open(os.path.join(root, "configs", name), "rb").read())
broken = [
    "rules: []\n",
    "rules:\n  - name: a\n    proto: tcp\n    dport: 80-20\n    action: accept\n",
    "rules:\n  - name: a\n    src: 10.0.0.0/33\n    action: drop\n",
    "rules:\n  - name: a\n    src: [10.0.0.0/8, 2001:db8::/32]\n    action: drop\n",
    "rules:\n  - {name: a, proto: icmp, icmp-type: echo-request, icmp-code: 300, action: reject}\n",
    "ports: {a: {interface: x}, b: {rx-pcap: in.pcap}}\nrules:\n  - {name: r, ingress: c, action: accept}\n",
    "policy: {default: maybe}\nrules: []\n",
    "conntrack: {max-flows: -1, timeouts: {udp: 1e99}}\nrules: []\n",
    "dataplane: {backend: dpdk, cores: [0, 0], burst: 0}\nrules: []\n",
    "rules:\n  - name: a\n    tcp-flags: syn,!syn\n    state: [new, bogus]\n    action: accept\n",
    "rules: &a [*a]\n",
    "rules:\n  - name: \"\\u0000\"\n    vlan: 4095\n    sport: [1, 2, 65536]\n    action: accept\n",
    "- just a list\n",
    "rules: [\n",
    "\t\x00rules:\n",
]
for b in broken:
    write("fuzz-config", b.encode())

# fuzz-router: mode byte (bit 0 ingress, bit 1 accepted, bits 2-3: also idle or announce), frame.
# The router of RouterFuzz: inside 10.199.1.254/24 fd00:1::fe/64 (MAC ...:10), outside
# 10.199.2.254/24 fd00:2::fe/64 (MAC ...:20); hosts 10.199.1.1 and 10.199.2.2.
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF
def mac(last): return bytes([2, 0x76, 0x66, 0x6C, 0, last])
def ip4(src, dst, proto, payload, ttl=64, df=True):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0x4000 if df else 0, ttl, proto, 0, bytes(src), bytes(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
def arp(op, smac, sip, tmac, tip, to):
    return to + smac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + smac + bytes(sip) + tmac + bytes(tip) + bytes(18)
udp = struct.pack("!HHHH", 4000, 53, 12, 0) + b"abcd"
echo = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"ping"
echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
host, sink = [10, 199, 1, 1], [10, 199, 2, 2]
to_in = mac(0x10) + mac(1) + b"\x08\x00"
router_seeds = [
    bytes([0]) + arp(1, mac(1), host, bytes(6), [10, 199, 1, 254], b"\xff" * 6),
    bytes([1]) + arp(2, mac(2), [10, 199, 2, 1], mac(0x20), [10, 199, 2, 254], mac(0x20)),
    bytes([2]) + to_in + ip4(host, sink, 17, udp),
    bytes([2]) + to_in + ip4(host, [8, 8, 8, 8], 17, udp),
    bytes([2]) + to_in + ip4(host, sink, 17, udp, ttl=1),
    bytes([2]) + to_in + ip4(host, [10, 199, 1, 254], 1, echo),
    bytes([2]) + to_in + ip4(host, sink, 17, udp + bytes(1300)),
    bytes([6]) + to_in + ip4(host, [10, 199, 2, 99], 17, udp),
    bytes([10]) + to_in + ip4(host, [192, 0, 2, 7], 17, udp, df=False),
]
# An IPv6 neighbour solicitation for fd00:1::fe from fd00:1::1, hop limit 255.
ours6, host6 = bytes.fromhex("fd000001" + "0" * 20 + "00fe"), bytes.fromhex("fd000001" + "0" * 23 + "1")
ns = struct.pack("!BBHI", 135, 0, 0, 0) + ours6 + bytes([1, 1]) + mac(1)
pseudo = host6 + bytes.fromhex("ff0200000000000000000001ff0000fe") + struct.pack("!I", len(ns)) + bytes([0, 0, 0, 58])
ns = ns[:2] + struct.pack("!H", csum(pseudo + ns)) + ns[4:]
ip6 = struct.pack("!IHBB", 0x60000000, len(ns), 58, 255) + host6 + bytes.fromhex("ff0200000000000000000001ff0000fe")
router_seeds.append(bytes([0]) + bytes.fromhex("3333ff0000fe") + mac(1) + b"\x86\xdd" + ip6 + ns)
for seed in router_seeds:
    write("fuzz-router", seed)

# fuzz-capture: whole capture files, from their own script.
subprocess.run([sys.executable, os.path.join(root, "scripts", "make-capture-seeds.py")],
               check=True, stdout=subprocess.DEVNULL)

for t in sorted(os.listdir(out)):
    print("%s: %d seeds" % (t, len(os.listdir(os.path.join(out, t)))))
