import os, socket, time, signal
from lib import *
e = Echod("address = 127.0.0.1\naddress = ::1\nport = 0\nudp = on\n")
print(e.text())
c = udp_client()
c.sendto(b"hello", ("127.0.0.1", e.port))
print(recv_all(c))
uc = e.udp_child()
print("udp child", uc)
for p in uc:
    print(os.listdir("/proc/%d/fd" % p), [os.readlink("/proc/%d/fd/%s" % (p, f)) for f in os.listdir("/proc/%d/fd" % p)])
print(e.status())
print(e.stop(), e.text())
