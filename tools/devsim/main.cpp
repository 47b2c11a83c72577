// lwm2m-device-sim: one or many simulated LwM2M devices speaking CoAP over TCP/TLS (RFC 8323).
//
//   lwm2m-device-sim --endpoint EP --uri coap+tcp://127.0.0.1:5683
//                    [--psk-identity ID --psk-key HEX] [--lifetime 300] [--queue] [--count N]
//
// Registers (N devices named EP-0 .. EP-(N-1) when --count > 1), prints one line per event
// (registered, request received, notification sent, ...), answers requests from the default
// object model (/3/0 Device with a current-time resource /3/0/13 that ticks every second and
// notifies its observers, /5/0/0 a 64 KiB opaque resource for block-wise tests), re-registers
// when a registration fails or the connection drops, sends an Update every lifetime/2, and runs
// until SIGINT/SIGTERM, then de-registers and exits 0.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwgate/coap/code.hpp"
#include "lwgate/devsim/coap_util.hpp"
#include "lwgate/devsim/device_simulator.hpp"

namespace {

using namespace std::chrono_literals;
using lwgate::devsim::DeviceOptions;
using lwgate::devsim::DeviceSimulator;
using lwgate::devsim::Result;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: lwm2m-device-sim --endpoint EP [--uri coap+tcp://HOST:PORT | coaps+tcp://HOST:PORT]\n"
    "                        [--psk-identity ID --psk-key HEX]\n"
    "                        [--cert FILE --key FILE] [--ca FILE]\n"
    "                        [--lifetime SECONDS] [--queue] [--lwm2m 1.1|1.0] [--count N]\n"
    "                        [--threads N] [--no-csm] [--max-message-size BYTES]\n"
    "                        [--retry SECONDS]\n"
    "Registers the device(s), answers requests, ticks /3/0/13 every second (notifying\n"
    "observers) and de-registers on SIGINT/SIGTERM. Default URI coap+tcp://127.0.0.1:5683.\n";

std::mutex print_mutex;

void print_line(const std::string& endpoint, const std::string& text) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    localtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::lock_guard lock(print_mutex);
    std::printf("%s.%03lld %s %s\n", stamp, static_cast<long long>(ms), endpoint.c_str(),
                text.c_str());
    std::fflush(stdout);
}

struct Args {
    std::string endpoint;
    std::string uri = "coap+tcp://127.0.0.1:5683";
    std::string psk_identity;
    std::string psk_key_hex;
    std::string cert, key, ca;
    std::uint32_t lifetime = 300;
    bool queue = false;
    std::string lwm2m = "1.1";
    unsigned count = 1;
    unsigned threads = 0;
    bool no_csm = false;
    std::uint32_t max_message_size = 1152;
    unsigned retry_seconds = 5;
};

std::optional<unsigned long> to_number(std::string_view s) {
    if (s.empty()) return std::nullopt;
    unsigned long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned long>(c - '0');
        if (v > 0xffffffffUL) return std::nullopt;
    }
    return v;
}

