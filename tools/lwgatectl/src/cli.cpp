#include "cli.hpp"

#include <csignal>
#include <ctime>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "admin_client.hpp"
#include "config_commands.hpp"
#include "credential_commands.hpp"
#include "views.hpp"

#ifndef LWGATE_VERSION
#define LWGATE_VERSION "unknown"
#endif

namespace lwgate::ctl {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::chrono::milliseconds request_timeout = 5s;
// lwgate gives a reload 10 s on its control thread (reading a long credentials_file).
constexpr std::chrono::milliseconds reload_wait = 10s;

volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_interrupt(int) {
    interrupted = 1;
}

struct Common {
    std::string admin = "127.0.0.1:8484";
    std::string token;
    TlsOptions tls;  // --cacert, --insecure
    bool json = false;
};

// What `connections` was given: the API's filters, and one page (limit, after) or every page.
struct ListOptions {
    std::string state, endpoint, transport, remote;
    unsigned limit = 0;  // 0: every page, following `next`
    std::string after;

    bool one_page() const { return limit > 0 || !after.empty(); }
};

// GET /v1/connections with the filters, and the page when asked for.
std::string connections_path(const ListOptions& o, const std::string& after, unsigned limit) {
    std::string query;
    auto add = [&query](const char* key, const std::string& value) {
        if (value.empty()) return;
        query += (query.empty() ? "?" : "&") + std::string(key) + "=" + percent_encode(value);
    };
    add("state", o.state);
    add("endpoint", o.endpoint);
    add("transport", o.transport);
    add("remote", o.remote);
    add("limit", limit > 0 ? std::to_string(limit) : std::string());
    add("after", after);
    return "/v1/connections" + query;
}

// The `next` cursor of a page, or "" on the last page (null or absent: an older gateway).
std::string next_cursor(const json& page) {
    if (!page.is_object()) return {};
    const auto it = page.find("next");
    return it != page.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The rows of a page; none when it has no such array.
const json& rows_of(const json& page) {
    static const json none = json::array();
    if (!page.is_object()) return none;
    const auto it = page.find("connections");
    return it != page.end() && it->is_array() ? *it : none;
}

// The device of show, ping, release and close: an endpoint name, or id:N for a connection, unless
// --by-endpoint says the name only reads like one (LwM2M allows any endpoint name).
struct DeviceTarget {
    std::string name;
    bool by_endpoint = false;
    std::string path(std::string_view verb = {}) const {
        std::string out = "/v1/connections/" + percent_encode(name);
        if (!verb.empty()) out += "/" + std::string(verb);
        return by_endpoint ? out + "?by=endpoint" : out;
    }
};

class Runner {
  public:
    Runner(const Common& common, std::ostream& out, std::ostream& err, bool terminal)
        : common_(common), out_(out), err_(err), terminal_(terminal) {}

    // Returns false (and reports) when --admin is malformed, or given TLS options it has no use
    // for.
    bool connect() {
        auto address = parse_admin_address(common_.admin);
        if (!address) {
            err_ << "lwgatectl: bad admin address '" << common_.admin
                 << "' (expected HOST:PORT, [IPv6]:PORT, http://HOST:PORT or https://HOST:PORT)\n";
            return false;
        }
        // Silently ignored, they would let one believe the connection is verified or encrypted.
        if (!address->https && (!common_.tls.ca_file.empty() || common_.tls.insecure)) {
            err_ << "lwgatectl: --cacert and --insecure need an https:// admin address\n";
            return false;
        }
        client_ =
            std::make_unique<AdminClient>(*address, common_.token, request_timeout, common_.tls);
        return true;
    }

    int status() {
        auto r = client_->get("/v1/health");
        if (!r.reached()) return unreachable(r);
        const auto state = health_status(r.body);
        if ((r.status != 200 && r.status != 503) || state.empty()) {
            refused("status", r);
            return exit_failing;
        }
        if (common_.json)
            print_raw(r);
        else
            out_ << render_health(r.body);
        return exit_code_for_health(state);
    }

    // Every page, following `next`, unless --limit or --after ask for one page. A single page
    // prints as the API answered it; more are joined into one table, or into one JSON document
    // written as the pages come (the rows of a million devices are never held as JSON at once).
    int connections(const ListOptions& o) {
        auto r = client_->get(connections_path(o, o.after, o.limit));
        if (!r.reached()) return unreachable(r);
        if (!r.success()) return refused("connections", r);
        const auto next = next_cursor(r.body);
        if (!next.empty() && !o.one_page())
            return common_.json ? every_page_json(o, std::move(r))
                                : every_page_table(o, std::move(r));
        if (common_.json) {
            print_raw(r);
        } else {
            out_ << connections_table(r.body).render() << connections_summary(r.body) << "\n";
            if (!next.empty()) out_ << "more: --after " << next << "\n";
        }
        return exit_ok;
    }

    int show(const DeviceTarget& device) {
        auto r = client_->get(device.path());
        if (!r.reached()) return unreachable(r);
        if (!r.success()) return refused(device.name, r);
        if (common_.json)
            print_raw(r);
        else
            out_ << render_device(r.body);
        return exit_ok;
    }

    int cluster() {
        auto r = client_->get("/v1/cluster");
        if (!r.reached()) return unreachable(r);
        if (!r.success() || !r.body.is_object() || !r.body.contains("enabled"))
            return refused("cluster", r);
        if (common_.json)
            print_raw(r);
        else
            out_ << render_cluster(r.body);
        return exit_ok;
    }

    int ping(const DeviceTarget& device, std::chrono::milliseconds timeout) {
        const double timeout_seconds = static_cast<double>(timeout.count()) / 1000.0;
        auto r =
            client_->post(device.path("ping"), {{"timeout_seconds", timeout_seconds}}, timeout);
        if (!r.reached()) return unreachable(r);
        if (!r.success()) return refused("ping " + device.name, r);
        if (common_.json)
            print_raw(r);
        else
            out_ << render_ping(device.name, r.body) << "\n";
        return exit_ok;
    }

    int release(const DeviceTarget& device, const std::string& alt,
                std::optional<std::chrono::milliseconds> hold_off) {
        json body = json::object();
        if (!alt.empty()) body["alternative_address"] = alt;
        if (hold_off)
            body["hold_off_seconds"] =
                std::chrono::duration_cast<std::chrono::seconds>(*hold_off).count();
        return action("release " + device.name, device.path("release"), body,
                      "released " + device.name);
    }

    int close(const DeviceTarget& device) {
        return action("close " + device.name, device.path("close"), json::object(),
                      "closed " + device.name);
    }

    int drain() { return action("drain", "/v1/drain", json::object(), "draining"); }

    int credentials(const CredentialCommands& commands) {
        return commands.run(*client_, CtlOutput{out_, err_, common_.json});
    }

    // POST /v1/reload: the SIGHUP reload, or (`dry_run`, `config check` without a file) the
    // running lwgate reading its own file, with its permissions and credentials.
    int reload(bool dry_run) {
        const json body = dry_run ? json{{"dry_run", true}} : json::object();
        auto r = client_->post("/v1/reload", body, reload_wait);
        if (!r.reached()) return unreachable(r);
        if (common_.json) {
            print_raw(r);
            return r.success() ? exit_ok : exit_refused;
        }
        if (!r.success()) {
            err_ << render_config_errors(r.body);
            return refused(dry_run ? "config check" : "reload", r);
        }
        out_ << render_reload(r.body);
        return exit_ok;
    }

    // Refreshes until Ctrl-C (or `count` refreshes when count > 0). Exit 0 on Ctrl-C.
    int watch(std::chrono::milliseconds interval, unsigned count) {
        struct sigaction action {};
        struct sigaction old_int {};
        struct sigaction old_term {};
        action.sa_handler = on_interrupt;
        sigemptyset(&action.sa_mask);
        interrupted = 0;
        sigaction(SIGINT, &action, &old_int);
        sigaction(SIGTERM, &action, &old_term);
        int last = exit_ok;
        for (unsigned n = 0; !interrupted && (count == 0 || n < count); ++n) {
            if (n > 0) sleep_interruptibly(interval);
            if (interrupted) break;
            last = watch_once(interval);
        }
        sigaction(SIGINT, &old_int, nullptr);
        sigaction(SIGTERM, &old_term, nullptr);
        return interrupted ? exit_ok : last;
    }

  private:
    // Replaces `page` (a success with a `next`) by the page after it. False, reported, when that
    // failed, or when the gateway handed back the cursor it was given (it would never end).
    bool follow(const ListOptions& o, Response& page, int& code) {
        const auto after = next_cursor(page.body);
        page = client_->get(connections_path(o, after, 0));
        if (!page.reached()) {
            code = unreachable(page);
        } else if (!page.success()) {
            code = refused("connections", page);
        } else if (next_cursor(page.body) == after) {
            err_ << "lwgatectl: connections: the gateway repeated the cursor " << after << "\n";
            code = exit_refused;
        } else {
            return true;
        }
        return false;
    }

    int every_page_table(const ListOptions& o, Response page) {
        auto table = connections_table(json::object());
        ConnectionTally tally;
        int code = exit_ok;
        for (;;) {
            for (const auto& row : rows_of(page.body))
                table.add_row(connection_row(row));
            tally.add(page.body);
            if (next_cursor(page.body).empty()) break;
            if (!follow(o, page, code)) return code;
        }
        out_ << table.render() << tally.summary() << "\n";
        return exit_ok;
    }

    // {"connections": [...], "count": N, "next": null, "total": N}, the keys in the API's order.
    int every_page_json(const ListOptions& o, Response page) {
        std::size_t rows = 0;
        int code = exit_ok;
        out_ << "{\"connections\":[";
        for (;;) {
            for (const auto& row : rows_of(page.body))
                out_ << (rows++ ? "," : "")
                     << row.dump(-1, ' ', false, json::error_handler_t::replace);
            if (next_cursor(page.body).empty()) break;
            if (!follow(o, page, code)) {
                out_ << std::endl;  // what came so far; the exit code says it is not all
                return code;
            }
        }
        out_ << "],\"count\":" << rows << ",\"next\":null,\"total\":" << rows << "}\n";
        return exit_ok;
    }

    int watch_once(std::chrono::milliseconds interval) {
        auto health = client_->get("/v1/health");
        auto conns = health.reached() ? client_->get("/v1/connections") : Response{};
        if (common_.json) {
            // One line per refresh (JSON Lines) for scripts.
            json line{{"health", health.body}, {"connections", conns.body}};
            if (!health.reached()) line["error"] = health.transport_error;
            out_ << line.dump() << std::endl;
            return health.reached() ? exit_ok : exit_unreachable;
        }
        std::string screen;
        if (terminal_) screen += "\x1b[H\x1b[2J";
        char stamp[32];
        const auto now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        screen += "lwgatectl watch " + common_.admin + "  every " +
                  format_seconds(static_cast<double>(interval.count()) / 1000) + "  " + stamp +
                  "  (Ctrl-C to stop)\n";
        if (!health.reached()) {
            screen += "cannot reach lwgate admin at " + common_.admin + ": " +
                      health.transport_error + "\n";
            out_ << screen << std::flush;
            return exit_unreachable;
        }
        screen += render_health(health.body) + "\n";
        if (conns.success())
            screen +=
                connections_table(conns.body).render() + connections_summary(conns.body) + "\n";
        else
            screen += "connections: " + describe_refusal(conns) + "\n";
        out_ << screen << std::flush;
        return exit_ok;
    }

    static void sleep_interruptibly(std::chrono::milliseconds total) {
        const auto until = std::chrono::steady_clock::now() + total;
        while (!interrupted && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
                50ms, std::chrono::ceil<std::chrono::milliseconds>(
                          until - std::chrono::steady_clock::now())));
    }

    int action(const std::string& what, const std::string& path, const json& body,
               const std::string& done) {
        auto r = client_->post(path, body);
        if (!r.reached()) return unreachable(r);
        if (!r.success()) return refused(what, r);
        if (common_.json)
            print_raw(r);
        else
            out_ << done << "\n";
        return exit_ok;
    }

    void print_raw(const Response& r) {
        out_ << r.raw;
        if (r.raw.empty() || r.raw.back() != '\n') out_ << "\n";
    }

    int unreachable(const Response& r) {
        err_ << "lwgatectl: cannot reach lwgate admin at " << client_->address().text << ": "
             << r.transport_error << "\n";
        return exit_unreachable;
    }

    int refused(const std::string& what, const Response& r) {
        err_ << "lwgatectl: " << what << ": " << describe_refusal(r) << "\n";
        return exit_refused;
    }

    const Common& common_;
    std::ostream& out_;
    std::ostream& err_;
    bool terminal_;
    std::unique_ptr<AdminClient> client_;
};

// CLI11 validator: a duration in the config's syntax.
struct DurationValidator : CLI::Validator {
    DurationValidator() {
        name_ = "DURATION";
        func_ = [](const std::string& text) {
            return parse_cli_duration(text)
                       ? std::string()
                       : "'" + text + "' is not a duration (e.g. 500ms, 5s, 2m, 1h)";
        };
    }
};

// CLI11 transform: a connection state as the user may write it, normalised for the API.
CLI::Validator state_validator() {
    return CLI::Validator(
        [](std::string& s) {
            auto n = normalize_state(s);
            if (!n) return "unknown state '" + s + "'";
            s = *n;
            return std::string();
        },
        "STATE");
}

// Every command and option of the command line, and what it was given.
class CommandLine {
  public:
    CommandLine();
    // nullopt: a command to run. Otherwise parsing ended the run (--help, --version or a usage
    // error, already printed) with this exit code.
    std::optional<int> parse(int argc, const char* const* argv, std::ostream& out,
                             std::ostream& err);
    const Common& common() const { return common_; }
    int dispatch(Runner& runner) const;
    // `config check FILE` runs here, without the admin API: its exit code. nullopt otherwise.
    std::optional<int> run_local(std::ostream& out, std::ostream& err) const {
        if (!check_->parsed() || config_file_.empty()) return std::nullopt;
        return check_config_file(config_file_, common_.json, out, err);
    }

