import sys, time, socket, signal, os, random, threading, struct
sys.path.insert(0, ".")
from lib import *
mode = sys.argv[1]; per_child = sys.argv[2] if len(sys.argv) > 2 else "1"
DUR = float(sys.argv[3]) if len(sys.argv) > 3 else 8
e = Echod({"proxy_protocol": "any", "proxy_trusted": "127.0.0.1", "mode": mode, "max_children": 40,
           "max_per_source": 1, "max_per_network": 0, "proxy_timeout": "300ms", "min_spare_children": 4,
           "max_spare_children": 8, "max_connections_per_child": per_child, "log_level": "info",
           "idle_timeout": "2s", "rate_per_source": 0}, name=f"flood{mode}{per_child}")
fd0 = e.fds()
counts = {}
lock = threading.Lock()
stop = time.time() + DUR
def kind_run(kind, i):
    src = f"10.{i % 200}.{random.randint(0,255)}.{random.randint(1,254)}"
    try:
        if kind == "untrusted":
            s = connect(e.port, src="127.0.0.9", timeout=2); s.sendall(v1(src)); recv_all(s, 1); s.close(); return
        s = connect(e.port, timeout=2)
        if kind == "good":
            s.sendall(v1(src) + b"data"); s.shutdown(socket.SHUT_WR); d, how = recv_all(s, 2)
            if d != b"data": kind = "good-failed"
        elif kind == "goodv2":
            s.sendall(v2(src) + b"data"); s.shutdown(socket.SHUT_WR); d, how = recv_all(s, 2)
            if d != b"data": kind = "goodv2-failed"
        elif kind == "bad":
            s.sendall(b"PROXY TCP4 1.2.3.4 x\r\n"); recv_all(s, 1)
        elif kind == "stall":
            s.sendall(b"PROXY TCP4 "); recv_all(s, 1)
        elif kind == "rst":
            s.sendall(b"PROXY TCP4 1.2"); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == "local":
            s.sendall(v2(cmd=0) + b"hc"); s.shutdown(socket.SHUT_WR); recv_all(s, 2)
        elif kind == "dup":  # same source twice at once
            t = connect(e.port, timeout=2)
            s.sendall(v1("192.0.2.200") + b"a"); t.sendall(v1("192.0.2.200") + b"b")
            recv_all(t, 0.5); t.close()
        s.close()
    except Exception as ex:
        kind = kind + "-exc-" + type(ex).__name__
    with lock:
        counts[kind] = counts.get(kind, 0) + 1
def worker(w):
    i = 0
    while time.time() < stop and i < 3000:
        kind_run(random.choice(["good", "goodv2", "bad", "stall", "rst", "local", "untrusted", "dup"]), i); i += 1
def killer():
    n = 0
    while time.time() < stop and n < 200:
        time.sleep(0.05)
        kids = e.children()
        if kids:
            try: os.kill(random.choice(kids), signal.SIGKILL); n += 1
            except ProcessLookupError: pass
    with lock: counts["killed_by_test"] = n
ts = [threading.Thread(target=worker, args=(w,)) for w in range(12)] + [threading.Thread(target=killer)]
t0 = e.cpu_ticks()
for t in ts: t.start()
for t in ts: t.join()
print("master cpu ticks during flood", e.cpu_ticks() - t0, "over", DUR, "s")
time.sleep(2.5)
print(sorted(counts.items()))
zombies = []
for p in e.children():
    try:
        st = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0]
        if st == "Z": zombies.append(p)
    except FileNotFoundError: pass
print("children", len(e.children()), "zombies", zombies, "master fds", fd0, "->", e.fds())
st = e.status(); print(st)
# leaked counts? source 192.0.2.200 with max_per_source=1 and a fresh named source
for src in ["192.0.2.200", "10.1.1.1"]:
    s = connect(e.port); s.sendall(v1(src) + b"z"); s.shutdown(socket.SHUT_WR); print("after flood", src, recv_all(s, 2))
# prefork spare accounting
if mode == "prefork":
    kids = e.children(); busy = 0
    print("children", len(kids), "status spare", st.get("spare"), "active", st.get("active"))
print("warning lines:", [l for l in e.text().splitlines() if " warning: " in l][:5], len([l for l in e.text().splitlines() if " warning: " in l]))
print("error lines:", [l for l in e.text().splitlines() if " error: " in l][:5])
e.stop()
print("\n".join(l for l in e.text().splitlines() if "info: connection closed" not in l and "warning: connection closed" not in l)[-3000:])
