"""Loaded by Python at start-up when this folder is on PYTHONPATH (tests only).

Blocks every outbound connection that is not to the loopback interface and records each
attempt in the file named by NETGUARD_LOG, so a test can prove a command used no network.
"""

import ipaddress
import os
import socket

_LOG = os.environ.get("NETGUARD_LOG")
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _allowed(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: resolving it already means going out


def _record(address) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {address!r}\n")


def connect(self, address):
    if not _allowed(address):
        _record(address)
        raise OSError(101, "network blocked by the test's network guard")
    return _connect(self, address)


def connect_ex(self, address):
    if not _allowed(address):
        _record(address)
        return 101
    return _connect_ex(self, address)


_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1", b"localhost"):
        try:
            ipaddress.ip_address(host if isinstance(host, str) else host.decode())
        except ValueError:
            _record(("getaddrinfo", host))
            raise socket.gaierror(-3, "name resolution blocked by the test's network guard")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
