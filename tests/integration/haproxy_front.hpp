// HAProxy in front of lwgate instances for the integration tests: started from a config of the
// test's own on an inherited listening socket, sending PROXY v2 to every backend.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lwgate/harness/harness.hpp"

namespace lwgate::integration {

// A listening socket on an ephemeral loopback port, handed to HAProxy as `bind fd@3`: the port is
// known before HAProxy starts and nobody can take it in between.
struct InheritedListener {
    int fd = -1;
    std::uint16_t port = 0;
    InheritedListener() {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof at;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || ::listen(fd, 64) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &length) != 0) {
            ADD_FAILURE() << "cannot listen on an ephemeral port";
        }
        port = ntohs(at.sin_port);
    }
    ~InheritedListener() { ::close(fd); }
};

inline pid_t start_haproxy(const std::string& config_file, const std::string& log_file,
                           int listen_fd) {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    if (listen_fd != 3) {
        ::dup2(listen_fd, 3);
    } else {
        ::fcntl(3, F_SETFD, 0);
    }
    const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(log, 1);
    ::dup2(log, 2);
    const char* haproxy =
        ::access("/usr/sbin/haproxy", X_OK) == 0 ? "/usr/sbin/haproxy" : "haproxy";
    ::execlp(haproxy, haproxy, "-db", "-f", config_file.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
}

// `balance`: HAProxy's balance algorithm over `gateway_ports` (source: one device, one server).
inline std::string haproxy_config(const std::vector<std::uint16_t>& gateway_ports,
                                  const std::string& balance) {
    std::string servers;
    for (std::size_t i = 0; i < gateway_ports.size(); ++i) {
        servers += "  server gw" + std::to_string(i) +
                   " 127.0.0.1:" + std::to_string(gateway_ports[i]) + " send-proxy-v2\n";
    }
    return "global\n"
           "  maxconn 100\n"
           "defaults\n"
           "  mode tcp\n"
           "  timeout connect 5s\n"
           "  timeout client 60s\n"
           "  timeout server 60s\n"
           "frontend devices\n"
           "  bind fd@3\n"
           "  default_backend lwgate\n"
           "backend lwgate\n"
           "  balance " +
           balance + "\n" + servers;
}

inline bool haproxy_installed() {
    return harness::program_exists("haproxy") || ::access("/usr/sbin/haproxy", X_OK) == 0;
}

// HAProxy in front of gateway ports, sending PROXY v2; stopped when it goes out of scope.
class HaproxyFront {
  public:
    HaproxyFront(const harness::TempDir& dir, const std::vector<std::uint16_t>& gateway_ports,
                 const std::string& balance = "source")
        : log_(dir / "haproxy.log") {
        const auto cfg = dir.write_file("haproxy.cfg", haproxy_config(gateway_ports, balance));
        pid_ = start_haproxy(cfg.string(), log_.string(), front_.fd);
        EXPECT_GT(pid_, 0);
    }
    ~HaproxyFront() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    HaproxyFront(const HaproxyFront&) = delete;
    HaproxyFront& operator=(const HaproxyFront&) = delete;

    std::uint16_t port() const { return front_.port; }
    std::string log() const {
        std::ifstream in(log_);
        return {std::istreambuf_iterator<char>(in), {}};
    }

  private:
    InheritedListener front_;
    std::filesystem::path log_;
    pid_t pid_ = -1;
};

}  // namespace lwgate::integration
