#!/usr/bin/env python3
"""Client side of firewall_test.sh: what a player, a scanner and the agent see of a game server.

  firewall_probe.py a2s HOST PORT            the server's name over A2S_INFO, and the DSCP class
                                             of its reply ("name=... dscp=46")
  firewall_probe.py rcon HOST PORT PASSWORD  "refused", or the answer to `status` over RCON
"""
import socket
import struct
import sys

A2S_INFO = b"\xff\xff\xff\xffTSource Engine Query\x00"


def a2s(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
        s.settimeout(2)
        s.sendto(A2S_INFO, (host, port))
        reply, tos = receive(s)
        if reply[4:5] == b"A":  # S2C_CHALLENGE: ask again with it
            s.sendto(A2S_INFO + reply[5:9], (host, port))
            reply, tos = receive(s)
        if reply[4:5] != b"I":
            raise SystemExit(f"unexpected A2S reply {reply[:8]!r}")
        name = reply[6:reply.index(b"\x00", 6)].decode()
        print(f"name={name} dscp={tos >> 2}")


def receive(s):
    data, ancillary, _, _ = s.recvmsg(1400, socket.CMSG_SPACE(4))
    tos = 0
    for level, kind, value in ancillary:
        if level == socket.IPPROTO_IP and kind == socket.IP_TOS:
            tos = value[0]
    return data, tos


def packet(request_id, kind, body):
    payload = struct.pack("<ii", request_id, kind) + body.encode() + b"\x00\x00"
    return struct.pack("<i", len(payload)) + payload


def read_packet(s):
    size = struct.unpack("<i", read_exactly(s, 4))[0]
    payload = read_exactly(s, size)
    request_id, kind = struct.unpack("<ii", payload[:8])
    return request_id, kind, payload[8:-2].decode(errors="replace")


def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise SystemExit("connection closed")
        data += chunk
    return data


def rcon(host, port, password):
    try:
        s = socket.create_connection((host, port), timeout=2)
    except ConnectionRefusedError:
        print("refused")
        return
    with s:
        s.sendall(packet(1, 3, password))  # SERVERDATA_AUTH
        while True:
            request_id, kind, _ = read_packet(s)
            if kind == 2:  # SERVERDATA_AUTH_RESPONSE
                break
        if request_id != 1:
            raise SystemExit("RCON password refused")
        s.sendall(packet(2, 2, "status"))  # SERVERDATA_EXECCOMMAND
        _, _, body = read_packet(s)
        print(body)


if __name__ == "__main__":
    if sys.argv[1] == "a2s":
        a2s(sys.argv[2], int(sys.argv[3]))
    else:
        rcon(sys.argv[2], int(sys.argv[3]), sys.argv[4])
