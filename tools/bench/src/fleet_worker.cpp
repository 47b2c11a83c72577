#include "fleet_worker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace lwgate::bench {

namespace {

// The counters a child reports, in the order of its status line.
constexpr std::array<std::uint64_t FleetCounters::*, 14> fields = {
    &FleetCounters::connected,      &FleetCounters::connections,     &FleetCounters::registered,
    &FleetCounters::closed_by_peer, &FleetCounters::updated,         &FleetCounters::update_retries,
    &FleetCounters::connect_errors, &FleetCounters::register_errors, &FleetCounters::refusals,
    &FleetCounters::aborts,         &FleetCounters::pings,           &FleetCounters::reads,
    &FleetCounters::observed,       &FleetCounters::storm_reobserved};

std::string status_line(const FleetCounters& c) {
    std::string line = "S";
    for (auto f : fields)
        line += " " + std::to_string(c.*f);
    return line + "\n";
}

bool parse_status(const std::string& line, FleetCounters& c) {
    std::istringstream in(line);
    std::string tag;
    if (!(in >> tag) || tag != "S") return false;
    FleetCounters parsed;
    for (auto f : fields)
        if (!(in >> parsed.*f)) return false;
    c = parsed;
    return true;
}

std::string self_exe() {
    char self[4096];
    const ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) throw std::runtime_error("cannot read /proc/self/exe");
    return std::string(self, static_cast<std::size_t>(len));
}

}  // namespace

int run_fleet_worker(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: --fleet-worker PORTS FIRST COUNT CONNECT_RATE SOURCES\n");
        return 2;
    }
    FleetOptions f;
    std::istringstream ports(argv[0]);
    for (std::string p; std::getline(ports, p, ',');)
        f.ports.push_back(static_cast<std::uint16_t>(std::stoul(p)));
    f.port = f.ports.at(0);
    if (f.ports.size() == 1) f.ports.clear();
    f.first_index = std::stoull(argv[1]);
    f.count = std::stoull(argv[2]);
    f.connect_rate = std::stod(argv[3]);
    f.source_addresses = static_cast<unsigned>(std::stoul(argv[4]));
    Fleet fleet(f);
    // Report until the parent closes our stdin (or dies).
    while (true) {
        const std::string line = status_line(fleet.counters());
        if (::write(1, line.data(), line.size()) < 0) return 0;
        pollfd p{0, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            char b[64];
            if (::read(0, b, sizeof b) <= 0) return 0;
        }
    }
}

FleetWorkers::FleetWorkers(const FleetWorkerPlan& plan) {
    if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    const std::string exe = self_exe();
    std::string ports;
    for (const auto p : plan.ports)
        ports += (ports.empty() ? "" : ",") + std::to_string(p);
    const std::size_t per = std::max<std::size_t>(1, plan.per_worker);
    const std::size_t n = (plan.devices + per - 1) / per;
    for (std::size_t first = 0; first < plan.devices; first += per) {
        const std::size_t count = std::min(per, plan.devices - first);
        std::vector<std::string> args = {exe,
                                         "--fleet-worker",
                                         ports,
                                         std::to_string(first),
                                         std::to_string(count),
                                         std::to_string(plan.connect_rate / double(n)),
                                         std::to_string(plan.source_addresses)};
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        int in[2], out[2];
        if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe2");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);  // dup2 clears O_CLOEXEC
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        Child c;
        const int rc = posix_spawn(&c.pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(in[0]);
        ::close(out[1]);
        if (rc != 0) throw std::runtime_error("cannot start a fleet worker");
        c.to_child = in[1];
        c.from_child = out[0];
        children_.push_back(std::move(c));
    }
    reader_ = std::thread([this] { read_loop(); });
}

FleetWorkers::~FleetWorkers() {
    const char x = 0;
    (void)::write(wake_[1], &x, 1);
    reader_.join();
    for (auto& c : children_)
        ::close(c.to_child);  // the child sees EOF and exits
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (auto& c : children_) {
        while (::waitpid(c.pid, nullptr, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(c.pid, SIGKILL);
                ::waitpid(c.pid, nullptr, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ::close(c.from_child);
    }
    ::close(wake_[0]);
    ::close(wake_[1]);
}

void FleetWorkers::read_loop() {
    while (true) {
        std::vector<pollfd> p;
        p.push_back({wake_[0], POLLIN, 0});
        for (const auto& c : children_)
            p.push_back({c.exited ? -1 : c.from_child, POLLIN, 0});
        if (::poll(p.data(), p.size(), 1000) < 0) continue;
        if (p[0].revents) return;
        for (std::size_t i = 0; i < children_.size(); ++i)
            if (p[i + 1].revents) read_child(children_[i]);
    }
}

void FleetWorkers::read_child(Child& c) {
    char buf[4096];
    const ssize_t n = ::read(c.from_child, buf, sizeof buf);
    std::lock_guard lock(mutex_);
    if (n <= 0) {
        c.exited = true;
        return;
    }
    c.partial.append(buf, static_cast<std::size_t>(n));
    // Only the newest complete line matters: each carries the child's totals.
    std::size_t end = c.partial.rfind('\n');
    if (end == std::string::npos) return;
    const std::size_t start = c.partial.rfind('\n', end == 0 ? 0 : end - 1);
    const std::size_t from = (start == std::string::npos || start == end) ? 0 : start + 1;
    parse_status(c.partial.substr(from, end - from), c.latest);
    c.partial.erase(0, end + 1);
}

FleetCounters FleetWorkers::counters() const {
    std::lock_guard lock(mutex_);
    FleetCounters sum;
    for (const auto& c : children_)
        for (auto f : fields)
            sum.*f += c.latest.*f;
    return sum;
}

bool FleetWorkers::all_alive() const {
    std::lock_guard lock(mutex_);
    for (const auto& c : children_)
        if (c.exited) return false;
    return true;
}

std::vector<pid_t> FleetWorkers::pids() const {
    std::vector<pid_t> out;
    for (const auto& c : children_)
        out.push_back(c.pid);
    return out;
}

}  // namespace lwgate::bench
