"""Which descriptors each child holds: the UDP child, a fork-mode connection child, a
prefork spare. Only the UDP child should hold the UDP sockets."""
import os, socket, sys, time
from lib import *

def fds(pid):
    out = {}
    for f in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(f)] = os.readlink("/proc/%d/fd/%s" % (pid, f))
        except OSError:
            pass
    return dict(sorted(out.items()))

def inode_kinds():
    kinds = {}
    for proto in ("udp", "udp6", "tcp", "tcp6"):
        for line in open("/proc/net/" + proto).read().splitlines()[1:]:
            f = line.split()
            kinds["socket:[%s]" % f[9]] = proto + " " + f[1]
    return kinds

for mode in ("fork", "prefork"):
    e = Echod("address = 127.0.0.1\naddress = ::1\nport = 0\nudp = on\nmode = %s\nmin_spare_children = 2\n" % mode)
    t = socket.create_connection(("127.0.0.1", e.port))
    t.sendall(b"hi"); t.recv(10)
    time.sleep(0.5)
    kinds = inode_kinds()
    udp = e.udp_child()
    print("== mode", mode, "master", e.pid, "udp child", udp)
    for pid in [e.pid] + e.children():
        print("  pid %d%s:" % (pid, " (udp child)" if pid in udp else ""),
              {k: kinds.get(v, v) for k, v in fds(pid).items()})
    t.close()
    e.stop()
