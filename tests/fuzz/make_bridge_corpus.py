#!/usr/bin/env python3
"""Writes the seed inputs of tests/fuzz/bridge_fuzz.cpp into tests/fuzz/corpus/bridge/.

Run from the repository root: python3 tests/fuzz/make_bridge_corpus.py
It rewrites the files named below (other files in the directory, e.g. reproducers, stay).

An input is one knob byte, then records. Knobs: bit 0 bootstrap server configured, 1 no
piggyback window, 2 short timers, 3 tight per-device limits, 4 two upstream sessions at most.
Records (selector byte % 10, then its arguments, as World::step in bridge_fuzz.cpp reads them):
  0 device_bytes      slot, length, RFC 8323 bytes
  1 device_bytes_big  slot, length // 16, length % 16, bytes
  2 device_answer     slot, which request (newest = 0), code index, flags, length [, payload]
  3 reconnect         slot
  4 core_request      peer, method (+flags; 0x10: a Block2 value byte follows), path index,
                      token, length, payload
  5 core_retransmit
  6 core_mode         style (0 piggyback, 1 separate, 2 reset, 3 hold), code override, flags
  7 core_release
  8 core_raw          peer, length, bytes
  9 advance
Slots: 0, 1 plain TCP; 2 plain TCP on a listener without plain registrations; 3 TLS-PSK "id-a"
(endpoint a); 4 TLS certificate CN "c", SANs d, b; 5 TLS without identity.
"""
import os
import struct

OUT = os.path.join("tests", "fuzz", "corpus", "bridge")

GET, POST, PUT, DELETE = 0x01, 0x02, 0x03, 0x04
URI_PATH, URI_QUERY, CONTENT_FORMAT, OBSERVE = 11, 15, 12, 6

DEVICE_BYTES, DEVICE_BIG, DEVICE_ANSWER, RECONNECT = 0, 1, 2, 3
CORE_REQUEST, CORE_RETRANSMIT, CORE_MODE, CORE_RELEASE, CORE_RAW, ADVANCE = 4, 5, 6, 7, 8, 9

# core_request method byte (low 3 bits) and path indexes, as in ScriptedCore::send_request
C_GET, C_OBSERVE, C_CANCEL, C_PUT, C_POST, C_DELETE = 0, 1, 2, 3, 4, 5
P_300, P_30, P_3, P_3013, P_101, P_501, P_304, P_BS = 0, 1, 2, 3, 4, 5, 6, 7


def nibble(value):
    if value < 13:
        return value, b""
    if value < 269:
        return 13, bytes([value - 13])
    return 14, struct.pack(">H", value - 269)


def options_bytes(options):
    out = b""
    last = 0
    for number, value in sorted(options, key=lambda o: o[0]):
        d, dext = nibble(number - last)
        l, lext = nibble(len(value))
        out += bytes([(d << 4) | l]) + dext + lext + value
        last = number
    return out


def tcp_frame(code, token=b"", options=(), payload=b""):
    """One RFC 8323 §3.2 frame."""
    body = options_bytes(options) + (b"\xff" + payload if payload else b"")
    n = len(body)
    if n < 13:
        head = bytes([(n << 4) | len(token)])
    elif n < 269:
        head = bytes([(13 << 4) | len(token), n - 13])
    else:
        head = bytes([(14 << 4) | len(token)]) + struct.pack(">H", n - 269)
    return head + bytes([code]) + token + body


def path(*segments):
    return [(URI_PATH, s.encode()) for s in segments]


def query(*params):
    return [(URI_QUERY, p.encode()) for p in params]


def device(slot, frame):
    assert len(frame) < 256
    return bytes([DEVICE_BYTES, slot, len(frame)]) + frame