std::optional<Args> parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= argc) {
                std::cerr << "lwm2m-device-sim: " << arg << " needs a value\n";
                return std::nullopt;
            }
            return std::string(argv[++i]);
        };
        auto number = [&](auto& out) -> bool {
            auto v = value();
            if (!v) return false;
            auto n = to_number(*v);
            if (!n) {
                std::cerr << "lwm2m-device-sim: " << arg << ": not a number: " << *v << "\n";
                return false;
            }
            out = static_cast<std::remove_reference_t<decltype(out)>>(*n);
            return true;
        };
        auto text = [&](std::string& out) -> bool {
            auto v = value();
            if (!v) return false;
            out = *v;
            return true;
        };
        bool ok = true;
        if (arg == "--endpoint") {
            ok = text(a.endpoint);
        } else if (arg == "--uri") {
            ok = text(a.uri);
        } else if (arg == "--psk-identity") {
            ok = text(a.psk_identity);
        } else if (arg == "--psk-key") {
            ok = text(a.psk_key_hex);
        } else if (arg == "--cert") {
            ok = text(a.cert);
        } else if (arg == "--key") {
            ok = text(a.key);
        } else if (arg == "--ca") {
            ok = text(a.ca);
        } else if (arg == "--lifetime") {
            ok = number(a.lifetime);
        } else if (arg == "--queue") {
            a.queue = true;
        } else if (arg == "--lwm2m") {
            ok = text(a.lwm2m);
        } else if (arg == "--count") {
            ok = number(a.count);
        } else if (arg == "--threads") {
            ok = number(a.threads);
        } else if (arg == "--no-csm") {
            a.no_csm = true;
        } else if (arg == "--max-message-size") {
            ok = number(a.max_message_size);
        } else if (arg == "--retry") {
            ok = number(a.retry_seconds);
        } else if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            std::exit(0);
        } else {
            std::cerr << "lwm2m-device-sim: unknown argument " << arg << "\n";
            ok = false;
        }
        if (!ok) return std::nullopt;
    }
    if (a.endpoint.empty()) {
        std::cerr << "lwm2m-device-sim: --endpoint is required\n";
        return std::nullopt;
    }
    if (a.count == 0) {
        std::cerr << "lwm2m-device-sim: --count must be at least 1\n";
        return std::nullopt;
    }
    return a;
}

// One device and its registration bookkeeping (main thread only).
struct Device {
    std::unique_ptr<DeviceSimulator> sim;
    std::optional<std::future<Result>> in_flight;  // register or update
    bool in_flight_is_register = false;
    bool registered = false;
    Clock::time_point next_attempt{};
    Clock::time_point registered_at{};
};

}  // namespace

