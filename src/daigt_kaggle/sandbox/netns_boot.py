"""First program inside the dry-run's network namespace: bring up loopback (Kaggle kernels have it), then
become the kernel (``python netns_boot.py KERNEL ARGS...`` execs ``python KERNEL ARGS...``). Standard library
only: it runs with the run environment's Python.
"""

import fcntl
import os
import socket
import struct
import sys

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1

try:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flags = struct.unpack("16sH14s", fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack("16sH14s", b"lo", 0, b"")))[1]
    fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))
    sock.close()
except OSError as exc:
    print(f"[submit] loopback stays down in the network namespace: {exc}", file=sys.stderr)
os.execv(sys.executable, [sys.executable] + sys.argv[1:])
