import sys, time, socket, signal, os, subprocess
sys.path.insert(0, ".")
from lib import *
d = f"/tmp/rv_dual_{os.getpid()}"; os.makedirs(d, exist_ok=True)
conf = os.path.join(d, "c.conf"); log = os.path.join(d, "log")
open(conf, "w").write("log_level = debug\nproxy_protocol = v1\nproxy_trusted = 127.0.0.1\ndeny = 192.0.2.66\nmax_per_source = 1\n")
ls = socket.socket(socket.AF_INET6); ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
ls.bind(("::", 0)); ls.listen(16); port = ls.getsockname()[1]
pid = os.fork()
if pid == 0:
    os.dup2(ls.fileno(), 3) if ls.fileno() != 3 else None; os.set_inheritable(3, True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC); os.dup2(fd, 2); os.dup2(fd, 1)
    os.environ["LISTEN_PID"] = str(os.getpid()); os.environ["LISTEN_FDS"] = "1"
    os.execv(ECHOD, [ECHOD, "--config", conf])
ls.close()
time.sleep(1)
def echo(s, msg=b"ping"):
    try:
        s.sendall(msg); s.settimeout(2); return s.recv(100)
    except Exception as ex:
        return repr(ex)
try:
    s = connect(port, "127.0.0.1"); s.sendall(v1("192.0.2.1")); print("trusted via mapped", echo(s))
    s2 = connect(port, "127.0.0.1", src="127.0.0.2"); s2.sendall(v1("192.0.2.9")); print("untrusted mapped", echo(s2))
    s3 = connect(port, "::1"); s3.sendall(v1("192.0.2.9")); print("::1 untrusted", echo(s3))
    s4 = connect(port, "127.0.0.1"); s4.sendall(v1("::ffff:192.0.2.66", dst="::1")); print("mapped denied", echo(s4))
    s5 = connect(port, "127.0.0.1"); s5.sendall(v1("192.0.2.1")); print("same client 2nd (max_per_source=1)", echo(s5))
finally:
    os.kill(pid, signal.SIGTERM); os.waitpid(pid, 0)
print(open(log).read())
