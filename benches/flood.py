#!/usr/bin/env python3
"""Connection flood against the exporter's listener, as benches/flood.sh drives it.

Opens N connections that each send half a request header (2 KB, plain) or a ClientHello and
nothing more (TLS), holds them while it samples the exporter's resident memory and times a scrape
and /-/healthy on fresh connections, then closes them all and samples memory for 30 s more.
Prints one `key value` line per figure, then checks the targets of docs/reliability.md and exits 1
if one is missed: every scrape and health check during the flood answered, in under a second, and
resident memory back within 8 MiB of its level before the flood 30 s after the close.

    flood.py PID HOST PORT N plain|tls [USER:PASSWORD]
"""

import base64
import resource
import socket
import ssl
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def timed_get(host, port, path, tls, auth):
    """Seconds for one GET on a new connection, or None if it was not answered with 200."""
    started = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=5)
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock)
        header = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        if auth:
            header += "Authorization: Basic " + base64.b64encode(auth.encode()).decode() + "\r\n"
        sock.sendall((header + "\r\n").encode())
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        sock.close()
    except OSError:
        return None
    if not answer.startswith(b"HTTP/1.1 200"):
        return None
    return time.monotonic() - started


def stalled_connection(host, port, tls, hello_context):
    sock = socket.create_connection((host, port), timeout=5)
    if tls:
        tls_sock = hello_context.wrap_socket(sock, do_handshake_on_connect=False)
        tls_sock.setblocking(False)
        try:
            tls_sock.do_handshake()  # sends the ClientHello, then we never go on
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        return tls_sock
    sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: flood\r\nX-Padding: " + b"a" * 2000)
    return sock


def main():
    pid, host, port, count, mode = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    auth = sys.argv[6] if len(sys.argv) > 6 else None
    tls = mode == "tls"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    hello_context = ssl.create_default_context()
    hello_context.check_hostname = False
    hello_context.verify_mode = ssl.CERT_NONE

    for _ in range(5):
        timed_get(host, port, "/metrics", tls, auth)
    before = rss_kib(pid)
    print("rss_before_kib", before)

    sockets, refused, peak = [], 0, 0
    scrape_times, health_times, unanswered = [], [], 0
    started = time.monotonic()
    for i in range(count):
        try:
            sockets.append(stalled_connection(host, port, tls, hello_context))
        except OSError:
            refused += 1
        if i % 1000 == 999:
            peak = max(peak, rss_kib(pid))
            for path, times in (("/metrics", scrape_times), ("/-/healthy", health_times)):
                took = timed_get(host, port, path, tls, auth)
                if took is None:
                    unanswered += 1
                else:
                    times.append(took)
    opened = time.monotonic() - started
    peak = max(peak, rss_kib(pid))
    print("connections_opened", len(sockets))
    print("connections_refused_at_connect", refused)
    print("open_seconds", round(opened, 1))
    print("rss_during_peak_kib", peak)
    print("scrape_during_max_seconds", round(max(scrape_times, default=-1), 3))
    print("healthy_during_max_seconds", round(max(health_times, default=-1), 3))
    print("requests_during_unanswered", unanswered)
    for sock in sockets:
        sock.close()
    closed_at = time.monotonic()
    samples = []
    while time.monotonic() - closed_at < 30:
        time.sleep(1)
        samples.append(rss_kib(pid))
    print("rss_after_1s_kib", samples[0])
    print("rss_after_30s_kib", samples[-1])
    took = timed_get(host, port, "/metrics", tls, auth)
    print("scrape_after_seconds", round(took, 3) if took is not None else "unanswered")

    missed = []
    if unanswered:
        missed.append(f"{unanswered} requests unanswered during the flood")
    if max(scrape_times + health_times, default=0) >= 1.0:
        missed.append("a scrape or health check took a second or more")
    if samples[-1] - before > 8 * 1024:
        missed.append(f"RSS 30 s after the close is {samples[-1] - before} KiB above its level before")
    if took is None:
        missed.append("no scrape answered after the flood")
    for miss in missed:
        print("TARGET MISSED:", miss)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
