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

# fuzz-capture: whole capture files, from their own script.
subprocess.run([sys.executable, os.path.join(root, "scripts", "make-capture-seeds.py")],
               check=True, stdout=subprocess.DEVNULL)

for t in sorted(os.listdir(out)):
    print("%s: %d seeds" % (t, len(os.listdir(os.path.join(out, t)))))
