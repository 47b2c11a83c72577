// lwgate: RFC 8323 CoAP-over-TCP/TLS edge gateway for LwM2M devices.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "app/gateway.hpp"
#include "config/config_loader.hpp"
#include "log/setup.hpp"

namespace {

spdlog::level::level_enum to_spdlog(lwgate::config::LogLevel level) {
    using L = lwgate::config::LogLevel;
    switch (level) {
        case L::trace:
            return spdlog::level::trace;
        case L::debug:
            return spdlog::level::debug;
        case L::info:
            return spdlog::level::info;
        case L::warn:
            return spdlog::level::warn;
        case L::error:
            return spdlog::level::err;
        case L::critical:
            return spdlog::level::critical;
        case L::off:
            return spdlog::level::off;
    }
    return spdlog::level::info;
}

lwgate::logging::Format to_log_format(lwgate::config::LogFormat format) {
    return format == lwgate::config::LogFormat::json ? lwgate::logging::Format::json
                                                     : lwgate::logging::Format::text;
}

// Loads the file, or the embedded defaults when no file is given.
std::variant<lwgate::config::Config, std::vector<lwgate::config::ConfigError>> load(
    const std::string& path) {
    if (path.empty()) return lwgate::config::load_config_string("");
    return lwgate::config::load_config_file(path);
}

int report_errors(const std::string& path, const std::vector<lwgate::config::ConfigError>& errors) {
    for (const auto& e : errors) {
        // Errors inside an included file (credentials_file) name that file themselves.
        if (e.file.empty()) std::cerr << (path.empty() ? "<defaults>" : path) << ": ";
        std::cerr << e.to_string() << "\n";
    }
    std::cerr << errors.size() << " error(s)\n";
    return 1;
}

// Each registered device holds two descriptors (its TCP connection and its UDP socket toward
// the core), so the default soft limit (1024) caps a gateway at ~500 devices. Raise the soft
// limit to the hard one and say when connections.max cannot fit.
void raise_descriptor_limit(std::uint64_t max_connections) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    const std::uint64_t needed = 2 * max_connections + 64;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
        spdlog::warn(
            "open-file limit {} is below the {} that connections.max {} needs (two descriptors "
            "per registered device): raise LimitNOFILE / ulimit -n or lower connections.max",
            static_cast<std::uint64_t>(limit.rlim_cur), needed, max_connections);
    }
}

// nullopt: go on. Otherwise the exit code: 0 after --help, 2 after a usage error, as other
// command-line tools (and lwgatectl) do; CLI11's own codes (above 100) would tell a script or
// systemd nothing. CLI11 prints the help to stdout and the error to stderr.
std::optional<int> parse_command_line(CLI::App& cli, int argc, char** argv) {
    try {
        cli.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        return cli.exit(e) == 0 ? 0 : 2;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // hiredis writes to Redis with write(2): a Redis that restarts would end lwgate with SIGPIPE
    // at the next command (the device sockets use MSG_NOSIGNAL, Redis's cannot). A write into a
    // closed socket is an EPIPE error here, handled where it happens.
    std::signal(SIGPIPE, SIG_IGN);
    CLI::App cli{"lwgate: CoAP over TCP/TLS (RFC 8323) gateway and connection manager for LwM2M"};
    std::string config_path;
    std::string check_path;
    bool version = false;
    cli.add_option("-c,--config", config_path, "YAML configuration file (default: built-in)");
    cli.add_option("--check-config", check_path,
                   "validate a configuration file, print every error with key and line, exit 1 "
                   "if it has errors");
    cli.add_flag("--version", version, "print the version and exit");
    if (auto code = parse_command_line(cli, argc, argv)) return *code;

    if (version) {
        std::cout << "lwgate " << LWGATE_VERSION << "\n";
        return 0;
    }
    if (!check_path.empty()) {
        auto result = load(check_path);
        if (auto* errors = std::get_if<std::vector<lwgate::config::ConfigError>>(&result)) {
            return report_errors(check_path, *errors);
        }
        std::cout << check_path << ": ok\n";
        return 0;
    }

    auto result = load(config_path);
    if (auto* errors = std::get_if<std::vector<lwgate::config::ConfigError>>(&result)) {
        return report_errors(config_path, *errors);
    }
    auto config = std::get<lwgate::config::Config>(std::move(result));

    const bool journal = lwgate::logging::install_stderr_logger(to_log_format(config.log.format),
                                                                to_spdlog(config.log.level));
    spdlog::debug("log: format {}{}", lwgate::config::to_string(config.log.format),
                  journal ? ", stderr is the journal: syslog priority prefixes" : "");

    raise_descriptor_limit(config.connections.max);
    lwgate::app::Gateway gateway(std::move(config));
    gateway.set_config_path(config_path);  // SIGHUP re-reads it
    if (auto started = gateway.start(); !started) {
        spdlog::critical("cannot start: {}", started.error().detail);
        return 1;
    }
    // Machine-readable readiness on stdout: one line per bound listener, then "ready". Test
    // harnesses and scripts read these to learn the real ports when the config says port 0.
    for (const auto& uri : gateway.bound_uris())
        std::cout << "listening " << uri << "\n";
    if (const auto url = gateway.admin_url(); !url.empty()) std::cout << "admin " << url << "\n";
    std::cout << "ready" << std::endl;
    return gateway.run();
}
