// lwgate-bench: load generator and measurement for lwgate (docs/performance.md).
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "src/fleet_worker.hpp"
#include "src/floor_forwarder.hpp"
#include "src/scenarios.hpp"

int main(int argc, char** argv) {
    using namespace lwgate::bench;
    // The floor forwarder's own process, started by the relay and uplink scenarios.
    if (argc == 5 && std::string(argv[1]) == "--floor-forwarder") {
        try {
            return run_floor_forwarder(static_cast<std::uint16_t>(std::stoul(argv[2])),
                                       static_cast<std::uint16_t>(std::stoul(argv[3])),
                                       static_cast<unsigned>(std::stoul(argv[4])));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "lwgate-bench --floor-forwarder PORT CORE_PORT THREADS: %s\n",
                         e.what());
            return 2;
        }
    }
    // A fleet worker's own process, started by the cluster scenario (fleet_worker.hpp).
    if (argc >= 2 && std::string(argv[1]) == "--fleet-worker") {
        std::signal(SIGPIPE, SIG_IGN);
        try {
            return run_fleet_worker(argc - 2, argv + 2);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "lwgate-bench --fleet-worker: %s\n", e.what());
            return 2;
        }
    }
    BenchOptions o;
    std::string scenario;
    CLI::App cli{
        "lwgate-bench: starts lwgate with a generated configuration (port 0 listeners), a fast UDP "
        "LwM2M core and N simulated TCP/TLS devices, and measures a scenario:\n"
        "  hold    N devices registered and idle with keepalive running: lwgate RSS per device, "
        "idle CPU\n"
        "  relay   core -> device Reads through lwgate vs the same core and devices over plain UDP "
        "(ratio), peak and at half of the peak rate; and through the floor forwarder\n"
        "  uplink  device -> core POST /dp through lwgate vs libcoap's coap-server -P forwarding "
        "proxy (ratio); and through the floor forwarder\n"
        "  storm   N registered and observed devices reset and reconnect at once: time until all "
        "are updated and re-observed, refusals\n"
        "  tls     hold and relay with TLS-PSK devices\n"
        "  cluster K lwgate instances on one Redis (started by the bench) and one reuse_port "
        "listener, N devices in fleet worker processes: memory per device (lwgate, Redis, "
        "kernel), kill -9 of one instance and the takeover of its devices, relay with 1, 2, K "
        "instances\n"
        "  credentials  lwgate with N imported credentials: import rate, memory per entry, "
        "TLS-PSK handshakes/s with 1 entry vs N (ratio), restart time\n"
        "  wirecost  the IP bytes per day of keeping one device reachable, captured on loopback "
        "with tshark: CoAP over TCP and TLS-PSK through lwgate at --ping-interval (keepalive.idle) "
        "vs CoAP over UDP, DTLS-PSK with a full handshake and DTLS-PSK resuming, refreshing every "
        "--refresh-interval (ratios), and lwgate's own estimate next to the capture\n"
        "  all     every scenario but cluster in turn (with --smoke: exit 1 if one does not "
        "work)\n"
        "The floor forwarder is the least a TCP<->UDP CoAP gateway must do (framing translation, "
        "Message IDs, CSM/Ping; no retransmission, state or TLS) on plain epoll: an estimate of "
        "what any gateway could reach on this machine. It runs as its own process with "
        "--gateway-threads threads.\n",
        "lwgate-bench"};
    cli.add_option("scenario", scenario,
                   "hold | relay | uplink | storm | tls | cluster | credentials | wirecost | all")
        ->required()
        ->check(CLI::IsMember({"hold", "relay", "uplink", "storm", "tls", "cluster", "credentials",
                               "wirecost", "all"}));
    cli.add_option("--lwgate", o.lwgate, "lwgate binary")->capture_default_str();
    cli.add_option("--lwgatectl", o.lwgatectl, "lwgatectl binary (credentials)")
        ->capture_default_str();
    cli.add_option("-n,--devices", o.devices, "simulated devices")->capture_default_str();
    cli.add_option("-d,--duration", o.duration, "seconds per measured phase")
        ->capture_default_str();
    cli.add_option("--warmup", o.warmup, "seconds before each measured phase")
        ->capture_default_str();
    cli.add_option("-w,--window", o.window,
                   "requests in flight in closed-loop phases (0: min(devices, 256))")
        ->capture_default_str();
    cli.add_option("-r,--rate", o.rate, "open-loop Reads/s (0: half of the measured peak)")
        ->capture_default_str();
    cli.add_option("-p,--payload", o.payload, "bytes per Read answer / uplink")
        ->capture_default_str();
    cli.add_option("--connect-rate", o.connect_rate, "device connections per second")
        ->capture_default_str();
    cli.add_option("--accept-rate", o.accept_rate, "lwgate connections.accept_rate")
        ->capture_default_str();
    cli.add_option("--ping-interval", o.ping_interval, "lwgate keepalive.idle")
        ->capture_default_str();
    cli.add_option("--refresh-interval", o.refresh_interval,
                   "wirecost: seconds between the Updates that keep a UDP or DTLS device's NAT "
                   "binding open")
        ->capture_default_str();
    cli.add_option("--piggyback-window", o.piggyback_window,
                   "lwgate upstream.piggyback_window (default: lwgate's, 500ms; 0s: empty ACK at "
                   "once and a separate response, as before it existed)");
    cli.add_option("--gateway-threads", o.gateway_threads, "lwgate threads")->capture_default_str();
    cli.add_option("--device-threads", o.device_threads, "device simulator threads")
        ->capture_default_str();
    cli.add_option("--coap-server", o.coap_server, "libcoap server used as forwarding proxy")
        ->capture_default_str();
    cli.add_option("--log-level", o.log_level, "lwgate log.level")->capture_default_str();
    cli.add_option("--half-open", o.half_open,
                   "hold: after the idle phase this many devices go half-open; checks that "
                   "lwgate closes them within idle + pong_timeout + 1 s")
        ->capture_default_str();
    cli.add_option("--settle-timeout", o.settle_timeout,
                   "seconds to wait for registrations (0: derived from the device count)");
    cli.add_flag("--no-floor", o.skip_floor,
                 "relay, uplink: skip the phases through the floor forwarder");
    cli.add_flag("--smoke", o.smoke, "exit 1 when a scenario does not work at all");
    cli.add_option("--callgrind", o.callgrind,
                   "run lwgate under valgrind's callgrind (dumps go to this directory) and report "
                   "its user-space instructions per relayed Read / uplink during the measured "
                   "phases: exact before/after comparisons on a noisy machine (lwgate runs ~50x "
                   "slower; e.g. relay -n 200 -w 32 -d 8 --warmup 2)")
        ->check(CLI::ExistingDirectory);
    cli.add_option("--instances", o.instances,
                   "cluster: lwgate instances (0: <= 9,000 devices each, and the survivors of the "
                   "kill <= 9,500 each; at least 2)")
        ->capture_default_str();
    cli.add_option("--devices-per-worker", o.devices_per_worker,
                   "cluster: devices per fleet worker process (one descriptor each)")
        ->capture_default_str();
    cli.add_option("--relay-devices", o.relay_devices,
                   "cluster: devices of the relay phase with 1, 2 and K instances")
        ->capture_default_str();
    cli.add_flag("--own-ports", o.own_ports,
                 "cluster: each instance on a port of its own, the devices spread over them by "
                 "the bench (a device whose connection dropped moves to another instance), "
                 "instead of one shared reuse_port port spread by the kernel");
    CLI11_PARSE(cli, argc, argv);

    std::signal(SIGPIPE, SIG_IGN);
    const std::size_t fds = raise_fd_limit();
    // lwgate holds two descriptors per registered device (its TCP connection and its UDP
    // socket toward the core); the bench holds one per device.
    const bool own_fleet =
        scenario == "cluster" || scenario == "credentials" || scenario == "wirecost";
    if (o.devices * 2 + 100 > fds && !own_fleet) {
        std::printf(
            "warning: RLIMIT_NOFILE is %zu (and cannot be raised here): lwgate needs two "
            "descriptors per registered device, so at most ~%zu devices can register\n",
            fds, (fds - 100) / 2);
    }
    bool ok = true;
    try {
        if (scenario == "credentials") {
            const bool r = run_credentials(o);
            if (!r) std::printf("SCENARIO credentials: did not complete\n");
            return o.smoke && !r ? 1 : 0;
        }
        if (scenario == "wirecost") {
            const bool r = run_wirecost(o);
            if (!r) std::printf("SCENARIO wirecost: did not complete\n");
            return o.smoke && !r ? 1 : 0;
        }
        if (scenario == "cluster") {
            const bool r = run_cluster(o);
            if (!r) std::printf("SCENARIO cluster: did not complete\n");
            return o.smoke && !r ? 1 : 0;
        }
        auto run = [&](const std::string& s) {
            if (scenario == s || scenario == "all") {
                bool r = false;
                if (s == "hold") r = run_hold(o, false);
                if (s == "relay") r = run_relay(o, false, true);
                if (s == "uplink") r = run_uplink(o);
                if (s == "storm") r = run_storm(o);
                if (s == "tls") r = run_hold(o, true) && run_relay(o, true, false);
                if (!r) std::printf("SCENARIO %s: did not complete\n", s.c_str());
                ok = ok && r;
            }
        };
        for (const char* s : {"hold", "relay", "uplink", "storm", "tls"})
            run(s);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lwgate-bench: %s\n", e.what());
        return 2;
    }
    return o.smoke && !ok ? 1 : 0;
}
