"""SIGHUP while datagrams stream in: none answered twice, old children reaped, one UDP
child after each reload, udp off frees the port, deny applies, port change."""
import os, socket, struct, subprocess, sys, threading, time, signal
from lib import *

mode = sys.argv[1] if len(sys.argv) > 1 else "fork"
base = "address = 127.0.0.1\nport = %d\nmode = " + mode + "\nmin_spare_children = 2\n"
probe = socket.socket(); probe.bind(("127.0.0.1", 0)); PORT = probe.getsockname()[1]; probe.close()
confs = [base % PORT + "udp = on\nudp_rate_per_source = 0\n",
         base % PORT + "udp = on\nudp_rate_per_source = 100000\ndeny = 10.0.0.0/8\n",
         base % PORT + "udp = off\n",
         base % PORT + "udp = on\nudp_rate_per_source = 0\n"]
e = Echod(confs[0])
P = e.port
c = udp_client(); c.setblocking(False)
replies = {}
stop = threading.Event()
sent = [0]

def sender():
    i = 0
    while not stop.is_set() and i < 2000000:
        try:
            c.sendto(struct.pack("!I", i), ("127.0.0.1", P)); i += 1
        except (BlockingIOError, ConnectionRefusedError):
            pass
        time.sleep(0.0002)
    sent[0] = i

def receiver():
    while not stop.is_set():
        try:
            d, _ = c.recvfrom(100)
            k = struct.unpack("!I", d)[0]; replies[k] = replies.get(k, 0) + 1
        except (BlockingIOError, ConnectionRefusedError):
            time.sleep(0.0002)

ts = [threading.Thread(target=sender), threading.Thread(target=receiver)]
for t in ts: t.start()
max_holders = 0
results = []
for r in range(24):
    line = e.reload(confs[(r + 1) % len(confs)])
    results.append("failed" not in line)
    for _ in range(20):
        out = subprocess.run(["ss", "-uanpH", "sport = :%d" % P], capture_output=True, text=True).stdout
        holders = {int(p) for p in __import__("re").findall(r"pid=(\d+)", out)} - {e.pid}
        max_holders = max(max_holders, len(holders))
        time.sleep(0.01)
time.sleep(0.5)
stop.set()
for t in ts: t.join()
dups = {k: v for k, v in replies.items() if v > 1}
report("24 reloads all succeeded", all(results))
report("no datagram answered twice (%d sent, %d answered)" % (sent[0], len(replies)), not dups, str(list(dups.items())[:5]))
print("INFO at most %d processes besides the master held the UDP port during reloads" % max_holders)
zombies = subprocess.run(["ps", "-o", "pid=,stat=,args=", "--ppid", str(e.pid)], capture_output=True, text=True).stdout
report("no zombies after reloads", " Z" not in zombies, zombies.strip().replace("\n", "; "))
print("   UDP holders now:", e.udp_child(0.5))

# udp off: port free once reloaded
e.reload(confs[2]); time.sleep(0.3)
out = subprocess.run(["ss", "-uanpH", "sport = :%d" % P], capture_output=True, text=True).stdout
report("udp off: nobody holds the UDP port", not out.strip(), out)
# udp on again + deny 127/8 applies to the first datagram after 'reloaded'
e.reload(base % PORT + "udp = on\ndeny = 127.0.0.0/8\n")
c2 = udp_client(); c2.sendto(b"x", ("127.0.0.1", P))
report("deny 127.0.0.0/8 right after reload: unanswered", not recv_all(c2, 0.5))
e.reload(base % PORT + "udp = on\nallow = 10.0.0.0/8\n")
c2.sendto(b"x", ("127.0.0.1", P))
report("allow 10.0.0.0/8 only: 127.0.0.1 unanswered", not recv_all(c2, 0.5))
e.reload(base % PORT + "udp = on\n")
c2.sendto(b"x", ("127.0.0.1", P))
report("lists emptied: answered", len(recv_all(c2, 0.5)) == 1)

# port change
probe = socket.socket(); probe.bind(("127.0.0.1", 0)); P2 = probe.getsockname()[1]; probe.close()
print("   ", e.reload(base % P2 + "udp = on\n"))
time.sleep(0.3)
c2.sendto(b"new", ("127.0.0.1", P2))
report("new port answered", len(recv_all(c2, 0.5)) == 1)
out = subprocess.run(["ss", "-uanpH", "sport = :%d" % P], capture_output=True, text=True).stdout
report("old UDP port closed", not out.strip(), out)
# address change: add ::1
print("   ", e.reload(base % P2 + "address = ::1\nudp = on\n"))
c6 = udp_client(socket.AF_INET6, ("::1", 0)); c6.sendto(b"v6", ("::1", P2))
report("added ::1 answered", len(recv_all(c6, 0.5)) == 1)
print("\n".join(l for l in e.text().splitlines() if "udp" in l and "reloaded" not in l)[-2000:])
e.stop()
