"""udp_rate_per_source against the real binary: one source over 3 s, then a flood from
many spoofed sources (CPU of the UDP child, master's answer to SIGUSR1, log lines)."""
import os, socket, sys, time, signal
from lib import *

mode = sys.argv[1] if len(sys.argv) > 1 else "fork"
e = Echod("address = 127.0.0.1\nport = 0\nudp = on\nudp_rate_per_source = 10\nmode = %s\n" % mode)
P = e.port
c = udp_client()
c.setblocking(False)
sent = got = 0
start = time.time()
while time.time() - start < 3.0:
    c.sendto(b"r%d" % sent, ("127.0.0.1", P))
    sent += 1
    time.sleep(0.01)
    while True:
        try:
            c.recvfrom(100); got += 1
        except BlockingIOError:
            break
got += len(recv_all(c, 0.3))
elapsed = time.time() - start
expect = 20 + 10 * elapsed
report("rate 10 one source: %d answered of %d over %.2f s (expect ~%d)" % (got, sent, elapsed, expect),
       abs(got - expect) <= 6)

# a source port change is the same source
got = 0
time.sleep(2.1)  # bucket full again
for i in range(40):
    s = udp_client()
    s.sendto(b"p", ("127.0.0.1", P))
    got += len(recv_all(s, 0.02))
    s.close()
report("40 datagrams from 40 ports of one address: %d answered (expect ~20)" % got, got <= 20 + 10 * 0.9)

# flood from many spoofed sources: 127.1.0.0/16, 30000 datagrams
uc = e.udp_child()[0]
def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().split(")")[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
n0 = e.nlines()
c0 = cpu(uc); m0 = cpu(e.pid); t0 = time.time()
worst = 0.0
for i in range(60000):
    spoof4("127.%d.%d.%d" % (1 + (i >> 16) % 200, (i >> 8) & 255, i & 255), 40000, "127.0.0.1", P, b"flood")
    if i % 10000 == 0:
        s0 = time.time(); e.status(); worst = max(worst, time.time() - s0)
t1 = time.time()
c1 = cpu(uc); m1 = cpu(e.pid)
time.sleep(1.5)
print(e.status())
lines = e.text().splitlines()[n0:]
print("INFO flood 60000 datagrams from 60000 sources in %.2f s; udp child cpu %.2f s, master cpu %.2f s; worst SIGUSR1 answer %.3f s; %d log lines" % (t1 - t0, c1 - c0, m1 - m0, worst, len(lines)))
for l in lines:
    if "status" not in l:
        print("   ", l)
# flood from one source: 50000 datagrams
n0 = e.nlines(); c0 = cpu(uc); t0 = time.time()
fl = udp_client(); fl.setblocking(False)
for i in range(50000):
    try:
        fl.sendto(b"x" * 64, ("127.0.0.1", P))
    except BlockingIOError:
        pass
t1 = time.time(); c1 = cpu(uc)
time.sleep(1.5)
lines = e.text().splitlines()[n0:]
print("INFO one-source flood 50000 in %.2f s: udp child cpu %.2f s, %d log lines" % (t1 - t0, c1 - c0, len(lines)))
for l in lines: print("   ", l)
print(e.status())
e.stop()
