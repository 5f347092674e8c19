"""Helpers for the UDP adversarial review: start the real echod, read its log, send
datagrams (plain and spoofed with raw IP_HDRINCL sockets on loopback). Loopback only."""
import os, re, signal, socket, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ECHOD = os.environ.get("ECHOD", os.path.join(ROOT, "build", "echod"))


class Echod:
    def __init__(self, conf_text, extra=(), env=None, argv_prefix=()):
        self.dir = tempfile.mkdtemp(prefix="echod-review-")
        self.conf = os.path.join(self.dir, "echod.conf")
        self.write_conf(conf_text)
        self.log = os.path.join(self.dir, "log")
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(list(argv_prefix) + [ECHOD, "--config", self.conf, *extra],
                                     stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        line = self.wait_for(r"\bready\b", 10)
        m = re.search(r"port=(\d+)", line)
        self.port = int(m.group(1)) if m else None
        m = re.search(r"pid=(\d+)", line)
        if m:
            self.pid = int(m.group(1))

    def write_conf(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def wait_for(self, pattern, timeout=5.0, start=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            lines = self.text().splitlines()[start:]
            for l in lines:
                if re.search(pattern, l):
                    return l
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("no %r in log:\n%s" % (pattern, self.text()[-3000:]))

    def nlines(self):
        return len(self.text().splitlines())

    def children(self):
        out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(self.pid)],
                             capture_output=True, text=True).stdout
        return [int(l.split()[0]) for l in out.splitlines() if l.strip()]

    def udp_child(self, timeout=3.0):
        """The child holding a UDP socket on our port (from ss)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = subprocess.run(["ss", "-uanpH", "sport = :%d" % self.port],
                                 capture_output=True, text=True).stdout
            pids = {int(p) for p in re.findall(r"pid=(\d+)", out)} - {self.pid}
            if pids:
                return sorted(pids)
            time.sleep(0.05)
        return []

    def status(self, timeout=3.0):
        n = self.nlines()
        os.kill(self.pid, signal.SIGUSR1)
        return self.wait_for(r"\bstatus\b", timeout, start=n)

    def reload(self, conf_text, timeout=5.0):
        self.write_conf(conf_text)
        n = self.nlines()
        os.kill(self.pid, signal.SIGHUP)
        return self.wait_for(r"reloaded|reload failed", timeout, start=n)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.logf.close()
        return self.proc.returncode


def udp_client(family=socket.AF_INET, bind=("127.0.0.1", 0), timeout=0.5):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.bind(bind)
    return s


def recv_all(s, window=0.5, limit=100000):
    """Every datagram that arrives within `window` seconds of the last one (bounded)."""
    got = []
    s.settimeout(window)
    while len(got) < limit:
        try:
            got.append(s.recvfrom(70000))
        except (socket.timeout, BlockingIOError):
            break
    return got


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_udp(src, sport, dst, dport, payload, ttl=64):
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    c = checksum(pseudo + udp) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, udp_len, c) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x1234, 0, ttl, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp


_raw4 = None


def spoof4(src, sport, dst, dport, payload):
    global _raw4
    if _raw4 is None:
        _raw4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        _raw4.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        _raw4.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    return _raw4.sendto(ipv4_udp(src, sport, dst, dport, payload), (dst, 0))


def sniffer(port):
    """A raw socket that sees every UDP datagram on lo to or from `port` (AF_PACKET)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    s.bind(("lo", 0))
    s.settimeout(0.2)
    return s


def sniff(s, port, window=1.0, limit=100000):
    """(src, sport, dst, dport, len) of UDP/IPv4 packets involving `port` seen in window."""
    out = []
    deadline = time.time() + window
    while time.time() < deadline and len(out) < limit:
        try:
            pkt, addr = s.recvfrom(70000)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:  # lo shows each packet twice
            continue
        if len(pkt) < 28 or pkt[9] != 17:
            continue
        ihl = (pkt[0] & 15) * 4
        sport, dport, ulen = struct.unpack("!HHH", pkt[ihl:ihl + 6])
        if port in (sport, dport):
            out.append((socket.inet_ntoa(pkt[12:16]), sport, socket.inet_ntoa(pkt[16:20]),
                        dport, ulen - 8))
    return out


def report(name, ok, detail=""):
    print("%-4s %s %s" % ("OK" if ok else "FAIL", name, detail))
    sys.stdout.flush()
    return ok


def ipv6_udp(src, sport, dst, dport, payload, hlim=64):
    s6 = socket.inet_pton(socket.AF_INET6, src)
    d6 = socket.inet_pton(socket.AF_INET6, dst)
    udp_len = 8 + len(payload)
    pseudo = s6 + d6 + struct.pack("!IxxxB", udp_len, 17)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    c = checksum(pseudo + udp) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, udp_len, c) + payload
    ip = struct.pack("!IHBB", 6 << 28, udp_len, 17, hlim) + s6 + d6
    return ip + udp


_raw6 = None


def spoof6(src, sport, dst, dport, payload):
    """IPv6 with our own header (AF_INET6 + IPPROTO_RAW includes the header)."""
    global _raw6
    if _raw6 is None:
        _raw6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    scope = socket.if_nametoindex("lo") if dst.startswith(("fe80", "ff0")) else 0
    return _raw6.sendto(ipv6_udp(src, sport, dst, dport, payload), (dst, 0, 0, scope))


def sniffer6():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x86DD))
    s.bind(("lo", 0))
    s.settimeout(0.2)
    return s


def sniff6(s, port, window=1.0, limit=100000):
    out = []
    deadline = time.time() + window
    while time.time() < deadline and len(out) < limit:
        try:
            pkt, addr = s.recvfrom(70000)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING or len(pkt) < 48 or pkt[6] != 17:
            continue
        sport, dport, ulen = struct.unpack("!HHH", pkt[40:46])
        if port in (sport, dport):
            out.append((socket.inet_ntop(socket.AF_INET6, pkt[8:24]), sport,
                        socket.inet_ntop(socket.AF_INET6, pkt[24:40]), dport, len(pkt) - 48))
    return out
