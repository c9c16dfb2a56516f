"""Network probes that the e2e tests run inside an instance with `privlink exec`.

Every command prints one JSON object per line on stdout and exits 0; any other
exit status means the probe itself broke, not that the network said no.

  probe.py tcp TIMEOUT HOST:PORT...   connect to each target at once; read what the
                                      server sends until it closes or TIMEOUT passes
  probe.py ping TIMEOUT HOST...       one ICMP echo to each target at once
  probe.py dns SERVER TYPE NAME       one query (TYPE A or PTR, recursion desired)
                                      straight to SERVER:53, as `dig @SERVER` does;
                                      answers are addresses, and names (ending in a
                                      dot) for CNAME and PTR records
  probe.py getaddr NAME               socket.gethostbyname, through resolv.conf
  probe.py getname ADDR               socket.gethostbyaddr, through resolv.conf
  probe.py resolvconf                 the nameservers of /etc/resolv.conf

Only the standard library: instances run the host's python3.
"""

import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time


def out(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")


def tcp_one(target, timeout):
    host, port = target.rsplit(":", 1)
    res = {"target": target, "ok": False}
    start = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, int(port)))
    except OSError as e:  # socket.timeout is an OSError
        res["error"] = "connect: " + (type(e).__name__ + ": " + str(e))
        res["seconds"] = round(time.monotonic() - start, 3)
        s.close()
        return res
    res["ok"] = True
    data = b""
    try:
        while len(data) < 4096:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError as e:
        res["readError"] = type(e).__name__ + ": " + str(e)
    s.close()
    res["data"] = data.decode("utf-8", "replace")
    res["seconds"] = round(time.monotonic() - start, 3)
    return res


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping_one(host, timeout):
    res = {"target": host, "ok": False}
    ident = random.randint(1, 0xFFFF)
    payload = b"privlink-e2e-ping"
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + payload), ident, 1) + payload
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        s.sendto(pkt, (host, 0))
    except OSError as e:
        res["error"] = "send: " + str(e)
        s.close()
        return res
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            res["error"] = "no echo reply within %ss" % timeout
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        data, addr = s.recvfrom(2048)
        ihl = (data[0] & 0x0F) * 4
        icmp = data[ihl:]
        if len(icmp) < 8:
            continue
        typ, _, _, rid, _ = struct.unpack("!BBHHH", icmp[:8])
        if typ == 0 and rid == ident and addr[0] == host:
            res["ok"] = True
            break
        if typ == 3:
            res["unreachable"] = addr[0]
    s.close()
    return res


def concurrently(fn, targets, timeout):
    results = [None] * len(targets)

    def run(i, t):
        try:
            results[i] = fn(t, timeout)
        except Exception as e:  # report, do not crash the other probes
            results[i] = {"target": t, "ok": False, "error": "probe: " + repr(e)}

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for r in results:
        out(r)


def encode_name(name):
    b = b""
    for label in name.rstrip(".").split("."):
        b += bytes([len(label)]) + label.encode("ascii")
    return b + b"\0"


def decode_name(msg, off):
    """Returns (name, offset just past the name in place)."""
    labels = []
    end = None
    hops = 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        if n == 0:
            off += 1
            break
        labels.append(msg[off + 1 : off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels) + ".", (end if end is not None else off)


RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
QTYPES = {"A": 1, "PTR": 12}


def dns(server, qtype, name):
    qid = random.randint(0, 0xFFFF)
    query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", QTYPES[qtype], 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    msg = None
    err = None
    for _ in range(2):
        try:
            s.sendto(query, (server, 53))
            while True:
                data, addr = s.recvfrom(4096)
                if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                    msg = data
                    break
            break
        except OSError as e:
            err = type(e).__name__ + ": " + str(e)
    s.close()
    if msg is None:
        out({"server": server, "name": name, "type": qtype, "error": err or "no answer"})
        return
    _, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        _, off = decode_name(msg, off)
        off += 4
    answers = []
    for _ in range(an):
        _, off = decode_name(msg, off)
        typ, _, ttl, rdlen = struct.unpack("!HHIH", msg[off : off + 10])
        off += 10
        rdata = msg[off : off + rdlen]
        if typ == 1 and rdlen == 4:
            answers.append(socket.inet_ntoa(rdata))
        elif typ in (5, 12):  # CNAME, PTR: the name, with its final dot
            answers.append(decode_name(msg, off)[0])
        off += rdlen
    out({
        "server": server, "name": name, "type": qtype,
        "rcode": RCODES.get(flags & 0xF, str(flags & 0xF)),
        "aa": bool(flags & 0x0400), "answers": answers,
    })


def main(argv):
    cmd = argv[1]
    if cmd == "tcp":
        concurrently(tcp_one, argv[3:], float(argv[2]))
    elif cmd == "ping":
        concurrently(ping_one, argv[3:], float(argv[2]))
    elif cmd == "dns":
        dns(argv[2], argv[3], argv[4])
    elif cmd == "getaddr":
        try:
            out({"name": argv[2], "addr": socket.gethostbyname(argv[2])})
        except socket.gaierror as e:
            eai = {socket.EAI_NONAME: "EAI_NONAME", socket.EAI_AGAIN: "EAI_AGAIN"}.get(e.errno, str(e.errno))
            out({"name": argv[2], "gaierror": eai, "error": str(e)})
    elif cmd == "getname":
        try:
            out({"addr": argv[2], "host": socket.gethostbyaddr(argv[2])[0]})
        except (socket.herror, socket.gaierror) as e:
            out({"addr": argv[2], "error": str(e)})
    elif cmd == "resolvconf":
        ns = []
        with open("/etc/resolv.conf") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    ns.append(parts[1])
        out({"nameservers": ns})
    else:
        sys.exit("probe.py: unknown command " + cmd)
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
