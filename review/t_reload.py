import sys, time, socket, signal, os
sys.path.insert(0, ".")
from lib import *
mode = sys.argv[1]
base = {"mode": mode, "min_spare_children": 2, "max_spare_children": 4, "proxy_timeout": "3s"}
def conf(**kw):
    c = dict(base); c.update(kw); return c
def echo(s, msg=b"ping"):
    try:
        s.sendall(msg); s.settimeout(2); return s.recv(100)
    except Exception as ex:
        return repr(ex)
e = Echod(conf(), name="reload"+mode)
try:
    old_plain = connect(e.port); print("plain before", echo(old_plain))
    half = connect(e.port)  # connected, nothing sent: will it be asked for a header after reload?
    time.sleep(0.2)
    print(e.reload(conf(proxy_protocol="v1", proxy_trusted="127.0.0.1")))
    time.sleep(0.3)
    print("old plain after proxy on", echo(old_plain))
    print("old idle conn (accepted before reload) sends data", echo(half))
    n = connect(e.port); print("new w/o header (refused)", echo(n))
    n = connect(e.port); n.sendall(v1("192.0.2.1")); print("new with header", echo(n))
    # stall a header, then turn proxy off
    stalled = connect(e.port); stalled.sendall(b"PROXY TCP4 192.0.2.2 ")
    time.sleep(0.2)
    print(e.reload(conf()))
    time.sleep(0.3)
    stalled.sendall(b"127.0.0.1 1 2\r\n"); print("stalled header completes after proxy off", echo(stalled))
    n = connect(e.port); print("new plain after off", echo(n))
    # failing reload
    print(e.reload(conf(proxy_protocol="v2")))
    n = connect(e.port); print("new plain after failed reload", echo(n))
    # allow/deny
    print(e.reload(conf(deny="127.0.0.0/8")))
    n = connect(e.port); print("denied", echo(n))
    print("old plain still", echo(old_plain))
    print(e.reload(conf(proxy_protocol="any", proxy_trusted="127.0.0.1", deny="192.0.2.0/24")))
    n = connect(e.port); n.sendall(v1("192.0.2.9")); print("header names denied", echo(n))
    n = connect(e.port); n.sendall(v1("198.51.100.9")); print("header names allowed", echo(n))
    # proxy_trusted change
    print(e.reload(conf(proxy_protocol="any", proxy_trusted="127.0.0.2")))
    n = connect(e.port); n.sendall(v1("198.51.100.9")); print("no longer trusted", echo(n))
    n = connect(e.port, src="127.0.0.2"); n.sendall(v1("198.51.100.9")); print("newly trusted", echo(n))
    # rate
    print(e.reload(conf(rate_per_source=2, rate_burst=3)))
    res = []
    for i in range(8):
        n = connect(e.port); res.append(echo(n)); n.close()
    print("rate 2 burst 3, 8 quick:", res)
    time.sleep(1.5)
    print(e.status())
finally:
    e.stop(signal.SIGINT)
print("\n".join(l for l in e.text().splitlines() if "debug" not in l))
