#!/usr/bin/python3
"""The original SunOye's messaging stack, for the comparison benchmarks.

The Python student project that SunOye replaces sent chat messages as plain
text "name->>text" to the topic "sunoye/room/N" with paho-mqtt, QoS 0, and
showed what its subscription received. This script does the same with two
clients (a sender and a receiver, as two users would) over the broker the
benchmark gives it, and measures on its own clock:

    python3 original_stack.py --host 127.0.0.1 --port 1883 --room 123456789 --qos 0

It then reads commands from standard input, one a line, and answers each
with one JSON line on standard output:

    lat            one message: publish, wait until the receiver has it
                   -> {"us": 412.3}
    burst N        N messages published back to back; the time from the
                   first publish to the last receipt
                   -> {"secs": 0.21, "received": N}
    quit           disconnect and exit

A message that does not arrive within 30 s ends the script with an error
on standard error and exit status 1. Written for Debian's python3-paho-mqtt
(1.6); paho-mqtt 2 works too.
"""

import argparse
import json
import os
import sys
import threading
import time

import paho.mqtt
import paho.mqtt.client as mqtt

TIMEOUT = 30.0
TEXT = "a short chat message of about the usual length, nothing more"


def new_client(client_id):
    # paho-mqtt 2 wants the callback API version; 1.6 has no such argument.
    if hasattr(mqtt, "CallbackAPIVersion"):
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id)
    return mqtt.Client(client_id=client_id)


class Receiver:
    """Counts what arrives and wakes whoever waits for a count."""

    def __init__(self):
        self.cond = threading.Condition()
        self.count = 0
        self.last = 0.0  # perf_counter of the latest receipt

    def on_message(self, client, userdata, msg):
        now = time.perf_counter()
        with self.cond:
            self.count += 1
            self.last = now
            self.cond.notify_all()

    def wait_for(self, count):
        deadline = time.monotonic() + TIMEOUT
        with self.cond:
            while self.count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    sys.exit("original_stack.py: %d of %d messages arrived within %.0f s" % (self.count, count, TIMEOUT))
                self.cond.wait(left)
            return self.last


def connect(client, host, port, on_connect=None):
    connected = threading.Event()

    def handler(c, userdata, flags, rc):
        if rc != 0:
            sys.exit("original_stack.py: connect refused: rc=%d" % rc)
        if on_connect:
            on_connect(c)
        else:
            connected.set()

    client.on_connect = handler
    client.connect(host, port, keepalive=60)
    client.loop_start()
    return connected


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--room", required=True)
    ap.add_argument("--qos", type=int, choices=(0, 1), default=0)
    ap.add_argument("--name", default="Asha")
    args = ap.parse_args()

    topic = "sunoye/room/" + args.room
    payload = (args.name + "->>" + TEXT).encode()
    tag = "%d-%s" % (os.getpid(), args.room)

    recv = Receiver()
    sub = new_client("orig-sub-" + tag)
    sub.on_message = recv.on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda c, userdata, mid, granted: subscribed.set()
    connect(sub, args.host, args.port, on_connect=lambda c: c.subscribe(topic, args.qos))
    pub = new_client("orig-pub-" + tag)
    pub_ready = connect(pub, args.host, args.port)
    if not subscribed.wait(TIMEOUT) or not pub_ready.wait(TIMEOUT):
        sys.exit("original_stack.py: could not connect and subscribe within %.0f s" % TIMEOUT)

    print(json.dumps({"ready": True, "paho": getattr(paho.mqtt, "__version__", "unknown")}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "lat":
            want = recv.count + 1
            t0 = time.perf_counter()
            pub.publish(topic, payload, qos=args.qos)
            t1 = recv.wait_for(want)
            out = {"us": (t1 - t0) * 1e6}
        elif cmd[0] == "burst":
            n = int(cmd[1])
            want = recv.count + n
            t0 = time.perf_counter()
            for _ in range(n):
                pub.publish(topic, payload, qos=args.qos)
            t1 = recv.wait_for(want)
            out = {"secs": t1 - t0, "received": n}
        elif cmd[0] == "quit":
            break
        else:
            sys.exit("original_stack.py: unknown command %r" % line)
        print(json.dumps(out), flush=True)

    pub.disconnect()
    sub.disconnect()
    pub.loop_stop()
    sub.loop_stop()


if __name__ == "__main__":
    main()