def device_big(slot, frame):
    assert len(frame) < 4096
    return bytes([DEVICE_BIG, slot, len(frame) // 16, len(frame) % 16]) + frame


def register(slot, ep, token, extra=()):
    return device(slot, tcp_frame(POST, token, path("rd") + query("ep=" + ep, "lt=300", "b=T", *extra),
                                  b"</1/0>,</3/0>"))


def update(slot, location, token):
    return device(slot, tcp_frame(POST, token, path("rd", location)))


def deregister(slot, location, token):
    return device(slot, tcp_frame(DELETE, token, path("rd", location)))


def bootstrap_request(slot, ep, token):
    return device(slot, tcp_frame(POST, token, path("bs") + query("ep=" + ep)))


def core_request(method, path_index, token=0x01, payload=b"", peer=0, block2=None):
    """block2: the value of a Block2 option (NUM << 4 | M << 3 | SZX) to add."""
    if block2 is not None:
        return bytes([CORE_REQUEST, peer, method | 0x10, block2, path_index, token,
                      len(payload)]) + payload
    return bytes([CORE_REQUEST, peer, method, path_index, token, len(payload)]) + payload


def answer(slot, which=0, code=0, flags=0, payload=b"", big=None):
    """code: an index into World::device_answer's table, or >= 0x80 for class 2 + (code & 3),
    detail (code >> 2) & 31. big=n: a body of n * 16 'x' instead of `payload` (flags bit 7)."""
    if big is not None:
        return bytes([DEVICE_ANSWER, slot, which, code, flags | 0x80, big])
    return bytes([DEVICE_ANSWER, slot, which, code, flags, len(payload)]) + payload


def core_mode(style, override=0, flags=0):
    return bytes([CORE_MODE, style, override, flags])


SEEDS = {
    # Register, Update, De-register over plain TCP.
    "plain_register_update_deregister": bytes([0])
    + register(0, "x", b"\x01")
    + update(0, "1", b"\x02")
    + deregister(0, "1", b"\x03"),
    # TLS-PSK connection registering as its own endpoint, then one claiming another (4.03).
    "tls_register": bytes([0])
    + register(3, "a", b"\x11")
    + update(3, "1", b"\x12")
    + register(4, "b", b"\x13")
    + register(5, "z", b"\x14")
    + register(2, "y", b"\x15"),
    # The old remote crash: a bound plain connection sends a Bootstrap-Request, no bootstrap
    # server is configured (5.01 now; a null bootstrap CoreLink before).
    "bound_bootstrap_without_server": bytes([0])
    + register(0, "x", b"\x01")
    + bootstrap_request(0, "x", b"\x02"),
    # With a bootstrap server: Bootstrap-Request, the server's Write and Bootstrap-Finish, then
    # Register.
    "bootstrap_server": bytes([1])
    + bootstrap_request(0, "x", b"\x01")
    + core_request(C_PUT, P_101, 0x05, b"300")
    + answer(0, 0, 1)
    + core_request(C_POST, P_BS, 0x06)
    + answer(0, 0, 1)
    + register(0, "x", b"\x02"),
    # Two connections of one endpoint: the newer accepted one carries downlinks; it drops.
    "two_connections": bytes([0])
    + register(0, "x", b"\x01")
    + update(1, "1", b"\x02")
    + core_request(C_GET, P_300, 0x07)
    + answer(1, 0, 0, 0, b"lwgate")
    + bytes([RECONNECT, 1])
    + core_request(C_GET, P_30, 0x08)
    + answer(0, 0, 0, 0, b"v"),
    # Core Read and Observe, notifications, a notification the core rejects, the cancel.
    "core_read_observe": bytes([0])
    + register(0, "x", b"\x01")
    + core_request(C_GET, P_300, 0x02)
    + answer(0, 0, 0, 2, b"lwgate")
    + core_request(C_OBSERVE, P_3013, 0x03)
    + answer(0, 0, 0, 1, b"1000")
    + answer(0, 0, 0, 1, b"1001")
    + answer(0, 0, 0, 1, b"1002")
    + core_mode(0, 0, 1)
    + answer(0, 0, 0, 1, b"1003")
    + core_mode(0)
    + core_request(C_OBSERVE, P_300, 0x04)
    + answer(0, 0, 0, 1, b"7")
    + core_request(C_CANCEL, P_300, 0x04)
    + answer(0, 0, 0, 0, b"7"),
    # Queue mode: the core's request waits while the device is away, goes out on its Update.
    "queue_mode_held": bytes([2])
    + register(0, "q", b"\x01", ("Q",))
    + bytes([RECONNECT, 0])
    + core_request(C_GET, P_300, 0x09)
    + core_request(C_PUT, P_304, 0x0a, b"x")
    + update(0, "1", b"\x02")
    + answer(0, 1, 0, 0, b"q")
    + answer(0, 0, 1),
    # The core answering late, separately, with RST and with error codes; a big answer that
    # lwgate slices into Block2; a retransmitted request of the core.
    "core_styles_block2": bytes([0])
    + core_mode(3)
    + register(0, "x", b"\x01")
    + bytes([CORE_RELEASE])
    + core_mode(1)
    + update(0, "1", b"\x02")
    + core_request(C_GET, P_30, 0x03)
    + bytes([CORE_RETRANSMIT])
    + answer(0, 0, 0, 0, big=100)
    + core_request(C_GET, P_30, 0x03, block2=0x16)
    + core_mode(2)
    + update(0, "1", b"\x04")
    + core_mode(0, 1)
    + update(0, "1", b"\x05"),
    # Short timers: a Read the device never answers times out (5.04) after an advance.
    "short_timers_timeout": bytes([4 | 8])
    + register(0, "x", b"\x01")
    + core_request(C_GET, P_300, 0x02)
    + bytes([ADVANCE])
    + core_request(C_GET, P_30, 0x03)
    + core_request(C_GET, P_3, 0x04)
    + answer(0, 0, 0, 0, b"late"),
    # A device's 1500-byte Send: lwgate slices it into Block1 blocks toward the core (2.31 for
    # each but the last); then a 2600-byte Read answer the core fetches block by block (Block2).
    "block1_block2": bytes([0])
    + register(0, "x", b"\x01")
    + device_big(0, tcp_frame(POST, b"\x02", path("dp") + [(CONTENT_FORMAT, b"\x2d\x16")],
                              bytes(range(256)) * 5 + b"end" * 80))
    + core_request(C_GET, P_30, 0x03)
    + answer(0, 0, 0, 0, big=160)
    + core_request(C_GET, P_30, 0x04, block2=0x16)
    + core_request(C_GET, P_30, 0x05, block2=0x26),
    # connections.max_registrations: room for two upstream sessions; the third endpoint is
    # refused (5.03) until one goes.
    "session_limit": bytes([16])
    + register(0, "x", b"\x01")
    + register(1, "y", b"\x02")
    + register(3, "a", b"\x03")
    + deregister(0, "1", b"\x04")
    + register(3, "a", b"\x05"),
    # A long day of one device and a few others: raises libFuzzer's initial length limit (the
    # longest seed) so that mutations may build long sequences from the start.
    "long_sequence": bytes([2])
    + register(0, "x", b"\x01", ("Q",))
    + register(3, "a", b"\x02")
    + register(4, "b", b"\x03")
    + core_request(C_OBSERVE, P_3013, 0x04)
    + answer(0, 0, 0, 1, b"1")
    + core_request(C_OBSERVE, P_300, 0x05, peer=1)
    + answer(3, 0, 0, 1, b"2")
    + bytes([RECONNECT, 0])
    + core_request(C_GET, P_304, 0x06)
    + update(0, "1", b"\x07")
    + answer(0, 0, 0, 0, b"held")
    + answer(0, 1, 0, 1, b"3")
    + core_mode(3)
    + update(3, "2", b"\x08")
    + device(4, tcp_frame(POST, b"\x09", path("dp"), b"send"))
    + bytes([CORE_RELEASE])
    + core_mode(1)
    + answer(3, 0, 0, 1, b"4")
    + core_request(C_CANCEL, P_300, 0x05, peer=1)
    + answer(3, 0, 0, 0, b"5")
    + bytes([CORE_RETRANSMIT])
    + core_mode(0, 1)
    + update(4, "3", b"\x0a")
    + core_mode(0)
    + bytes([RECONNECT, 3])
    + update(3, "2", b"\x0b")
    + deregister(0, "1", b"\x0c")
    + bytes([CORE_RAW, 0, 4, 0x40, 0x01, 0x12, 0x34])
    + register(0, "x", b"\x0d")
    + core_request(C_DELETE, P_101, 0x0e)
    + answer(0, 0, 3)
    + deregister(3, "2", b"\x0f")
    + deregister(4, "3", b"\x10"),
    # Found by this fuzzer (crashes today): a device answers the core's Read with 5.08 (Hop Limit
    # Reached) and a 256-byte body. lwgate relays it; libcoap 4.3.1's coap_send() treats a 5.08
    # as a proxy's and NUL-terminates the payload after checking the PDU's max_size, not its
    # allocated size: one byte written past the heap buffer, then strstr() reads beyond it.
    "crash_device_508_response": bytes([0])
    + register(0, "x", b"\x01")
    + core_request(C_GET, P_300, 0x02)
    + answer(0, 0, 0xA3, 0, big=16),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
