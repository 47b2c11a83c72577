// lwgate integration-test harness: drive the real `lwgate` binary with real peers.
//
// This library is what integration tests, and later the device and core simulators, build on.
// It talks to the gateway only through its public surfaces (command line, YAML configuration,
// stdout readiness lines, stderr log, TCP sockets), never through its internals, so a test written
// with it exercises exactly what an operator and a device see.
//
//   TempDir          a unique scratch directory, removed on destruction.
//   GatewayConfig    a test-friendly YAML configuration (port 0 on loopback, short timers).
//   GatewayProcess   starts `lwgate --config FILE`, learns its ports from the `listening ...`
//                    lines, waits for `ready`; signals, exit status, stderr log and sanitizer
//                    reports. Its destructor SIGKILLs and reaps whatever is left.
//   DeviceClient     a blocking RFC 8323 CoAP-over-TCP client built on the project's own codec
//                    (lwgate::coap) and the shared device side (tools/device): CSM handshake,
//                    Ping/Pong, raw bytes, FIN vs RST detection.
//   run_process      runs a program (e.g. coap-client-openssl) with a hard time limit.
//
// Ground rules every part follows:
//  - Every blocking call takes a timeout and waits with poll(2) against a steady_clock deadline;
//    nothing sleeps for a fixed time. (The one bounded polling loop is the fallback of
//    GatewayProcess::wait_for_log when inotify is unavailable; see there.)
//  - Loopback only and port 0 only: the gateway picks its ports, the harness reads them, so any
//    number of tests can run in parallel.
//  - Setup failures (cannot spawn, gateway never becomes ready, connect refused) throw
//    HarnessError with enough context (including the gateway log) to diagnose them; outcomes a
//    test asserts on (a message arrived or not, the connection closed or not, an exit status)
//    are returned as values (std::optional, enums), never thrown.
//  - Objects are single-threaded: one thread uses a DeviceClient at a time (hand it to a helper
//    thread and join before touching it again).
//
// Typical use:
//
//   lwgate::harness::GatewayConfig cfg;
//   cfg.keepalive_idle = "500ms";
//   lwgate::harness::GatewayProcess gw;
//   gw.start(LWGATE_BINARY, cfg.yaml());
//   lwgate::harness::DeviceClient dev;
//   dev.connect("127.0.0.1", gw.port());
//   auto csm = dev.handshake_csm();          // our CSM out, the gateway's CSM in
//   auto pong = dev.ping(Token::from_u64(7));
//   gw.signal(SIGTERM);
//   auto status = gw.wait_exit(std::chrono::seconds(5));
#pragma once

#include "lwgate/harness/device_client.hpp"
#include "lwgate/harness/error.hpp"
#include "lwgate/harness/gateway_config.hpp"
#include "lwgate/harness/gateway_process.hpp"
#include "lwgate/harness/process.hpp"
#include "lwgate/harness/temp_dir.hpp"
