import sys, time, socket, signal, os
sys.path.insert(0, ".")
from lib import *
mode = sys.argv[1]
e = Echod({"proxy_protocol": "v1", "proxy_trusted": "127.0.0.1/32", "mode": mode, "max_children": 8,
           "proxy_timeout": "2s", "min_spare_children": 2, "max_spare_children": 4, "log_level": "info"}, name="stall"+mode)
try:
    stalled = []
    for i in range(8):
        s = connect(e.port); s.sendall(b"PROXY TCP4 "); stalled.append(s)
    time.sleep(0.3)
    print("children", len(e.children()), e.status().get("active"), e.status().get("spare"))
    t = time.time()
    g = connect(e.port); g.sendall(v1("192.0.2.50") + b"good")
    g.settimeout(6)
    print("good got", g.recv(10), "after", round(time.time() - t, 2))
    t0 = e.cpu_ticks()
    # untrusted flood for 2 s
    n = 0; end = time.time() + 2
    while time.time() < end and n < 20000:
        try:
            s = connect(e.port, src="127.0.0.3", timeout=1); s.close(); n += 1
        except Exception as ex:
            pass
    print("untrusted flood", n, "cpu ticks", e.cpu_ticks() - t0, "fds", e.fds(), "children", len(e.children()))
    time.sleep(1.5)
    st = e.status(); print(st)
finally:
    e.stop()
print("\n".join(e.text().splitlines()[-15:]))
print("warnings:", len(e.lines(r"warning|error")))