  private:
    void add_globals();
    void add_listings();          // status, connections
    void add_device_commands();   // show, ping, release, close
    void add_gateway_commands();  // drain, watch, cluster
    void add_config_commands();   // reload, config check
    CLI::App* add_command(const char* name, const char* description);
    void add_endpoint(CLI::App* command);
    std::optional<std::string> unknown_command() const;
    std::string command_names() const;

    CLI::App app_;
    Common common_;
    const DurationValidator duration_;
    ListOptions list_;
    DeviceTarget device_;
    std::string ping_timeout_ = "5s";
    std::string alt_, hold_off_;
    std::string interval_ = "2s";
    std::string config_file_;
    unsigned count_ = 0;
    CLI::App* status_ = nullptr;
    CLI::App* connections_ = nullptr;
    CLI::App* show_ = nullptr;
    CLI::App* ping_ = nullptr;
    CLI::App* release_ = nullptr;
    CLI::App* close_ = nullptr;
    CLI::App* drain_ = nullptr;
    CLI::App* watch_ = nullptr;
    CLI::App* cluster_ = nullptr;
    CLI::App* reload_ = nullptr;
    CLI::App* config_ = nullptr;
    CLI::App* check_ = nullptr;
    CredentialCommands credentials_;
};

CommandLine::CommandLine()
    : app_(
          "lwgatectl: connection health of a running lwgate (admin API).\n"
          "Exit codes: status: 0 ok, 1 degraded, 2 failing or unreachable; other commands: 0 "
          "done, 1 refused by the gateway, 2 unreachable or bad usage.",
          "lwgatectl") {
    app_.require_subcommand(1);
    app_.fallthrough();  // the global options may follow the command too
    add_globals();
    add_listings();
    add_device_commands();
    add_gateway_commands();
    add_config_commands();
    credentials_.add(app_, common_.json);
}

void CommandLine::add_globals() {
    app_.set_version_flag("--version", std::string("lwgatectl ") + LWGATE_VERSION);
    app_.add_option("--admin", common_.admin,
                    "admin API address HOST:PORT, or https://HOST:PORT when the gateway has "
                    "admin.tls")
        ->envname("LWGATE_ADMIN")
        ->capture_default_str();
    auto* cacert = app_.add_option("--cacert", common_.tls.ca_file,
                                   "https://: verify the gateway's certificate against the CA "
                                   "certificates in FILE (PEM) instead of the system's")
                       ->check(CLI::ExistingFile);
    app_.add_flag("--insecure", common_.tls.insecure,
                  "https://: do not verify the gateway's certificate (self-signed test set-ups)")
        ->excludes(cacert);
    app_.add_option("--token", common_.token,
                    "bearer token of the admin API (prefer LWGATE_TOKEN: arguments are visible "
                    "in ps)")
        ->envname("LWGATE_TOKEN");
    app_.add_flag("--json", common_.json,
                  "print the API's JSON instead of a table (before or after the command)");
}

// A command with its own --json too, so that `COMMAND --help` shows it.
CLI::App* CommandLine::add_command(const char* name, const char* description) {
    auto* command = app_.add_subcommand(name, description);
    command->add_flag("--json", common_.json, "print the API's JSON instead of a table");
    return command;
}

void CommandLine::add_endpoint(CLI::App* command) {
    command
        ->add_option("endpoint", device_.name,
                     "the device's endpoint name (or id:N for a connection id)")
        ->required();
    command->add_flag("--by-endpoint", device_.by_endpoint,
                      "ENDPOINT is an endpoint name even if it reads id:N");
}

void CommandLine::add_listings() {
    status_ =
        add_command("status", "overall health; exit 0 ok, 1 degraded, 2 failing or unreachable");
    connections_ =
        add_command("connections", "one row per connection and per registered device without one");
    connections_->alias("conns");
    connections_
        ->add_option("--state", list_.state,
                     "only this state: active, idle, pinging, half-open, unregistered, closing, "
                     "sleeping, away")
        ->transform(state_validator());
    connections_->add_option("--endpoint", list_.endpoint, "only endpoints starting with PREFIX");
    connections_->add_option("--transport", list_.transport, "only tcp or tls")
        ->check(CLI::IsMember({"tcp", "tls"}));
    connections_->add_option("--remote", list_.remote,
                             "only remote addresses starting with PREFIX");
    connections_
        ->add_option("--limit", list_.limit,
                     "one page of at most N rows (default: every page, 1000 rows a request)")
        ->check(CLI::Range(1, 10000));
    connections_->add_option("--after", list_.after,
                             "the page after this cursor (printed as `more: --after CURSOR`)");
}

void CommandLine::add_device_commands() {
    show_ = add_command("show", "everything known about one device");
    add_endpoint(show_);
    ping_ = add_command("ping", "send a CoAP Ping now and print the round trip");
    add_endpoint(ping_);
    ping_->add_option("--timeout", ping_timeout_, "how long to wait for the Pong")
        ->check(duration_)
        ->capture_default_str();
    release_ =
        add_command("release", "send 7.04 Release (the device should reconnect, maybe elsewhere)");
    add_endpoint(release_);
    release_->add_option("--alt", alt_, "Alternative-Address URI to offer the device");
    release_->add_option("--hold-off", hold_off_, "Hold-Off before the device may come back")
        ->check(duration_);
    close_ = add_command("close", "send 7.05 Abort and close the connection");
    add_endpoint(close_);
}

void CommandLine::add_gateway_commands() {
    drain_ =
        add_command("drain", "stop accepting, Release every device, exit when empty (as SIGTERM)");
    watch_ = add_command("watch", "refreshing health and connection table");
    watch_->add_option("--interval", interval_, "time between refreshes")
        ->check(duration_)
        ->capture_default_str();
    watch_->add_option("--count", count_, "stop after N refreshes (0: until Ctrl-C)");
    cluster_ = add_command("cluster",
                           "cluster mode: this instance's lease, Redis, owned endpoints, moves "
                           "and the instances in Redis");
}

void CommandLine::add_config_commands() {
    reload_ = add_command("reload",
                          "re-read the config file and apply what can change at run time (as "
                          "SIGHUP); print what changed and what needs a restart");
    config_ = app_.add_subcommand("config", "the configuration file");
    config_->require_subcommand(1);
    check_ = config_->add_subcommand(
        "check",
        "validate FILE here, every error with its key and line (exit 1 on errors); without "
        "FILE, have the running lwgate read its own config file and say what a reload would "
        "change");
    check_->add_flag("--json", common_.json, "print the check as the API's JSON");
    check_->add_option("file", config_file_, "the configuration file to check");
}

std::optional<int> CommandLine::parse(int argc, const char* const* argv, std::ostream& out,
                                      std::ostream& err) {
    try {
        app_.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        if (auto word = unknown_command()) {
            err << "lwgatectl: unknown command '" << *word << "' (commands: " << command_names()
                << "; see lwgatectl --help)\n";
            return exit_usage;
        }
        const int code = app_.exit(e, out, err);
        return code == 0 ? exit_ok : exit_usage;
    }
}

// CLI11 takes a word that names no command for a missing command; this finds that word.
std::optional<std::string> CommandLine::unknown_command() const {
    if (!app_.get_subcommands().empty()) return std::nullopt;
    const auto rest = app_.remaining();
    if (rest.empty() || rest.front().empty() || rest.front()[0] == '-') return std::nullopt;
    return rest.front();
}

std::string CommandLine::command_names() const {
    std::string names;
    for (const auto* command : app_.get_subcommands([](const CLI::App*) { return true; }))
        names += (names.empty() ? "" : ", ") + command->get_name();
    return names;
}

int CommandLine::dispatch(Runner& runner) const {
    if (status_->parsed()) return runner.status();
    if (connections_->parsed()) return runner.connections(list_);
    if (show_->parsed()) return runner.show(device_);
    if (ping_->parsed()) return runner.ping(device_, *parse_cli_duration(ping_timeout_));
    if (release_->parsed())
        return runner.release(device_, alt_,
                              hold_off_.empty() ? std::nullopt : parse_cli_duration(hold_off_));
    if (close_->parsed()) return runner.close(device_);
    if (drain_->parsed()) return runner.drain();
    if (cluster_->parsed()) return runner.cluster();
    if (credentials_.parsed()) return runner.credentials(credentials_);
    if (reload_->parsed()) return runner.reload(false);
    if (check_->parsed()) return runner.reload(true);
    if (watch_->parsed()) {
        auto every = *parse_cli_duration(interval_);
        if (every < 100ms) every = 100ms;
        return runner.watch(every, count_);
    }
    return exit_usage;
}

}  // namespace

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, bool terminal) {
    CommandLine command_line;
    if (auto done = command_line.parse(argc, argv, out, err)) return *done;
    if (auto done = command_line.run_local(out, err)) return *done;
    Runner runner(command_line.common(), out, err, terminal);
    if (!runner.connect()) return exit_usage;
    return command_line.dispatch(runner);
}

}  // namespace lwgate::ctl
