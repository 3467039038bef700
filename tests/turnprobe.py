"""A minimal TURN client that asks coturn questions and never relays a byte.

It sends Allocate, CreatePermission and Refresh requests with long-term credentials (RFC
8656) over UDP or TCP to a coturn on this machine, and reads the answers: a refusal is
proven by coturn's error response alone. It has no Send indication, no ChannelBind and
no ChannelData, so nothing it does sends a packet to a peer address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass

MAGIC = 0x2112A442
ALLOCATE, REFRESH, CREATE_PERMISSION = 0x003, 0x004, 0x008
ERROR_CLASS, SUCCESS_CLASS = 0x110, 0x100
A_USERNAME, A_INTEGRITY, A_ERROR, A_LIFETIME = 0x0006, 0x0008, 0x0009, 0x000D
A_PEER, A_REALM, A_NONCE, A_RELAYED = 0x0012, 0x0014, 0x0015, 0x0016
A_FAMILY, A_TRANSPORT, A_FINGERPRINT = 0x0017, 0x0019, 0x8028
UDP, TCP = 17, 6


@dataclass
class Answer:
    """A STUN response: 0 for success, else the error code; the attributes it carried."""

    code: int
    attributes: dict[int, bytes]

    @property
    def reason(self) -> str:
        value = self.attributes.get(A_ERROR, b"")
        return value[4:].decode("utf-8", "replace")


def _attr(kind: int, value: bytes) -> bytes:
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def _xor_address(ip: str, port: int, tid: bytes) -> bytes:
    addr = ipaddress.ip_address(ip)
    xport = port ^ (MAGIC >> 16)
    key = struct.pack("!I", MAGIC) + (tid if addr.version == 6 else b"")
    raw = addr.packed
    masked = bytes(a ^ b for a, b in zip(raw, key[: len(raw)], strict=True))
    return struct.pack("!BBH", 0, 1 if addr.version == 4 else 2, xport) + masked


def _parse(data: bytes) -> tuple[int, bytes, dict[int, bytes]]:
    kind, length, _magic = struct.unpack("!HHI", data[:8])
    tid = data[8:20]
    attributes: dict[int, bytes] = {}
    pos = 20
    while pos + 4 <= 20 + length:
        a_kind, a_len = struct.unpack("!HH", data[pos : pos + 4])
        attributes.setdefault(a_kind, data[pos + 4 : pos + 4 + a_len])
        pos += 4 + a_len + (4 - a_len % 4) % 4
    return kind, tid, attributes


class TurnProbe:
    """One TURN control connection (UDP or TCP) to ``server`` with REST-API credentials."""

    def __init__(
        self, server: tuple[str, int], username: str, password: str, transport: str = "udp"
    ) -> None:
        self.server = server
        self.username = username
        self.password = password
        self.transport = transport
        self.realm = b""
        self.nonce = b""
        self.allocated = False
        self._sock: socket.socket | None = None

    def __enter__(self) -> TurnProbe:
        family = socket.AF_INET6 if ":" in self.server[0] else socket.AF_INET
        kind = socket.SOCK_DGRAM if self.transport == "udp" else socket.SOCK_STREAM
        self._sock = socket.socket(family, kind)
        self._sock.settimeout(2.0)
        if self.transport == "tcp":
            self._sock.connect(self.server)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sock is not None:
            if self.allocated:
                try:
                    self.release()
                except (OSError, TimeoutError):
                    pass
            self._sock.close()
            self._sock = None

    def _key(self) -> bytes:
        text = f"{self.username}:{self.realm.decode()}:{self.password}"
        return hashlib.md5(text.encode()).digest()

    def _message(self, method: int, attributes: list[tuple[int, bytes]], tid: bytes) -> bytes:
        body = b"".join(_attr(k, v) for k, v in attributes)
        if self.realm:
            body += _attr(A_USERNAME, self.username.encode())
            body += _attr(A_REALM, self.realm) + _attr(A_NONCE, self.nonce)
            head = struct.pack("!HHI", method, len(body) + 24, MAGIC) + tid
            digest = hmac.new(self._key(), head + body, hashlib.sha1).digest()
            body += _attr(A_INTEGRITY, digest)
        return struct.pack("!HHI", method, len(body), MAGIC) + tid + body

    def _exchange(self, data: bytes, tid: bytes) -> bytes:
        sock = self._sock
        assert sock is not None
        for _ in range(3):
            if self.transport == "udp":
                sock.sendto(data, self.server)
            else:
                sock.sendall(data)
            try:
                while True:
                    reply = self._receive(sock)
                    if reply[8:20] == tid:
                        return reply
            except TimeoutError:
                if self.transport == "tcp":
                    raise
        raise TimeoutError(f"no answer from {self.server}")

    def _receive(self, sock: socket.socket) -> bytes:
        if self.transport == "udp":
            return sock.recv(4096)
        head = _read_exactly(sock, 20)
        length = struct.unpack("!H", head[2:4])[0]
        return head + _read_exactly(sock, length)

    def request(self, method: int, attributes: list[tuple[int, bytes]]) -> Answer:
        """One transaction; a 401/438 asking for (fresh) credentials is answered once."""
        for _ in range(2):
            tid = os.urandom(12)
            kind, _, attrs = _parse(self._exchange(self._message(method, attributes, tid), tid))
            if kind & 0x110 == SUCCESS_CLASS:
                return Answer(0, attrs)
            err = attrs.get(A_ERROR, b"\0\0\0\0")
            code = (err[2] & 0x7) * 100 + err[3]
            if code in (401, 438) and A_NONCE in attrs:
                self.realm = attrs.get(A_REALM, self.realm)
                self.nonce = attrs[A_NONCE]
                continue
            return Answer(code, attrs)
        return Answer(code, attrs)

    def allocate(self, family: int = 4, transport: int = UDP) -> Answer:
        """Allocate a relay of IP ``family`` (4 or 6) and ``transport`` (UDP, or TCP: RFC 6062)."""
        attributes = [(A_TRANSPORT, struct.pack("!B3x", transport))]
        if family == 6:
            attributes.append((A_FAMILY, struct.pack("!B3x", 2)))
        answer = self.request(ALLOCATE, attributes)
        self.allocated = self.allocated or answer.code == 0
        return answer

    def permit(self, peer: str) -> Answer:
        """CreatePermission for ``peer``: coturn answers, and sends nothing to the peer.

        (The XOR-PEER-ADDRESS of an IPv6 peer depends on the transaction id, so the
        attribute is built per transaction.)
        """
        for _ in range(2):
            tid = os.urandom(12)
            attributes = [(A_PEER, _xor_address(peer, 9, tid))]
            reply = self._exchange(self._message(CREATE_PERMISSION, attributes, tid), tid)
            kind, _, attrs = _parse(reply)
            if kind & 0x110 == SUCCESS_CLASS:
                return Answer(0, attrs)
            err = attrs.get(A_ERROR, b"\0\0\0\0")
            code = (err[2] & 0x7) * 100 + err[3]
            if code == 438 and A_NONCE in attrs:
                self.nonce = attrs[A_NONCE]
                continue
            return Answer(code, attrs)
        return Answer(code, attrs)

    def release(self) -> Answer:
        """Refresh with lifetime 0: give the allocation back."""
        self.allocated = False
        return self.request(REFRESH, [(A_LIFETIME, struct.pack("!I", 0))])


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("coturn closed the connection")
        data += chunk
    return data
