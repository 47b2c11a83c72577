// lwm2m-core-sim: a small LwM2M server on CoAP/UDP (and DTLS-PSK) for trying lwgate by hand and
// for benches. Logs what devices do, one line per event, and takes commands on stdin.
//
//   lwm2m-core-sim [--host 127.0.0.1] [--port 5683] [--dtls-port 5684 --psk ID:HEXKEY ...]
//                  [--register-response 4.12]
//
// Prints "listening coap://HOST:PORT" (and "listening coaps://HOST:PORT"), then "ready". Runs
// until SIGINT/SIGTERM or the `quit` command (end of stdin does not stop it, so it can run in
// the background with stdin closed).

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "lwgate/coresim/core_simulator.hpp"

using namespace lwgate::coresim;

namespace {

std::mutex g_out_mu;

void say(const std::string& line) {
    std::lock_guard lock(g_out_mu);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

std::string show_payload(const Bytes& payload) {
    if (payload.empty()) return "-";
    bool printable = payload.size() <= 512;
    for (std::uint8_t c : payload) {
        if (!std::isprint(c) && c != '\t') {
            printable = false;
            break;
        }
    }
    if (printable) return "'" + to_string(payload) + "'";
    Bytes head(payload.begin(), payload.begin() + std::min<std::size_t>(payload.size(), 32));
    return std::to_string(payload.size()) + " bytes 0x" + to_hex(head) +
           (payload.size() > head.size() ? "..." : "");
}

std::string show_cf(const std::optional<std::uint16_t>& cf) {
    return cf ? std::to_string(*cf) : std::string("-");
}

std::string show_event(const Event& ev) {
    std::ostringstream out;
    out << to_string(ev.kind);
    if (!ev.endpoint.empty()) out << " ep=" << ev.endpoint;
    if (!ev.registration_id.empty()) out << " id=" << ev.registration_id;
    switch (ev.kind) {
        case EventKind::register_:
        case EventKind::update:
        case EventKind::bootstrap:
        case EventKind::deregister: {
            std::string q;
            for (const auto& s : ev.query)
                q += (q.empty() ? "" : "&") + s;
            if (!q.empty()) out << " query=" << q;
            if (!ev.payload.empty()) out << " links=" << to_string(ev.payload);
            break;
        }
        case EventKind::send:
            out << " cf=" << show_cf(ev.content_format) << " payload=" << show_payload(ev.payload);
            break;
        case EventKind::notification:
            out << " path=" << ev.path
                << " observe=" << (ev.observe ? std::to_string(*ev.observe) : "-")
                << " code=" << ev.response.str() << " cf=" << show_cf(ev.content_format)
                << " payload=" << show_payload(ev.payload);
            break;
        case EventKind::other:
            out << " " << to_string(ev.method) << " " << ev.path;
            break;
        case EventKind::psk_rejected:
            break;
    }
    if (ev.kind != EventKind::notification) out << " -> " << ev.response.str();
    out << " from=" << ev.source;
    if (ev.dtls_identity) out << " identity=" << *ev.dtls_identity;
    return out.str();
}

std::string show_response(const std::optional<Response>& r) {
    if (!r) return "no response";
    std::ostringstream out;
    out << r->code.str() << " cf=" << show_cf(r->content_format);
    if (r->observe) out << " observe=" << *r->observe;
    out << " payload=" << show_payload(r->payload);
    return out.str();
}

void usage(std::FILE* to) {
    std::fputs(
        "usage: lwm2m-core-sim [--host ADDR] [--port N] [--dtls-port N] [--psk "
        "IDENTITY:HEXKEY]...\n"
        "                      [--register-response CODE]\n"
        "  --host ADDR               address to bind (default 127.0.0.1)\n"
        "  --port N                  CoAP/UDP port (default 5683; 0 = any free port)\n"
        "  --dtls-port N             enable CoAP/DTLS-PSK on this port (default 5684 with --psk)\n"
        "  --psk IDENTITY:HEXKEY     accept this PSK identity and key (repeatable)\n"
        "  --register-response CODE  answer Registers with CODE, e.g. 4.12 (default 2.01)\n"
        "stdin commands: read EP PATH | write EP PATH TEXT | execute EP PATH [ARGS] |\n"
        "                delete EP PATH | discover EP PATH | observe EP PATH | cancel EP PATH |\n"
        "                list | help | quit\n",
        to);
}

std::optional<std::uint16_t> parse_port(const std::string& s) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

void command_loop(CoreSimulator& sim) {
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd, ep, path;
        in >> cmd >> ep >> path;
        std::string rest;
        std::getline(in >> std::ws, rest);
        if (cmd.empty() || cmd[0] == '#') continue;
        if (cmd == "quit" || cmd == "exit") {
            ::kill(::getpid(), SIGTERM);
            return;
        }
        if (cmd == "help") {
            usage(stdout);
            std::fflush(stdout);
            continue;
        }
        if (cmd == "list") {
            const auto regs = sim.registrations();
            if (regs.empty()) say("no registrations");
            for (const auto& r : regs) {
                say("ep=" + r.endpoint + " id=" + r.id + (r.active ? " active" : " inactive") +
                    " lt=" + std::to_string(r.lifetime) + " lwm2m=" + r.lwm2m_version +
                    " b=" + r.binding + (r.queue_mode ? " Q" : "") + " from=" + r.source +
                    " updates=" + std::to_string(r.updates) + " links=" + r.object_links_text());
            }
            for (const auto& o : sim.observations()) {
                say("observation ep=" + o.endpoint + " path=" + o.path +
                    " token=" + to_hex(o.token));
            }
            continue;
        }
        static const std::set<std::string> kOps = {"read",     "write",   "execute", "delete",
                                                   "discover", "observe", "cancel"};
        if (!kOps.count(cmd)) {
            say("error: unknown command '" + cmd + "' (try help)");
            continue;
        }
        if (ep.empty() || path.empty()) {
            say("error: usage: " + cmd + " EP PATH ...");
            continue;
        }
        std::optional<Response> r;
        if (cmd == "read") {
            r = sim.read(ep, path);
        } else if (cmd == "write") {
            r = sim.write(ep, path, content_format::text_plain, to_bytes(rest));
        } else if (cmd == "execute") {
            r = sim.execute(ep, path, rest);
        } else if (cmd == "delete") {
            r = sim.delete_(ep, path);
        } else if (cmd == "discover") {
            r = sim.discover(ep, path);
        } else if (cmd == "observe") {
            auto obs = sim.observe(ep, path);
            if (obs) r = obs->first;
        } else if (cmd == "cancel") {
            std::optional<Observation> found;
            for (const auto& o : sim.observations()) {
                if (o.endpoint == ep && o.path == path) found = o;
            }
            if (!found) {
                say("error: no observation of " + path + " on " + ep);
                continue;
            }
            r = sim.cancel_observe(*found, CancelMode::get_observe1);
        }
        say(cmd + " " + ep + " " + path + " -> " + show_response(r));
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options opts;
    opts.port = 5683;
    bool dtls_port_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "lwm2m-core-sim: %s needs a value\n", arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return 0;
        } else if (arg == "--host") {
            opts.host = value();
        } else if (arg == "--port" || arg == "--dtls-port") {
            const std::string v = value();
            const auto port = parse_port(v);
            if (!port) {
                std::fprintf(stderr, "lwm2m-core-sim: bad port '%s'\n", v.c_str());
                return 2;
            }
            if (arg == "--port") {
                opts.port = *port;
            } else {
                opts.dtls = true;
                opts.dtls_port = *port;
                dtls_port_given = true;
            }
        } else if (arg == "--psk") {
            const std::string v = value();
            const auto colon = v.rfind(':');
            const auto key =
                colon == std::string::npos ? std::nullopt : parse_hex(v.substr(colon + 1));
            if (!key || key->empty() || colon == 0) {
                std::fprintf(stderr, "lwm2m-core-sim: --psk wants IDENTITY:HEXKEY, got '%s'\n",
                             v.c_str());
                return 2;
            }
            opts.psk_keys[v.substr(0, colon)] = *key;
            opts.dtls = true;
        } else if (arg == "--register-response") {
            const std::string v = value();
            const auto code = Code::parse(v);
            if (!code) {
                std::fprintf(stderr, "lwm2m-core-sim: bad code '%s' (want e.g. 4.12)\n", v.c_str());
                return 2;
            }
            opts.register_response = *code;
        } else {
            std::fprintf(stderr, "lwm2m-core-sim: unknown argument '%s'\n", arg.c_str());
            usage(stderr);
            return 2;
        }
    }
    if (opts.dtls && !dtls_port_given) opts.dtls_port = 5684;
    opts.on_event = [](const Event& ev) { say(show_event(ev)); };

    // Signals are taken synchronously by the main thread; every other thread inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    CoreSimulator sim;
    try {
        sim.start(opts);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lwm2m-core-sim: %s\n", e.what());
        return 1;
    }
    say("listening " + sim.uri());
    if (opts.dtls) say("listening " + sim.dtls_uri());
    say("ready");

    std::thread(command_loop, std::ref(sim)).detach();
    int sig = 0;
    sigwait(&signals, &sig);
    sim.stop();
    say("stopped");
    // The command thread may still be blocked reading stdin: leave without unwinding it.
    std::_Exit(0);
}
