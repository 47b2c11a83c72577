// upstream.dtls with a certificate: lwgate's own DTLS-PKI identity toward a core, checked
// against Debian's coap-server-openssl (a real libcoap DTLS server verifying client
// certificates against a CA). coap-server is not an LwM2M server: what matters here is that
// the DTLS handshake succeeds (the device gets the server's CoAP answer, not 5.02) with the
// right certificate and fails (5.02) with a certificate the server does not trust.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <unistd.h>
#include <chrono>
#include <thread>

#include "gateway_fixture.hpp"
#include "lwgate/devsim/device_simulator.hpp"
#include "lwgate/harness/process.hpp"
#include "lwgate/harness/test_certificates.hpp"

namespace lwgate::integration {
namespace {

// A UDP port P such that P and P + 1 (coap-server's DTLS port) are free right now.
std::uint16_t free_udp_port_pair() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        const int a = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        ::bind(a, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::getsockname(a, reinterpret_cast<sockaddr*>(&addr), &len);
        const std::uint16_t port = ntohs(addr.sin_port);
        const int b = ::socket(AF_INET, SOCK_DGRAM, 0);
        addr.sin_port = htons(static_cast<std::uint16_t>(port + 1));
        const bool ok =
            port < 65535 && ::bind(b, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(a);
        ::close(b);
        if (ok) return port;
    }
    throw std::runtime_error("no free UDP port pair");
}

// True once something holds UDP 127.0.0.1:port (our own bind of it fails): coap-server is up.
bool wait_udp_bound(std::uint16_t port, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        const bool taken = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0;
        ::close(fd);
        if (taken) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling, with a deadline
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

class CoapServerProcess {
  public:
    CoapServerProcess(std::vector<std::string> argv, const std::filesystem::path& log) {
        pid_ = ::fork();
        if (pid_ == 0) {
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            std::vector<char*> args;
            for (auto& a : argv)
                args.push_back(a.data());
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
    }
    ~CoapServerProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

  private:
    pid_t pid_ = -1;
};

class DtlsPkiTest : public GatewayTest {
  protected:
    void SetUp() override {
        if (!harness::program_exists("coap-server-openssl") ||
            !harness::program_exists("openssl")) {
            GTEST_SKIP() << "coap-server-openssl or openssl not installed";
        }
        certs_ = harness::make_test_certificates(dir_, "lwgate-gw");
        port_ = free_udp_port_pair();
        server_ = std::make_unique<CoapServerProcess>(
            std::vector<std::string>{
                "coap-server-openssl", "-A", "127.0.0.1", "-p", std::to_string(port_), "-c",
                certs_.server_certificate.string(), "-j", certs_.server_key.string(), "-C",
                certs_.ca.string(), "-v", "6"},
            dir_ / "coap-server.log");
        // lwgate must not send its ClientHello before coap-server listens (ICMP refused: 5.04).
        ASSERT_TRUE(wait_udp_bound(static_cast<std::uint16_t>(port_ + 1), 10s))
            << "coap-server-openssl did not bind its DTLS port";
    }

    void start_with(const std::filesystem::path& cert, const std::filesystem::path& key) {
        config.log_level = "debug";
        config.extra_yaml += "upstream:\n  uri: coaps://127.0.0.1:" + std::to_string(port_ + 1) +
                             "\n  ack_timeout: 1s\n  max_retransmit: 2\n"
                             "  dtls: { certificate: " +
                             cert.string() + ", private_key: " + key.string() +
                             ", ca: " + certs_.ca.string() + " }\n";
        start_gateway();
    }

    devsim::Result register_device(const std::string& endpoint) {
        devsim::DeviceOptions o;
        o.endpoint = endpoint;
        o.port = gateway.port();
        o.lifetime = 300;
        device_ = std::make_unique<devsim::DeviceSimulator>(o);
        return device_->register_device(15s);
    }

    harness::TempDir dir_;
    harness::TestCertificates certs_;
    std::uint16_t port_ = 0;
    std::unique_ptr<CoapServerProcess> server_;
    std::unique_ptr<devsim::DeviceSimulator> device_;
};

TEST_F(DtlsPkiTest, GatewayCertificateTrustedByTheCoreCompletesTheHandshake) {
    start_with(certs_.client_certificate, certs_.client_key);
    auto r = register_device("urn:pki:1");
    ASSERT_TRUE(r.ok()) << r.detail;
    // coap-server has no /rd: its 4.xx answer crossed the DTLS session.
    EXPECT_EQ(coap::code_class(r.code()), 4u) << coap::describe(r.response);
}

TEST_F(DtlsPkiTest, CertificateTheCoreDoesNotTrustGives502) {
    start_with(certs_.rogue_certificate, certs_.rogue_key);
    auto r = register_device("urn:pki:2");
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::bad_gateway) << coap::describe(r.response);
}

}  // namespace
}  // namespace lwgate::integration
