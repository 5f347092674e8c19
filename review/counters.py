"""The status line's udp_echoed and udp_dropped add up to what was sent, by reason."""
import re, socket, time
from lib import *

e = Echod("address = 127.0.0.1\nport = 0\nudp = on\nudp_rate_per_source = 10\ndeny = 127.0.0.66\n")
P = e.port
c = udp_client()
for i in range(30):
    c.sendto(b"c", ("127.0.0.1", P))
got = len(recv_all(c, 0.3))
for i in range(5):
    spoof4("127.0.0.1", 99, "127.0.0.1", P, b"g")
d = udp_client(bind=("127.0.0.66", 0))
for i in range(4):
    d.sendto(b"d", ("127.0.0.1", P))
time.sleep(1.5)
st = e.status()
ech = int(re.search(r"udp_echoed=(\d+)", st).group(1)); drp = int(re.search(r"udp_dropped=(\d+)", st).group(1))
report("status: echoed %d (client got %d), dropped %d (expect 10 rate + 5 guard + 4 denied = 19)" % (ech, got, drp),
       ech == got and ech + drp == 39)
for l in e.text().splitlines():
    if "limit" in l: print("   ", l)
e.stop()
