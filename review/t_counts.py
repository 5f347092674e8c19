import sys, time, socket, signal, os
sys.path.insert(0, ".")
from lib import *
mode = sys.argv[1]
e = Echod({"proxy_protocol": "any", "proxy_trusted": "127.0.0.1/32", "mode": mode,
           "proxy_timeout": "2s", "max_per_source": 1, "min_spare_children": 3, "max_spare_children": 6}, name="counts"+mode)
def echo_ok(s, msg=b"ping"):
    s.sendall(msg)
    s.settimeout(2)
    try:
        return s.recv(100) == msg
    except Exception as ex:
        return repr(ex)
try:
    # UNKNOWN x2 concurrently
    a = connect(e.port); a.sendall(b"PROXY UNKNOWN\r\n"); print("unknown1", echo_ok(a))
    b = connect(e.port); b.sendall(b"PROXY UNKNOWN\r\n"); print("unknown2", echo_ok(b))
    a.close(); b.close(); time.sleep(0.3)
    # same named client twice
    a = connect(e.port); a.sendall(v1("192.0.2.7")); print("c1", echo_ok(a))
    b = connect(e.port); b.sendall(v1("192.0.2.7")); print("c2 (should be refused)", echo_ok(b))
    # mapped vs plain in same source
    c = connect(e.port); c.sendall(v1("::ffff:192.0.2.7", dst="::1")); print("c3 mapped (should be refused)", echo_ok(c))
    a.close(); b.close(); c.close()
    time.sleep(0.3)
    # kill -9 while reading header
    for stage in ["header", "admitted"]:
        s = connect(e.port)
        if stage == "header":
            s.sendall(b"PROXY TCP4 192.0.2.8 ")
        else:
            s.sendall(v1("192.0.2.8")); print(" admitted echo", echo_ok(s))
        time.sleep(0.3)
        # find the child serving: the one whose fd table holds a socket connected; simpler: newest child
        # find by /proc/net/tcp? use ss
        out = subprocess.run(["ss", "-tnpH", "state", "established", f"sport = :{e.port}"], capture_output=True, text=True).stdout
        import re
        pids = set(int(p) for p in re.findall(r"pid=(\d+)", out)) - {e.pid}
        print(stage, "serving pids", pids)
        for p in pids: os.kill(p, signal.SIGKILL)
        print(" after kill:", recv_all(s, 1))
        s.close()
        time.sleep(0.5)
        s = connect(e.port); s.sendall(v1("192.0.2.8")); print(" reconnect after kill at", stage, echo_ok(s)); s.close()
        time.sleep(0.3)
    time.sleep(1.5)
    print(e.status())
finally:
    e.stop()
print("\n".join(l for l in e.text().splitlines() if "debug: connection accepted" not in l))
