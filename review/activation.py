"""Socket activation with UDP sockets (systemd-socket-activate --datagram), in a network
namespace of its own: the wake-up datagram, wildcard and dual-stack sockets, IPv4-mapped
sources, a broadcast as the very first datagram."""
import os, socket, subprocess, sys, time, signal
from lib import *

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]; s.close(); return p

def activate(listen, conf="udp = on\nudp_rate_per_source = 0\n"):
    d = __import__("tempfile").mkdtemp(prefix="echod-act-")
    open(d + "/c", "w").write(conf)
    log = open(d + "/log", "w")
    p = subprocess.Popen(["systemd-socket-activate", "--datagram", "-l", listen, ECHOD, "--config", d + "/c"],
                         stdout=log, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    return p, d + "/log"

def finish(p, log):
    os.kill(p.pid, signal.SIGTERM)
    try: p.wait(10)
    except subprocess.TimeoutExpired: os.kill(p.pid, signal.SIGKILL); p.wait()
    return open(log).read()

# 1. IPv4 wildcard; the first datagram is to 127.255.255.255
P = free_port()
p, log = activate("0.0.0.0:%d" % P)
sn = sniffer(P)
spoof4("127.0.0.5", 5000, "127.255.255.255", P, b"wake-bcast")
time.sleep(1.0)
pk = [x for x in sniff(sn, P, 0.5) if x[1] == P]
report("activation v4 wildcard: a broadcast wake-up datagram is unanswered", not pk, str(pk))
c = udp_client(); c.sendto(b"hi", ("127.0.0.1", P))
report("activation v4 wildcard: then a unicast is answered", len(recv_all(c, 0.5)) == 1)
sniff(sn, P, 0.3)
spoof4("127.0.0.5", 5000, "127.255.255.255", P, b"bcast")
pk = [x for x in sniff(sn, P, 0.5) if x[1] == P]
report("activation v4 wildcard: a later broadcast unanswered", not pk, str(pk))
time.sleep(1.2)
print(finish(p, log))

# 2. dual-stack [::]: IPv4-mapped sources, a broadcast, 0.0.0.0/8
P = free_port()
p, log = activate("[::]:%d" % P)
c = udp_client(); c.sendto(b"wake", ("127.0.0.1", P))
report("activation dual-stack: v4 client answered (wake-up)", len(recv_all(c, 1.0)) == 1)
sn = sniffer(P)
for src, sport, n in [("0.0.0.1", 5000, 0), ("224.0.0.1", 5000, 0), ("255.255.255.255", 5000, 0),
                      ("127.0.0.1", 19, 0), ("127.0.0.7", 5000, 1)]:
    spoof4(src, sport, "127.0.0.1", P, b"m")
    pk = [x for x in sniff(sn, P, 0.4) if x[1] == P]
    report("activation dual-stack: mapped source %s:%d answered %d" % (src, sport, n), len(pk) == n, str(pk))
spoof4("127.0.0.5", 5000, "127.255.255.255", P, b"bcast")
pk = [x for x in sniff(sn, P, 0.4) if x[1] == P]
report("activation dual-stack: v4 broadcast unanswered", not pk, str(pk))
c6 = udp_client(socket.AF_INET6, ("::1", 0)); c6.sendto(b"six", ("::1", P))
report("activation dual-stack: v6 client answered", len(recv_all(c6, 0.5)) == 1)
time.sleep(1.2)
out = finish(p, log)
print(out)
