import sys, time, socket
sys.path.insert(0, ".")
from lib import *
e = Echod({"udp": "on", "max_per_source": 1, "rate_per_source": 1, "rate_burst": 2}, name="udp")
try:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 40000)); u.settimeout(1)
    u.sendto(b"hello", ("127.0.0.1", e.port))
    try:
        print("udp reply", u.recvfrom(100))
    except socket.timeout:
        print("udp: no reply")
    print("udp sockets of echod:", subprocess.run(["ss", "-uanpH"], capture_output=True, text=True).stdout.count(f"pid={e.pid}"))
    held = connect(e.port); held.sendall(b"x"); held.recv(1)
    res = []
    for i in range(6):
        s = connect(e.port); s.sendall(b"y"); res.append(recv_all(s, 0.5)[1]); s.close()
    print(res)
    time.sleep(1.6)
    print(e.status())
finally:
    e.stop()
print("\n".join(l for l in e.text().splitlines() if "debug: connection accepted" not in l))
