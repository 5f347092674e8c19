import sys, time, socket
sys.path.insert(0, ".")
from lib import *
e = Echod({"proxy_protocol": "any", "proxy_trusted": "127.0.0.1"}, name="why")
try:
    for payload in [b"POST / HTTP/1.1\r\n", b"PROXY UNKNOWNxyz\r\n", b"\r\n\r\n\x00\r\nQUIT\n\x22\x11\x00\x0c" + b"\0"*12]:
        s = connect(e.port); s.sendall(payload); recv_all(s, 1); s.close()
    time.sleep(1.3)
finally:
    e.stop()
print("\n".join(l for l in e.text().splitlines() if "why=" in l))