int main(int argc, char** argv) {
    auto parsed = parse_args(argc, argv);
    if (!parsed) {
        std::cerr << kUsage;
        return 2;
    }
    const Args args = *parsed;
    const auto uri = lwgate::devsim::parse_server_uri(args.uri);
    if (!uri) {
        std::cerr << "lwm2m-device-sim: bad --uri " << args.uri
                  << " (expected coap+tcp://HOST:PORT or coaps+tcp://HOST:PORT)\n";
        return 2;
    }
    DeviceOptions base;
    base.host = uri->host;
    base.port = uri->port;
    base.transport = uri->tls ? lwgate::devsim::Transport::tls : lwgate::devsim::Transport::tcp;
    base.lifetime = args.lifetime;
    base.queue_mode = args.queue;
    base.lwm2m_version = args.lwm2m;
    base.send_csm = !args.no_csm;
    base.max_message_size = args.max_message_size;
    if (!args.psk_identity.empty() || !args.psk_key_hex.empty()) {
        const auto key = lwgate::devsim::parse_hex(args.psk_key_hex);
        if (args.psk_identity.empty() || !key || key->empty()) {
            std::cerr << "lwm2m-device-sim: --psk-identity and --psk-key HEX go together\n";
            return 2;
        }
        base.tls.psk_identity = args.psk_identity;
        base.tls.psk_key = *key;
    }
    base.tls.certificate_file = args.cert;
    base.tls.private_key_file = args.key;
    base.tls.ca_file = args.ca;
    if (!uri->tls && (!base.tls.psk_identity.empty() || !args.cert.empty())) {
        std::cerr << "lwm2m-device-sim: TLS credentials need a coaps+tcp:// URI\n";
        return 2;
    }

    // Signals go to a signalfd; block them before any thread starts so every thread inherits
    // the mask.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    const int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        std::perror("signalfd");
        return 1;
    }

    const unsigned threads = args.threads ? args.threads : std::min(args.count, 4u);
    std::vector<std::shared_ptr<lwgate::devsim::EventLoop>> loops;
    for (unsigned i = 0; i < threads; ++i) {
        loops.push_back(std::make_shared<lwgate::devsim::EventLoop>("devsim-" + std::to_string(i)));
    }

    std::vector<Device> devices(args.count);
    for (unsigned i = 0; i < args.count; ++i) {
        DeviceOptions o = base;
        o.endpoint = args.count > 1 ? args.endpoint + "-" + std::to_string(i) : args.endpoint;
        o.loop = loops[i % loops.size()];
        o.on_event = [ep = o.endpoint](const lwgate::devsim::Event& e) { print_line(ep, e.text); };
        devices[i].sim = std::make_unique<DeviceSimulator>(std::move(o));
    }

    const auto retry = std::chrono::seconds(args.retry_seconds);
    const auto refresh = std::chrono::seconds(std::max<std::uint32_t>(1, args.lifetime / 2));
    bool stop = false;
    auto next_tick = Clock::now();
    while (!stop) {
        const auto now = Clock::now();
        if (now >= next_tick) {
            const auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
            for (auto& d : devices) {
                // Registration bookkeeping.
                if (d.in_flight &&
                    d.in_flight->wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
                    const Result r = d.in_flight->get();
                    d.in_flight.reset();
                    if (d.in_flight_is_register) {
                        d.registered = r.code() == lwgate::coap::code::created;
                        d.registered_at = now;
                    } else if (r.ok() && r.code() == lwgate::coap::code::changed) {
                        d.registered_at = now;
                    } else {
                        d.registered = false;  // the Update failed: register again
                    }
                    if (!d.registered) d.next_attempt = now + retry;
                }
                if (d.registered && d.sim->state() != lwgate::devsim::ConnectionState::connected) {
                    print_line(d.sim->endpoint(), "connection lost: registering again");
                    d.registered = false;
                    d.next_attempt = now + retry;
                }
                if (!d.in_flight && !d.registered && now >= d.next_attempt) {
                    d.in_flight = d.sim->register_device_async();
                    d.in_flight_is_register = true;
                } else if (!d.in_flight && d.registered && now - d.registered_at >= refresh) {
                    d.in_flight = d.sim->update_async();
                    d.in_flight_is_register = false;
                }
                // The ticking clock resource (notifies observers).
                try {
                    d.sim->set_resource("/3/0/13", std::to_string(unix_now));
                } catch (const std::exception& e) {
                    print_line(d.sim->endpoint(), std::string("error: ") + e.what());
                }
            }
            next_tick += 1s;
            if (next_tick < now) next_tick = now + 1s;
        }
        const auto wait =
            std::chrono::ceil<std::chrono::milliseconds>(next_tick - Clock::now()).count();
        pollfd pfd{sfd, POLLIN, 0};
        const int n = ::poll(&pfd, 1, wait > 0 ? static_cast<int>(wait) : 0);
        if (n > 0 && (pfd.revents & POLLIN)) {
            signalfd_siginfo info{};
            if (::read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
                print_line("-", std::string("signal ") +
                                    strsignal(static_cast<int>(info.ssi_signo)) +
                                    ": de-registering");
                stop = true;
            }
        }
    }

    // De-register everything that is registered, in parallel, each bounded by its timeout.
    std::vector<std::pair<DeviceSimulator*, std::future<Result>>> leaving;
    for (auto& d : devices) {
        if (d.in_flight) d.in_flight->wait_for(5s);
        if (d.sim->is_registered()) leaving.emplace_back(d.sim.get(), d.sim->deregister_async());
    }
    for (auto& [sim, f] : leaving) {
        if (f.wait_for(10s) != std::future_status::ready) continue;
        const Result r = f.get();
        if (!r.ok()) {
            print_line(sim->endpoint(), std::string("deregister failed: ") +
                                            lwgate::devsim::to_string(r.status) + " " + r.detail);
        } else if (r.code() != lwgate::coap::code::deleted) {
            print_line(sim->endpoint(),
                       "deregister failed code=" + lwgate::coap::code_to_string(r.code()));
        }
    }
    for (auto& d : devices)
        d.sim->disconnect();
    devices.clear();
    loops.clear();
    ::close(sfd);
    return 0;
}
