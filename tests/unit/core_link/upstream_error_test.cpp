// UpstreamErrc as a std::error_code (gateway/core_link/upstream_error.hpp), and the code the link
// to the core fails with: a local address that is not one, a local port another socket holds, a
// DTLS session without a key. Loopback only; nothing is sent.
#include "core_link/upstream_error.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <system_error>

#include <coap3/coap.h>
#include <asio/io_context.hpp>

#include "core_link/core_link.hpp"
#include "core_link/libcoap_setup.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::upstream {
namespace {

class NoHandler final : public CoreLinkHandler {
  public:
    void on_core_request(UpstreamSession&, CoreRequestId, coap::Message&&) override {}
    void on_core_response(UpstreamSession&, coap::Message&&) override {}
    void on_core_failure(UpstreamSession&, const coap::Token&, std::uint8_t,
                         std::string_view) override {}
    void on_core_reset(UpstreamSession&, const coap::Token&) override {}
};

config::UpstreamConfig core_at(config::Scheme scheme) {
    config::UpstreamConfig c;
    c.endpoint = {scheme, "127.0.0.1", 5683, "coap://127.0.0.1:5683"};
    return c;
}

// A UDP socket on a loopback port of the kernel's choice, without SO_REUSEADDR: nobody else can
// bind that port while it is open.
class HeldPort {
  public:
    HeldPort() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            ADD_FAILURE() << "cannot hold a loopback port";
        }
        port_ = ntohs(a.sin_port);
    }
    ~HeldPort() {
        if (fd_ >= 0) ::close(fd_);
    }
    HeldPort(const HeldPort&) = delete;
    HeldPort& operator=(const HeldPort&) = delete;
    std::uint16_t port() const { return port_; }

  private:
    int fd_;
    std::uint16_t port_ = 0;
};

TEST(UpstreamErrc, IsAnErrorCodeEnum) {
    const std::error_code ec = UpstreamErrc::cannot_open;  // implicit: is_error_code_enum
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec, UpstreamErrc::cannot_open);
    EXPECT_NE(ec, UpstreamErrc::no_psk);
    EXPECT_EQ(&ec.category(), &upstream_category());
    EXPECT_STREQ(ec.category().name(), "lwgate.upstream");
    EXPECT_EQ(ec.message(), "cannot open the upstream session");
}

TEST(UpstreamErrc, EveryValueHasItsOwnMessage) {
    const UpstreamErrc all[] = {UpstreamErrc::no_dtls,           UpstreamErrc::cannot_resolve,
                                UpstreamErrc::bad_local_address, UpstreamErrc::no_local_port,
                                UpstreamErrc::no_context,        UpstreamErrc::no_psk,
                                UpstreamErrc::cannot_open};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        for (std::size_t j = i + 1; j < std::size(all); ++j) {
            EXPECT_NE(make_error_code(all[i]).message(), make_error_code(all[j]).message());
        }
        EXPECT_EQ(make_error_code(all[i]).message().find("unknown"), std::string::npos);
    }
    EXPECT_EQ(upstream_category().message(99), "unknown lwgate.upstream error 99");
}

TEST(UpstreamErrc, LocalBinding) {
    init_libcoap();
    auto server = resolve("127.0.0.1", 5683);
    ASSERT_TRUE(server) << server.error().message();
    auto any = local_binding(*server, "", 0);
    ASSERT_TRUE(any) << any.error().message();
    EXPECT_TRUE(any->kernel_chooses);
    auto probed = local_binding(*server, "127.0.0.1", 0);
    ASSERT_TRUE(probed) << probed.error().message();
    EXPECT_FALSE(probed->kernel_chooses);
    EXPECT_NE(coap_address_get_port(&probed->address), 0);

    auto bad = local_binding(*server, "not-an-address", 0);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, UpstreamErrc::bad_local_address);
    EXPECT_EQ(bad.error().detail, "bad local address 'not-an-address'");
}

TEST(UpstreamErrc, OpenOnAHeldPortIsCannotOpen) {
    asio::io_context io;
    NoHandler handler;
    CoreLink link(io, core_at(config::Scheme::coap), handler, RealTimeSource::instance());
    auto started = link.start();
    ASSERT_TRUE(started) << started.error().message();

    UpstreamSession fine;
    auto opened = link.open(fine, "dev-a", std::nullopt, "127.0.0.1", 0);
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_NE(fine.local_port(), 0);
    link.close(fine);

    HeldPort held;
    UpstreamSession session;
    auto taken = link.open(session, "dev-b", std::nullopt, "127.0.0.1", held.port());
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().code, UpstreamErrc::cannot_open);
    EXPECT_EQ(taken.error().detail, "cannot create the upstream session for dev-b");

    auto bad = link.open(session, "dev-c", std::nullopt, "::1::1", 0);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, UpstreamErrc::bad_local_address);
}

TEST(UpstreamErrc, DtlsWithoutAKeyIsNoPsk) {
    if (!coap_dtls_is_supported()) GTEST_SKIP() << "libcoap without DTLS";
    asio::io_context io;
    NoHandler handler;
    CoreLink link(io, core_at(config::Scheme::coaps), handler, RealTimeSource::instance());
    auto started = link.start();
    ASSERT_TRUE(started) << started.error().message();
    UpstreamSession session;
    auto opened = link.open(session, "dev-a", std::nullopt);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, UpstreamErrc::no_psk);
    EXPECT_EQ(opened.error().detail,
              "no PSK for the DTLS session of dev-a (no credentials entry and no upstream.dtls "
              "identity)");
}

}  // namespace
}  // namespace lwgate::upstream
