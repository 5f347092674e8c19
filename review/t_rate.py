import sys, time, socket
sys.path.insert(0, ".")
from lib import *
mode = sys.argv[1]
e = Echod({"proxy_protocol": "any", "proxy_trusted": "127.0.0.1", "mode": mode, "rate_per_source": 5, "rate_burst": 5,
           "min_spare_children": 6, "log_level": "info"}, name="rate"+mode)
def one(hdr):
    s = connect(e.port); s.sendall(hdr + b"q"); s.shutdown(socket.SHUT_WR); d, _ = recv_all(s, 1); s.close(); return d == b"q"
try:
    t = time.time()
    ok = sum(one(v1(f"2001:db8:0:1::{i:x}", dst="::1")) for i in range(1, 31))
    ok2 = sum(one(v1(f"2001:db8:0:2::1", dst="::1")) for i in range(3))
    ok3 = sum(one(v1("::ffff:198.51.100.1", dst="::1") if i % 2 else v1("198.51.100.1")) for i in range(12))
    print("same /64, 30 addrs:", ok, "other /64:", ok2, "mapped+plain 12:", ok3, "in", round(time.time()-t, 2), "s")
    time.sleep(1.2)
    print(e.status())
finally:
    e.stop()
print("\n".join(l for l in e.text().splitlines() if "limit" in l))
