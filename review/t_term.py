import sys, time, socket, signal, os
sys.path.insert(0, ".")
from lib import *
mode, sig = sys.argv[1], getattr(signal, sys.argv[2])
e = Echod({"mode": mode, "min_spare_children": 2, "proxy_protocol": "v1", "proxy_trusted": "127.0.0.1",
           "proxy_timeout": "30s", "shutdown_timeout": "2s"}, name="term"+mode)
try:
    s = connect(e.port); s.sendall(b"PROXY TCP4 192.0.2.1 ")
    live = connect(e.port); live.sendall(v1("192.0.2.2") + b"x"); live.settimeout(2); print("live", live.recv(10))
    time.sleep(0.3)
    t = time.time()
    e.signal(sig)
    time.sleep(0.5)
    try:
        s.sendall(b"127.0.0.1 1 2\r\nhello")
    except Exception as ex:
        print("send:", ex)
    print("stalled-header conn:", recv_all(s, 3))
    live.sendall(b"y"); print("live after term", recv_all(live, 3))
    rc = e.proc.wait(30)
    print("exit", rc, "after", round(time.time() - t, 2))
finally:
    e.stop()
print("\n".join(l for l in e.text().splitlines()[1:]))
