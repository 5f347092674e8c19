"""kill -9 the UDP child repeatedly; SIGTERM/SIGINT stop; no orphan; port freed."""
import os, socket, signal, subprocess, sys, time
from lib import *

mode = sys.argv[1] if len(sys.argv) > 1 else "fork"
conf = "address = 127.0.0.1\nport = 0\nudp = on\nmode = %s\nudp_rate_per_source = 0\n" % mode
e = Echod(conf)
P = e.port
seen = set()
kills = 0
t0 = time.time()
forks_at = []
while time.time() - t0 < 6.0 and kills < 200:
    for pid in e.udp_child(0.01):
        if pid not in seen:
            seen.add(pid); forks_at.append(round(time.time() - t0, 2))
            os.kill(pid, signal.SIGKILL); kills += 1
    time.sleep(0.005)
gaps = [round(b - a, 2) for a, b in zip(forks_at, forks_at[1:])]
print("INFO %d UDP children killed in 6 s; gaps between forks: %s" % (kills, gaps))
warnings = [l for l in e.text().splitlines() if "udp child exited" in l]
report("one warning for the crash loop", len(warnings) == 1, "\n    ".join([""] + warnings))
report("no fork storm (<= 12 forks in 6 s)", kills <= 12, str(kills))
# after the loop, it is back within about 1 s and answers
c = udp_client()
time.sleep(1.2)
c.sendto(b"back", ("127.0.0.1", P))
report("answers again after the crash loop", len(recv_all(c, 1.0)) == 1)
time.sleep(1.5)
print("   ", [l for l in e.text().splitlines() if "udp child down" in l])
zombies = subprocess.run(["ps", "-o", "pid=,stat=", "--ppid", str(e.pid)], capture_output=True, text=True).stdout
report("no zombie children", "Z" not in zombies, zombies.strip().replace("\n", "; "))

# SIGSTOP the UDP child: master? (queued datagrams wait)
uc = e.udp_child()[0]
os.kill(uc, signal.SIGSTOP)
c.sendto(b"wait", ("127.0.0.1", P))
time.sleep(0.3)
os.kill(uc, signal.SIGCONT)
report("a stopped-then-continued child answers the queued datagram", len(recv_all(c, 1.0)) == 1)

# SIGTERM to the child alone
os.kill(uc, signal.SIGTERM)
time.sleep(0.5)
print("   ", [l for l in e.text().splitlines() if "udp child exited" in l][-1])
new = e.udp_child()
report("a child stopped alone is replaced", new and new[0] != uc, str(new))

for sig in (signal.SIGTERM, signal.SIGINT):
    e2 = Echod(conf)
    uc = e2.udp_child()[0]
    rc = e2.stop(sig)
    alive = os.path.exists("/proc/%d" % uc) and "Z" not in open("/proc/%d/stat" % uc).read().split()[2]
    held = subprocess.run(["ss", "-uanpH", "sport = :%d" % e2.port], capture_output=True, text=True).stdout
    report("%s: exit %s, udp child gone, port free" % (sig.name, rc), not alive and not held.strip(), held)
    # the port can be bound again
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", e2.port)); report("  UDP port rebinds", True)
    except OSError as err:
        report("  UDP port rebinds", False, str(err))
    s.close()

# master killed -9: child follows (PR_SET_PDEATHSIG)
e3 = Echod(conf)
uc = e3.udp_child()[0]
os.kill(e3.pid, signal.SIGKILL); e3.proc.wait(5)
time.sleep(0.5)
gone = not os.path.exists("/proc/%d" % uc) or open("/proc/%d/stat" % uc).read().split()[2] == "Z"
report("master SIGKILL: UDP child exits too", gone)
e.stop()
