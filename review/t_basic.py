import sys, time, socket, signal
sys.path.insert(0, ".")
from lib import *

mode = sys.argv[1] if len(sys.argv) > 1 else "fork"
e = Echod({"proxy_protocol": "any", "proxy_trusted": "127.0.0.1/32", "mode": mode,
           "proxy_timeout": "1s", "max_per_source": 1}, name="basic"+mode)
try:
    # v1 + data + FIN in one segment
    s = connect(e.port)
    s.sendall(v1("192.0.2.1") + b"hello")
    s.shutdown(socket.SHUT_WR)
    print("v1+data+FIN:", recv_all(s))
    s.close()
    # v2 split at every byte
    s = connect(e.port)
    for b in v2("2001:db8::1") + b"xyz":
        s.send(bytes([b])); time.sleep(0.002)
    s.shutdown(socket.SHUT_WR)
    print("v2 byte-split:", recv_all(s))
    s.close()
    # v1 byte split
    s = connect(e.port)
    for b in v1("192.0.2.2") + b"abc":
        s.send(bytes([b])); time.sleep(0.002)
    s.shutdown(socket.SHUT_WR)
    print("v1 byte-split:", recv_all(s))
    s.close()
    # untrusted: from 127.0.0.2
    s = connect(e.port, src="127.0.0.2")
    s.sendall(v1("192.0.2.3") + b"abc")
    print("untrusted:", recv_all(s))
    s.close()
    # no header
    s = connect(e.port)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    print("no header:", recv_all(s))
    # slow header timeout
    s = connect(e.port)
    s.sendall(b"PROXY TCP4 1.2.3.4")
    t = time.time()
    print("slow:", recv_all(s, 5), round(time.time()-t, 2))
    # v2 huge length
    s = connect(e.port)
    s.sendall(v2("192.0.2.9", length=65535) + b"x"*100)
    print("v2 huge:", recv_all(s))
    # v2 length 520 exactly (536 total) with TLV padding
    s = connect(e.port)
    s.sendall(v2("192.0.2.10", tlv=b"\x04" + struct.pack("!H", 520-12-3) + b"\0"*(520-12-3)) + b"tail")
    s.shutdown(socket.SHUT_WR)
    print("v2 536:", recv_all(s))
    s = connect(e.port)
    s.sendall(v2("192.0.2.10", tlv=b"\x04" + struct.pack("!H", 521-12-3) + b"\0"*(521-12-3)) + b"tail")
    print("v2 537:", recv_all(s))
    # v1 without CRLF (LF only)
    s = connect(e.port)
    s.sendall(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nabc")
    print("v1 LF:", recv_all(s))
    # v1 bad port
    for hdr in [b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
                b"PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
                b"PROXY TCP4 ::1 ::1 1 2\r\n", b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
                b"PROXY UNKNOWNX\r\n", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
                b"PROXY TCP6 fe80::1%lo ::1 1 2\r\n", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n"]:
        s = connect(e.port)
        s.sendall(hdr + b"zz")
        print("bad", hdr, recv_all(s, 2))
    # UNKNOWN, mapped
    for hdr in [b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN ffff garbage\r\n", v1("::ffff:192.0.2.5", dst="::1"), v2(cmd=0), v2(src=None, cmd=1)]:
        s = connect(e.port)
        s.sendall(hdr + b"ok")
        s.shutdown(socket.SHUT_WR)
        print("named-none", hdr[:20], recv_all(s, 2))
    time.sleep(1.5)
    print(e.status())
finally:
    e.stop()
print(e.text())
