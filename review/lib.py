"""Helpers for the review scripts: start echod on loopback, talk PROXY, read logs."""
import os, re, socket, struct, subprocess, time
import signal as sigmod

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ECHOD = os.path.join(ROOT, "build", "echod")


class Echod:
    def __init__(self, conf, name="t", args=()):
        self.dir = f"/tmp/rv_{name}_{os.getpid()}"
        os.makedirs(self.dir, exist_ok=True)
        self.conf_path = os.path.join(self.dir, "echod.conf")
        self.log_path = os.path.join(self.dir, "log")
        self.write_conf(conf)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([ECHOD, "--config", self.conf_path, *args],
                                     stdout=self.log, stderr=self.log)
        self.pid = self.proc.pid
        deadline = time.time() + 10
        self.port = None
        while time.time() < deadline:
            m = re.search(r"ready listening=\S+ port=(\d+)", self.text())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise RuntimeError("echod exited: " + self.text())
            time.sleep(0.05)
        if self.port is None:
            raise RuntimeError("no ready line: " + self.text())

    def write_conf(self, conf):
        base = {"address": "127.0.0.1", "port": "0", "log_level": "debug"}
        base.update(conf)
        with open(self.conf_path, "w") as f:
            for k, v in base.items():
                if isinstance(v, list):
                    for item in v:
                        f.write(f"{k} = {item}\n")
                else:
                    f.write(f"{k} = {v}\n")

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def lines(self, pattern):
        return [l for l in self.text().splitlines() if re.search(pattern, l)]

    def signal(self, sig):
        os.kill(self.pid, sig)

    def reload(self, conf):
        self.write_conf(conf)
        before = len(self.lines(r"reloaded|reload failed"))
        self.signal(sigmod.SIGHUP)
        deadline = time.time() + 5
        while time.time() < deadline:
            if len(self.lines(r"reloaded|reload failed")) > before:
                return self.lines(r"reloaded|reload failed")[-1]
            time.sleep(0.05)
        raise RuntimeError("no reload outcome")

    def status(self):
        before = len(self.lines(r" status "))
        self.signal(sigmod.SIGUSR1)
        deadline = time.time() + 5
        while time.time() < deadline:
            l = self.lines(r" status ")
            if len(l) > before:
                return dict(kv.split("=", 1) for kv in l[-1].split(" status ", 1)[1].split() if "=" in kv)
            time.sleep(0.05)
        raise RuntimeError("no status")

    def children(self):
        out = []
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                out = [int(p) for p in f.read().split()]
        except FileNotFoundError:
            pass
        return out

    def cpu_ticks(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def fds(self, pid=None):
        return len(os.listdir(f"/proc/{pid or self.pid}/fd"))

    def stop(self, sig=sigmod.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def connect(port, host="127.0.0.1", src=None, timeout=5):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    return s


def v1(src, dst="127.0.0.1", sport=1234, dport=7, proto=None):
    proto = proto or ("TCP6" if ":" in src else "TCP4")
    return f"PROXY {proto} {src} {dst} {sport} {dport}\r\n".encode()


V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(src=None, dst=None, sport=1234, dport=7, cmd=1, fam=None, tlv=b"", length=None):
    if dst is None:
        dst = "::1" if src and ":" in src else "127.0.0.1"
    if src is None:
        body = b""
        famb = 0 if fam is None else fam
    elif ":" in src:
        body = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!HH", sport, dport)
        famb = 0x21 if fam is None else fam
    else:
        body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
        famb = 0x11 if fam is None else fam
    body += tlv
    ln = len(body) if length is None else length
    return V2SIG + bytes([0x20 | cmd, famb]) + struct.pack("!H", ln) + body


def recv_all(s, timeout=2):
    """Everything until EOF/reset/timeout: (bytes, how)."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return data, "eof"
            data += b
    except socket.timeout:
        return data, "timeout"
    except ConnectionResetError:
        return data, "reset"


def wait_for(pred, timeout=5, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
