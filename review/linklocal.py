"""IPv6 link-local on a wildcard socket (network namespace: fe80::1 added to lo)."""
import os, socket, time
from lib import *
os.system("ip -6 addr add fe80::1/64 dev lo nodad; ip -6 addr add 2001:db8::1/64 dev lo nodad")
time.sleep(0.5)
e = Echod("port = 0\nudp = on\n")
lo = socket.if_nametoindex("lo")
for dst in ("fe80::1", "2001:db8::1", "::1"):
    c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    c.bind(("::1" if dst == "::1" else dst, 0, 0, lo if dst.startswith("fe80") else 0))
    c.connect((dst, e.port, 0, lo if dst.startswith("fe80") else 0))  # insists on the reply's source
    c.send(b"ll")
    c.settimeout(0.5)
    try:
        ok = c.recv(10) == b"ll"
    except socket.timeout:
        ok = False
    report("connected client to [%s]:%d gets the reply from that address" % (dst, e.port), ok)
e.stop()
print("\n".join(l for l in e.text().splitlines() if "udp" in l))
