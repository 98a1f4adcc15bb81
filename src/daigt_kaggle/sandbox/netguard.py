"""The dry-run's socket guard: submit.py copies this file into the run environment's site-packages as
``_daigt_netguard.py`` with a ``.pth`` line importing it, so it is active before the kernel's first line.

Kaggle runs a submission with the internet off; here any connection to a non-loopback address (or name
lookup) raises, and is recorded in $DAIGT_NETGUARD_LOG so the dry-run fails even if the kernel swallows the
error. Standard library only: it runs in the kernel's environment, not the tooling's.
"""
import errno
import ipaddress
import os
import socket
import traceback

_LOG = os.environ.get("DAIGT_NETGUARD_LOG", "")
_connect, _connect_ex, _sendto, _getaddrinfo = (
    socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto, socket.getaddrinfo)


def _is_local(host):
    host = (host.decode() if isinstance(host, bytes) else str(host)).strip("[]").lower()
    if host in ("", "localhost", "ip6-localhost", "0.0.0.0"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what):
    if _LOG:
        try:
            with open(_LOG, "a", encoding="utf-8") as handle:
                handle.write(what + "\n" + "".join(traceback.format_stack(limit=10)[:-2]) + "---\n")
        except OSError:
            pass
    raise OSError(errno.ENETUNREACH, "network access blocked by the DAIGT dry-run (Kaggle runs submissions "
                  "offline): " + what)


def _check(sock, address, call):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        _refuse("%s(%r)" % (call, address))


def connect(self, address):
    _check(self, address, "connect")
    return _connect(self, address)


def connect_ex(self, address):
    _check(self, address, "connect_ex")
    return _connect_ex(self, address)


def sendto(self, data, *args):
    _check(self, args[-1], "sendto")
    return _sendto(self, data, *args)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _is_local(host):
        try:
            ipaddress.ip_address((host.decode() if isinstance(host, bytes) else host).split("%")[0])
        except ValueError:
            _refuse("getaddrinfo(%r)" % (host,))
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
socket.getaddrinfo = getaddrinfo
