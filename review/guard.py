"""Reflection guard, amplification and truncation against the real binary. Run inside a
fresh network namespace (run-netns.sh) so that echod can bind the wildcard addresses with
nothing but lo behind them."""
import os, socket, sys, time
from lib import *

rate = sys.argv[1] if len(sys.argv) > 1 else "0"
e = Echod("port = 0\nudp = on\nudp_rate_per_source = %s\n" % rate)
P = e.port
print(e.text().strip())
sn = sniffer(P)
sn6 = sniffer6()
fails = 0


def replies_from_echod(packets):
    return [p for p in packets if p[1] == P]


def expect(name, packets, n, size=None):
    global fails
    r = replies_from_echod(packets)
    ok = len(r) == n and (size is None or all(p[4] == size for p in r))
    fails += not report(name, ok, "replies=%s" % [(p[2], p[3], p[4]) for p in r][:5])


# 1. amplification: one reply per request, same bytes, any size
c = udp_client()
c6 = udp_client(socket.AF_INET6, ("::1", 0))
for size in (0, 1, 100, 1472, 1473, 9000, 65000, 65507):
    payload = os.urandom(size)
    c.sendto(payload, ("127.0.0.1", P))
    got = recv_all(c, 0.5)
    fails += not report("v4 size %d" % size, len(got) == 1 and got[0][0] == payload,
                        "got %d replies, sizes %s" % (len(got), [len(g[0]) for g in got]))
for size in (0, 1232, 65000, 65487, 65527):
    payload = os.urandom(size)
    try:
        c6.sendto(payload, ("::1", P))
    except OSError as err:
        report("v6 size %d send" % size, True, "not sendable: %s" % err)
        continue
    got = recv_all(c6, 0.5)
    fails += not report("v6 size %d" % size, len(got) == 1 and got[0][0] == payload,
                        "got %d replies, sizes %s" % (len(got), [len(g[0]) for g in got]))
try:
    c.sendto(b"x" * 65508, ("127.0.0.1", P))
    report("v4 65508 sent?!", False)
except OSError as err:
    report("v4 65508 not sendable", True, str(err))
sniff(sn, P, 0.3)

# 2. spoofed IPv4 sources to 127.0.0.1:P
cases = [("0.0.0.1", 5000, 0), ("0.0.0.0", 5000, 0), ("224.0.0.1", 5000, 0),
         ("239.255.255.250", 5000, 0), ("255.255.255.255", 5000, 0),
         ("127.0.0.1", 0, 0), ("127.0.0.1", 7, 0), ("127.0.0.1", 19, 0),
         ("127.0.0.1", 53, 0), ("127.0.0.1", 123, 0), ("127.0.0.1", 1023, 0),
         ("127.0.0.9", 1024, 1), ("127.0.0.10", 65535, 1)]
for src, sport, n in cases:
    spoof4(src, sport, "127.0.0.1", P, b"spoof")
    expect("v4 source %s:%d answered %d" % (src, sport, n), sniff(sn, P, 0.4), n, 5)
# a source that is a broadcast address of a local subnet (lo's 127.255.255.255)
spoof4("127.255.255.255", 5000, "127.0.0.1", P, b"spoof")
expect("v4 source 127.255.255.255:5000 (lo broadcast) answered 0", sniff(sn, P, 0.4), 0)

# 3. destinations that are not one host
spoof4("127.0.0.11", 5000, "127.255.255.255", P, b"bcast")
expect("v4 to 127.255.255.255 answered 0", sniff(sn, P, 0.4), 0)
b = udp_client()
b.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
b.sendto(b"bcast", ("127.255.255.255", P))
expect("v4 to 127.255.255.255 (SO_BROADCAST) answered 0", sniff(sn, P, 0.4), 0)
try:
    b.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    b.sendto(b"lbcast", ("255.255.255.255", P))
    expect("v4 to 255.255.255.255 answered 0", sniff(sn, P, 0.4), 0)
except OSError as err:
    report("v4 to 255.255.255.255", True, "not sendable here: %s" % err)
os.system("ip link set lo multicast on; ip -6 route add multicast ff00::/8 dev lo table local 2>/dev/null; ip -6 route add ff00::/8 dev lo 2>/dev/null")
m = udp_client()
m.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
for group in ("224.0.0.1", "239.1.2.3"):
    try:
        m.sendto(b"mcast", (group, P))
        pk = sniff(sn, P, 0.4)
        expect("v4 to %s answered 0 (%d seen)" % (group, len(pk)), pk, 0)
    except OSError as err:
        report("v4 to %s" % group, True, "not sendable: %s" % err)

# 4. IPv6 sources and destinations to [::1]:P
for src, sport, n in [("::", 5000, 0), ("ff02::1", 5000, 0), ("::ffff:127.0.0.1", 5000, 0),
                      ("::ffff:255.255.255.255", 5000, 0), ("::ffff:0.0.0.1", 5000, 0),
                      ("::ffff:224.0.0.1", 5000, 0), ("fe80::1", 5000, 0),
                      ("::1", 7, 0), ("::1", 0, 0), ("::1", 5000, 1)]:
    sniff6(sn6, P, 0.2)
    try:
        spoof6(src, sport, "::1", P, b"spoof6")
    except OSError as err:
        report("v6 source %s" % src, True, "not sendable: %s" % err)
        continue
    pk = sniff6(sn6, P, 0.4)
    expect("v6 source [%s]:%d answered %d (%d seen)" % (src, sport, n, len(pk)), pk, n)
m6 = udp_client(socket.AF_INET6, ("::1", 0))
m6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex("lo"))
for group in ("ff02::1", "ff01::1"):
    try:
        m6.sendto(b"mcast6", (group, P, 0, socket.if_nametoindex("lo")))
        pk = sniff6(sn6, P, 0.4)
        expect("v6 to %s answered 0 (%d seen)" % (group, len(pk)), pk, 0)
    except OSError as err:
        report("v6 to %s" % group, True, "not sendable: %s" % err)

# 5. a self loop: source = echod's own socket (port >= 1024)
sniff(sn, P, 0.3)
spoof4("127.0.0.1", P, "127.0.0.1", P, b"loop")
pk = sniff(sn, P, 2.0)
print("INFO self loop 127.0.0.1:%d -> itself: %d datagrams in 2 s" % (P, len(pk)))
sniff6(sn6, P, 0.3)
spoof6("::1", P, "::1", P, b"loop6")
pk = sniff6(sn6, P, 2.0)
print("INFO self loop [::1]:%d -> itself: %d datagrams in 2 s" % (P, len(pk)))

time.sleep(1.5)
print(e.status())
e.stop()
print("\n".join(l for l in e.text().splitlines() if "udp" in l))
print("FAILS", fails)
