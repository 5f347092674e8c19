"""A UDP socket passed by a socket unit with Broadcast=yes (SO_BROADCAST on): a forged
source that is a broadcast address of a local subnet (lo's 127.255.255.255 here; on a LAN
with rp_filter = 0 the kernel accepts such a source) is answered to every host of it.
Passes the socket as systemd would (LISTEN_FDS, LISTEN_PID: exec keeps the pid)."""
import os, socket, subprocess, sys, time, signal, tempfile
from lib import *

d = tempfile.mkdtemp(prefix="echod-bcast-")
open(d + "/c", "w").write("udp = on\n")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("127.0.0.1", 0))
P = s.getsockname()[1]
pid = os.fork()
if pid == 0:
    os.dup2(s.fileno(), 3)
    os.set_inheritable(3, True)
    log = os.open(d + "/log", os.O_WRONLY | os.O_CREAT, 0o644)
    os.dup2(log, 1); os.dup2(log, 2)
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    os.execve(ECHOD, [ECHOD, "--config", d + "/c"], env)
s.close()
time.sleep(0.7)
sn = sniffer(P)
spoof4("127.255.255.255", 5000, "127.0.0.1", P, b"to everyone")
pk = [x for x in sniff(sn, P, 0.6) if x[1] == P]
report("SO_BROADCAST socket: a forged broadcast source is not answered", not pk, str(pk))
os.kill(pid, signal.SIGTERM); os.waitpid(pid, 0)
print(open(d + "/log").read())
