#!/usr/bin/env python3
"""Regenerates redis-7.0.15-commands.resp3 from a real redis-server 7.0.15.

Usage: redis-server --port 7799 --save "" --daemonize yes
       python3 engine/testdata/command_golden.py 7799 > engine/testdata/redis-7.0.15-commands.resp3

For every command the server lists (COMMAND LIST, sorted; subcommands come
inside their container's replies), the file holds, one after another as
RESP3 frames: a simple string with the name (`+config`), then the server's
raw reply to
`COMMAND DOCS <name>`, then its raw reply to `COMMAND INFO <name>`, byte for
byte as received. The engine's unit tests (cmd/command/tests.rs) read it and
compare Keel's replies with it, without needing a server.
"""
import socket
import sys


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def call_raw(self, *args):
        """Sends a command; returns the raw bytes of its reply."""
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        while True:
            end = frame_end(self.buf, 0)
            if end is not None:
                raw, self.buf = self.buf[:end], self.buf[end:]
                return raw
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("server closed the connection")
            self.buf += data


def frame_end(buf, pos):
    """The offset just past the frame at `pos`, or None if incomplete."""
    eol = buf.find(b"\r\n", pos)
    if eol < 0:
        return None
    tag, head, pos = buf[pos:pos + 1], buf[pos + 1:eol], eol + 2
    if tag in b"$=!":
        n = int(head)
        if n < 0:
            return pos
        return pos + n + 2 if len(buf) >= pos + n + 2 else None
    if tag in b"*~>%|":
        n = int(head)
        count = 2 * n if tag in b"%|" else max(n, 0)
        for _ in range(count):
            pos = frame_end(buf, pos)
            if pos is None:
                return None
        return pos
    return pos


def bulks(raw):
    """The bulk strings of a flat array reply, decoded."""
    out, pos = [], raw.index(b"\r\n") + 2
    while pos < len(raw):
        eol = raw.index(b"\r\n", pos)
        n = int(raw[pos + 1:eol])
        out.append(raw[eol + 2:eol + 2 + n].decode())
        pos = eol + 2 + n + 2
    return out


def main():
    conn = Conn(int(sys.argv[1]))
    conn.call_raw("HELLO", "3")
    info = conn.call_raw("INFO", "server").decode()
    if "redis_version:7.0.15\r\n" not in info:
        sys.exit("this file is Redis 7.0.15's: the server is another version")
    out = sys.stdout.buffer
    names = bulks(conn.call_raw("COMMAND", "LIST"))
    for name in sorted(n for n in names if "|" not in n):
        out.write(b"+%s\r\n" % name.encode())
        out.write(conn.call_raw("COMMAND", "DOCS", name))
        out.write(conn.call_raw("COMMAND", "INFO", name))


if __name__ == "__main__":
    main()
