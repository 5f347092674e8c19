"""Echo loops from one forged datagram: echod answering itself (source = its own socket)
and two echods on high ports answering each other, at udp_rate_per_source 10 and 0."""
import os, socket, sys, time
from lib import *

for rate in ("10", "0"):
    a = Echod("address = 127.0.0.1\nport = 0\nudp = on\nudp_rate_per_source = %s\n" % rate)
    b = Echod("address = 127.0.0.1\nport = 0\nudp = on\nudp_rate_per_source = %s\n" % rate)
    sn = sniffer(a.port)
    spoof4("127.0.0.1", b.port, "127.0.0.1", a.port, b"ping-pong")
    n1 = len(sniff(sn, a.port, 1.0)); n2 = len(sniff(sn, a.port, 1.0))
    print("INFO rate %s: two echods (ports %d, %d), one forged datagram: %d datagrams in the 1st second, %d in the 2nd"
          % (rate, a.port, b.port, n1, n2))
    a.stop(); b.stop()
    bad = rate == "0" and n2 > 0
    report("rate %s: the loop ends" % rate, not bad)
    for attempt in range(5):  # a port free on both addresses (others' tests share the host)
        try:
            a = Echod("address = 127.0.0.1\nport = 0\nudp = on\nudp_rate_per_source = %s\n" % rate)
            b = Echod("address = 127.0.0.2\nport = %d\nudp = on\nudp_rate_per_source = %s\n" % (a.port, rate))
            break
        except RuntimeError:
            a.stop()
    sn = sniffer(a.port)
    spoof4("127.0.0.2", a.port, "127.0.0.1", a.port, b"same-port")
    n1 = len(sniff(sn, a.port, 1.0))
    print("INFO rate %s: two echods on one port (127.0.0.1 and 127.0.0.2), one forged datagram: %d datagrams in 1 s" % (rate, n1))
    report("rate %s: an echod on the same port is not answered" % rate, n1 == 1, "%d" % n1)
    a.stop(); b.stop()
    e = Echod("address = 127.0.0.1\nport = 0\nudp = on\nudp_rate_per_source = %s\n" % rate)
    sn = sniffer(e.port)
    spoof4("127.0.0.1", e.port, "127.0.0.1", e.port, b"self")
    n1 = len(sniff(sn, e.port, 1.0)); n2 = len(sniff(sn, e.port, 1.0))
    print("INFO rate %s: echod answering its own socket, one forged datagram: %d datagrams in the 1st second, %d in the 2nd" % (rate, n1, n2))
    report("rate %s: a datagram from echod's own address and port is not answered" % rate, n1 <= 1, "%d" % n1)
    e.stop()
