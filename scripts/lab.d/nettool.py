#!/usr/bin/env python3
"""Tiny traffic tool for the lab, run inside its namespaces (scripts/lab exec src|dst ...).

  serve PORT...            TCP echo on each port, and UDP count on each port (prints
                           "udp PORT N" for each port with datagrams on SIGTERM/SIGINT)
  tcp HOST PORT            connect, send, print "tcp PORT ok|refused|timeout"
  udp HOST PORT COUNT      send COUNT datagrams from one socket (one flow)
  hold PORT                bind a UDP port and never read it: load to it is dropped quietly
                           (no ICMP port unreachable flowing back through the firewall)
  http URL                 GET URL (no proxy), print the answer's body; exit 0 on 200, 1 on
                           another status, 2 when nothing answers
"""
import selectors, signal, socket, sys, urllib.error, urllib.request


def serve(ports):
    sel, counts = selectors.DefaultSelector(), {}
    for p in ports:
        t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind(("0.0.0.0", p)); t.listen(16); sel.register(t, selectors.EVENT_READ, ("tcp", p))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", p))
        sel.register(u, selectors.EVENT_READ, ("udp", p)); counts[p] = 0

    def done(*_):
        for p, n in counts.items():
            print("udp %d %d" % (p, n), flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, done); signal.signal(signal.SIGINT, done)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            kind, p = key.data
            if kind == "udp":
                key.fileobj.recv(2048); counts[p] += 1
            else:
                c, _ = key.fileobj.accept(); c.settimeout(2)
                try:
                    c.sendall(b"echo:" + c.recv(1024))
                except OSError:
                    pass
                c.close()


def tcp(host, port):
    try:
        c = socket.create_connection((host, port), timeout=2)
        c.sendall(b"hello"); ok = c.recv(64).startswith(b"echo:"); c.close()
        print("tcp %d %s" % (port, "ok" if ok else "no-echo"))
    except ConnectionRefusedError:
        print("tcp %d refused" % port)
    except OSError:
        print("tcp %d timeout" % port)


def udp(host, port, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(count):
        s.sendto(b"datagram %d" % i, (host, port))
    print("udp %d sent %d" % (port, count))


def http(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as answer:
            sys.stdout.write(answer.read().decode())
    except urllib.error.HTTPError as answer:
        sys.stdout.write(answer.read().decode())
        sys.exit(1)
    except OSError as error:
        print("http: %s: %s" % (url, error), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve([int(a) for a in args])
    elif cmd == "tcp":
        tcp(args[0], int(args[1]))
    elif cmd == "udp":
        udp(args[0], int(args[1]), int(args[2]))
    elif cmd == "http":
        http(args[0])
    elif cmd == "hold":
        h = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        h.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); h.bind(("0.0.0.0", int(args[0])))
        print("ready", flush=True); signal.pause()
    else:
        sys.exit(__doc__)
