// coaps+tcp: TLS 1.2/1.3 with PSK and certificates against real peers (Debian's libcoap
// `coap-client-openssl` and `openssl s_client`). Throw-away certificates are generated per test
// suite with the openssl command-line tool: a CA, a server certificate for 127.0.0.1, a client
// certificate signed by the CA (CN = the device's endpoint name) and a self-signed client
// certificate the gateway must refuse. RawTlsClient puts the bytes on the wire itself: one per
// segment, half a handshake, a close at any point.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway_fixture.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "lwgate/devsim/device_simulator.hpp"
#include "lwgate/harness/admin_client.hpp"
#include "lwgate/harness/test_certificates.hpp"

namespace lwgate::integration {
namespace {

constexpr const char* kCoapClient = "coap-client-openssl";
// psk_key_hex of "secret123": libcoap's -k takes the key as raw text.
constexpr const char* kPskIdentity = "dev123";
constexpr const char* kPskText = "secret123";
constexpr const char* kPskHex = "736563726574313233";

// A TLS 1.2 PSK client (dev123, PSK-AES128-CCM8) on memory BIOs over a blocking TCP socket: the
// test decides how OpenSSL's output goes onto the wire.
class RawTlsClient {
  public:
    explicit RawTlsClient(std::uint16_t port) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_max_proto_version(ctx_, TLS1_2_VERSION);
        SSL_CTX_set_cipher_list(ctx_, "PSK-AES128-CCM8");
        SSL_CTX_set_psk_client_callback(ctx_, psk);
        ssl_ = SSL_new(ctx_);
        in_ = BIO_new(BIO_s_mem());
        out_ = BIO_new(BIO_s_mem());
        SSL_set_bio(ssl_, in_, out_);
        SSL_set_connect_state(ssl_);
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~RawTlsClient() {
        SSL_free(ssl_);
        SSL_CTX_free(ctx_);
        if (fd_ >= 0) ::close(fd_);
        ERR_clear_error();
    }
    RawTlsClient(const RawTlsClient&) = delete;
    RawTlsClient& operator=(const RawTlsClient&) = delete;

    bool connected() const { return connected_; }

    // The client's next handshake flight (the ClientHello first), not sent yet.
    std::string next_flight() {
        SSL_do_handshake(ssl_);
        return take_output();
    }

    // Sends `bytes` in `chunk`-byte segments, `pace` apart (so the gateway reads most of them
    // on their own; the outcome does not depend on it).
    bool send_raw(const std::string& bytes, std::size_t chunk, std::chrono::microseconds pace) {
        for (std::size_t at = 0; at < bytes.size(); at += chunk) {
            const std::size_t n = std::min(chunk, bytes.size() - at);
            if (::send(fd_, bytes.data() + at, n, MSG_NOSIGNAL) != static_cast<ssize_t>(n)) {
                return false;
            }
            if (pace.count() > 0) std::this_thread::sleep_for(pace);
        }
        return true;
    }

    bool handshake(std::size_t chunk, std::chrono::microseconds pace, Millis timeout) {
        const auto deadline = SteadyClock::now() + timeout;
        for (;;) {
            ERR_clear_error();
            const int r = SSL_do_handshake(ssl_);
            if (!send_raw(take_output(), chunk, pace)) return false;
            if (r == 1) return true;
            if (SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ) return false;
            if (!receive_some(until(deadline))) return false;
        }
    }

    bool send(const coap::Message& m, std::size_t chunk, std::chrono::microseconds pace) {
        const auto frame = coap::encode(m);
        std::size_t n = 0;
        if (SSL_write_ex(ssl_, frame.data(), frame.size(), &n) != 1) return false;
        return send_raw(take_output(), chunk, pace);
    }

    // The gateway's next CoAP message.
    std::optional<coap::Message> receive(Millis timeout) {
        const auto deadline = SteadyClock::now() + timeout;
        for (;;) {
            while (!plain_.empty()) {
                const auto step = decoder_.feed(
                    {reinterpret_cast<const std::uint8_t*>(plain_.data()), plain_.size()});
                plain_.erase(0, step.consumed);
                if (step.result) {
                    auto* m = std::get_if<coap::Message>(&*step.result);
                    if (!m) return std::nullopt;
                    return std::move(*m);
                }
                if (step.consumed == 0) break;
            }
            if (closed_ || !decrypt(deadline)) return std::nullopt;
        }
    }

    // Reads until the gateway's close_notify (true) or anything else ends the stream (false).
    bool wait_close_notify(Millis timeout) {
        const auto deadline = SteadyClock::now() + timeout;
        while (!closed_ && decrypt(deadline)) {
        }
        return close_notify_;
    }

    // True once the gateway closed TCP too (EOF after everything it sent).
    bool wait_eof(Millis timeout) {
        const auto deadline = SteadyClock::now() + timeout;
        while (!eof_ && receive_some(until(deadline))) {
        }
        return eof_;
    }

    void close_notify_and_fin() {
        SSL_shutdown(ssl_);
        send_raw(take_output(), 1 << 20, {});
        ::shutdown(fd_, SHUT_WR);
    }
    void fin() { ::shutdown(fd_, SHUT_WR); }
    void reset() {
        const linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(fd_);
        fd_ = -1;
    }

  private:
    static unsigned int psk(SSL*, const char*, char* identity, unsigned int max_identity,
                            unsigned char* key, unsigned int max_key) {
        if (max_identity <= std::strlen(kPskIdentity) || max_key < std::strlen(kPskText)) return 0;
        std::strcpy(identity, kPskIdentity);
        std::memcpy(key, kPskText, std::strlen(kPskText));
        return static_cast<unsigned int>(std::strlen(kPskText));
    }

    std::string take_output() {
        char* data = nullptr;
        const long size = BIO_get_mem_data(out_, &data);
        std::string bytes(data, static_cast<std::size_t>(size));
        (void)BIO_reset(out_);
        return bytes;
    }

    // Waits for bytes from the gateway and hands them to OpenSSL. False on timeout or EOF.
    bool receive_some(Millis timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        BIO_write(in_, buf, static_cast<int>(n));
        return true;
    }

    // Decrypts what arrived, waiting for more when there is nothing. False when the stream ended
    // or the deadline passed.
    bool decrypt(SteadyClock::time_point deadline) {
        for (;;) {
            ERR_clear_error();
            char buf[4096];
            std::size_t n = 0;
            if (SSL_read_ex(ssl_, buf, sizeof buf, &n) == 1) {
                plain_.append(buf, n);
                return true;
            }
            const int err = SSL_get_error(ssl_, 0);
            if (err == SSL_ERROR_ZERO_RETURN) close_notify_ = true;
            if (err != SSL_ERROR_WANT_READ) {
                closed_ = true;
                return false;
            }
            if (!receive_some(until(deadline))) {
                if (eof_) closed_ = true;
                return false;
            }
        }
    }

    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    BIO* in_ = nullptr;
    BIO* out_ = nullptr;
    int fd_ = -1;
    bool connected_ = false;
    bool closed_ = false;
    bool close_notify_ = false;
    bool eof_ = false;
    std::string plain_;
    coap::TcpDecoder decoder_{64 * 1024};
};

std::string dump(const harness::ProcessResult& r) {
    return "exit=" + std::to_string(r.exit_code) + "\n--- stdout ---\n" + r.out +
           "--- stderr ---\n" + r.err;
}

class TlsTest : public GatewayTest {
  protected:
    static void SetUpTestSuite() {
        certs_ = new harness::TempDir("lwgate-certs-");
        if (harness::program_exists("openssl")) {
            harness::make_test_certificates(*certs_, "urn:imei:123");
        }
    }
    static void TearDownTestSuite() {
        delete certs_;
        certs_ = nullptr;
    }

    void SetUp() override {
        if (!harness::program_exists(kCoapClient) || !harness::program_exists("openssl")) {
            GTEST_SKIP() << "coap-client-openssl or openssl not installed";
        }
    }

    std::string cert(const char* name) const { return (*certs_ / name).string(); }

    // `connections` goes into the connections map as is ("1h" or "1h, key: value"); `extra` is
    // appended at the top level.
    void start_tls_gateway(bool require_client_certificate = false,
                           const std::string& unregistered_idle = "1h",
                           const std::string& extra = "",
                           const std::string& handshake_timeout = "1s") {
        std::string yaml =
            "listeners:\n"
            "  - uri: coaps+tcp://127.0.0.1:0\n"
            "    tls:\n"
            "      certificate: " +
            cert("server.pem") +
            "\n"
            "      private_key: " +
            cert("server.key") +
            "\n"
            "      ca: " +
            cert("ca.pem") +
            "\n"
            "      require_client_certificate: " +
            (require_client_certificate ? "true" : "false") +
            "\n"
            "      psk: true\n"
            "      handshake_timeout: " +
            handshake_timeout +
            "\n"
            "  - uri: coap+tcp://127.0.0.1:0\n"
            "credentials:\n"
            "  - endpoint: urn:imei:123\n"
            "    psk_identity: " +
            std::string(kPskIdentity) +
            "\n"
            "    psk_key_hex: " +
            kPskHex +
            "\n"
            "connections: { unregistered_idle: " +
            unregistered_idle +
            " }\n"
            "shutdown: { drain_timeout: 2s, hold_off_min: 1s, hold_off_max: 2s }\n"
            "admin: { listen: '127.0.0.1:0' }\n"  // never the default 8484: tests run in parallel
            "log: { level: debug }\n" +
            extra;
        gateway.start(LWGATE_BINARY, yaml);
        ASSERT_EQ(gateway.listener_count(), 2u);
        ASSERT_EQ(gateway.uri(0).rfind("coaps+tcp://", 0), 0u) << gateway.uri(0);
    }

    std::string tls_uri() const {
        return "coaps+tcp://127.0.0.1:" + std::to_string(gateway.port(0)) + "/3/0";
    }
    std::string tls_hostport() const { return "127.0.0.1:" + std::to_string(gateway.port(0)); }

    harness::ProcessResult coap_client(std::vector<std::string> args) {
        std::vector<std::string> argv{kCoapClient, "-B", "5"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(tls_uri());
        return harness::run_process(argv, 20s);
    }

    harness::ProcessResult s_client(std::vector<std::string> args) {
        std::vector<std::string> argv{"openssl",       "s_client",   "-connect", tls_hostport(),
                                      "-psk_identity", kPskIdentity, "-psk",     kPskHex};
        argv.insert(argv.end(), args.begin(), args.end());
        return harness::run_process(argv, 20s);
    }

    // A plain-TCP client on the second listener proves the gateway still serves others.
    void expect_plain_listener_works() {
        DeviceClient device;
        device.connect(kLoopback, gateway.port(1));
        ASSERT_TRUE(device.handshake_csm(3s));
        auto pong = device.ping(coap::Token::from_u64(0x77), false, 3s);
        ASSERT_TRUE(pong) << "no Pong from the gateway";
        EXPECT_EQ(pong->token(), coap::Token::from_u64(0x77));
    }

    static harness::TempDir* certs_;
};

harness::TempDir* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, CoapClientWithPskGetsAnswer) {
    start_tls_gateway();
    const auto r = coap_client({"-u", kPskIdentity, "-k", kPskText, "-m", "get"});
    ASSERT_FALSE(r.timed_out) << dump(r);
    EXPECT_NE((r.out + r.err).find("4.03 no LwM2M registration"), std::string::npos) << dump(r);
    EXPECT_TRUE(gateway.wait_for_log("psk_identity='dev123'", 3s)) << gateway.log();
    EXPECT_EQ(gateway.count_in_log("reason=tls_failure"), 0u);
}

TEST_F(TlsTest, CoapClientWithWrongPskIsRefusedOthersUnaffected) {
    start_tls_gateway();
    const auto bad = coap_client({"-u", kPskIdentity, "-k", "wrong-key", "-m", "get"});
    EXPECT_EQ((bad.out + bad.err).find("4.03 no LwM2M registration"), std::string::npos)
        << dump(bad);
    // The security log: once, with the identity and the remote address.
    EXPECT_TRUE(gateway.wait_for_log("refused: TLS handshake failed: ", 3s)) << gateway.log();
    EXPECT_TRUE(
        gateway.wait_for_log("reason=tls_failure identity=psk:dev123 remote=127.0.0.1:", 3s))
        << gateway.log();
    const auto unknown = coap_client({"-u", "nobody", "-k", kPskText, "-m", "get"});
    EXPECT_EQ((unknown.out + unknown.err).find("4.03 no LwM2M registration"), std::string::npos)
        << dump(unknown);
    EXPECT_TRUE(gateway.wait_for_log(
        "reason=unknown_psk_identity identity=psk:nobody remote=127.0.0.1:", 3s))
        << gateway.log();
    const auto good = coap_client({"-u", kPskIdentity, "-k", kPskText, "-m", "get"});
    EXPECT_NE((good.out + good.err).find("4.03 no LwM2M registration"), std::string::npos)
        << dump(good);
    expect_plain_listener_works();
    EXPECT_EQ(gateway.count_in_log("identity=psk:nobody"), 1u) << gateway.log();
    EXPECT_EQ(gateway.count_in_log("reason=tls_failure"), 1u) << "logged once: " << gateway.log();
    const auto metrics = harness::AdminClient(gateway.admin_url()).get("/metrics").body;
    EXPECT_EQ(metric_value(metrics, "lwgate_refused_total{reason=\"unknown_psk_identity\"}"), 1)
        << metrics;
    EXPECT_EQ(metric_value(metrics, "lwgate_refused_total{reason=\"tls_failure\"}"), 1);
    EXPECT_EQ(metric_value(metrics, "lwgate_tls_failures_total"), 2);
}

TEST_F(TlsTest, CoapClientWithCertificateGetsAnswerAndCnIsRecorded) {
    start_tls_gateway(true);
    const auto r = coap_client(
        {"-c", cert("client.pem"), "-j", cert("client.key"), "-C", cert("ca.pem"), "-m", "get"});
    ASSERT_FALSE(r.timed_out) << dump(r);
    EXPECT_NE((r.out + r.err).find("4.03 no LwM2M registration"), std::string::npos) << dump(r);
    EXPECT_TRUE(gateway.wait_for_log("cert_cn='urn:imei:123'", 3s)) << gateway.log();
}

TEST_F(TlsTest, UntrustedClientCertificateIsRefused) {
    start_tls_gateway(true);
    const auto r = coap_client(
        {"-c", cert("rogue.pem"), "-j", cert("rogue.key"), "-C", cert("ca.pem"), "-m", "get"});
    EXPECT_EQ((r.out + r.err).find("4.03 no LwM2M registration"), std::string::npos) << dump(r);
    // The certificate's name and why it did not verify: what an operator needs to fix it.
    EXPECT_TRUE(gateway.wait_for_log("(certificate: self", 3s)) << gateway.log();
    EXPECT_TRUE(gateway.wait_for_log(
        "reason=certificate_rejected identity=cert:urn:imei:123 remote=127.0.0.1:", 3s))
        << gateway.log();
    expect_plain_listener_works();
    EXPECT_EQ(gateway.count_in_log("reason=certificate_rejected"), 1u) << gateway.log();
    EXPECT_EQ(metric_value(harness::AdminClient(gateway.admin_url()).get("/metrics").body,
                           "lwgate_refused_total{reason=\"certificate_rejected\"}"),
              1);
}

TEST_F(TlsTest, CoapClientPingsOverTlsGetPongs) {
    start_tls_gateway();
    const auto r = coap_client(
        {"-u", kPskIdentity, "-k", kPskText, "-v", "7", "-K", "1", "-G", "3", "-m", "get"});
    ASSERT_FALSE(r.timed_out) << dump(r);
    const std::string all = r.out + r.err;
    // Three answered GETs (4.03: no registration) on one TLS connection, whatever the Ping timing
    // inside coap-client.
    std::size_t answers = 0;
    for (auto pos = all.find("c:4.03"); pos != std::string::npos; pos = all.find("c:4.03", pos + 1))
        ++answers;
    EXPECT_EQ(answers, 3u) << dump(r);
    std::size_t pings = 0, pongs = 0;
    for (auto pos = all.find("c:Ping"); pos != std::string::npos; pos = all.find("c:Ping", pos + 1))
        ++pings;
    for (auto pos = all.find("c:Pong"); pos != std::string::npos; pos = all.find("c:Pong", pos + 1))
        ++pongs;
    // coap-client may send one last Ping as it exits after its third answer; that one cannot be
    // answered before the connection goes. Every earlier Ping must have been.
    EXPECT_LE(pings, pongs + 1) << "every Ping answered\n" << dump(r);
    if (pings >= 2) {
        EXPECT_GE(pongs, 1u) << dump(r);
    }
    EXPECT_EQ(gateway.count_in_log("accepted remote"), 1u) << gateway.log();
}

TEST_F(TlsTest, Tls13ExternalPskWithAlpnCoap) {
    start_tls_gateway();
    const auto r =
        s_client({"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-alpn", "coap"});
    EXPECT_NE(r.out.find("TLSv1.3"), std::string::npos) << dump(r);
    EXPECT_NE(r.out.find("ALPN protocol: coap"), std::string::npos) << dump(r);
    EXPECT_TRUE(
        gateway.wait_for_log("version=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256 "
                             "psk_identity='dev123'",
                             3s))
        << gateway.log();
}

TEST_F(TlsTest, Tls12PskAes128Ccm8) {
    start_tls_gateway();
    const auto r = s_client({"-tls1_2", "-cipher", "PSK-AES128-CCM8"});
    EXPECT_NE(r.out.find("Cipher is PSK-AES128-CCM8"), std::string::npos) << dump(r);
    EXPECT_TRUE(gateway.wait_for_log("cipher=PSK-AES128-CCM8 psk_identity='dev123'", 3s))
        << gateway.log();
}

TEST_F(TlsTest, AlpnWithoutCoapIsRefused) {
    start_tls_gateway();
    const auto r = s_client({"-tls1_3", "-alpn", "h2"});
    EXPECT_EQ(r.out.find("ALPN protocol: h2"), std::string::npos) << dump(r);
    EXPECT_TRUE(gateway.wait_for_log("reason=tls_failure", 3s)) << gateway.log();
}

// A client that connects and never starts the handshake is dropped after handshake_timeout;
// a well-behaved device meanwhile is served.
TEST_F(TlsTest, SlowHandshakeClosesOnlyThatConnection) {
    start_tls_gateway();
    DeviceClient silent;
    silent.connect(kLoopback, gateway.port(0));
    const auto connected = SteadyClock::now();
    const auto r = coap_client({"-u", kPskIdentity, "-k", kPskText, "-m", "get"});
    EXPECT_NE((r.out + r.err).find("4.03 no LwM2M registration"), std::string::npos) << dump(r);
    const auto state = silent.wait_closed(5s);
    EXPECT_NE(state, CloseState::still_open) << "the gateway kept a connection without handshake";
    const auto elapsed = ms_since(connected);
    EXPECT_GE(elapsed, 900ms);
    EXPECT_LE(elapsed, 2500ms);
    EXPECT_TRUE(gateway.wait_for_log("reason=handshake_timeout", 2s)) << gateway.log();
}

// connections.max_tls_handshakes: with one slot on the one shard, a client that connects and
// never sends its ClientHello holds the slot; the next client's handshake starts only when the
// first one's handshake_timeout (1 s) frees it, and then completes.
TEST_F(TlsTest, HandshakesBeyondTheCapWaitForASlot) {
    start_tls_gateway(false, "1h, max_tls_handshakes: 1", "threads: 1\n");
    DeviceClient silent;
    silent.connect(kLoopback, gateway.port(0));
    ASSERT_TRUE(gateway.wait_for_log("transport=tls", 3s)) << gateway.log();  // accepted first
    const auto connected = SteadyClock::now();
    const auto r = s_client({"-tls1_2", "-cipher", "PSK-AES128-CCM8"});
    EXPECT_NE(r.out.find("Cipher is PSK-AES128-CCM8"), std::string::npos) << dump(r);
    EXPECT_GE(ms_since(connected), 900ms) << "the second handshake waited for the slot";
    EXPECT_GE(gateway.count_in_log("TLS handshake waits"), 1u) << gateway.log();
    EXPECT_GE(gateway.count_in_log("reason=handshake_timeout"), 1u) << gateway.log();
    expect_plain_listener_works();  // plain TCP is not held up by the cap
}

// connections.max_tls_handshakes_per_address: one address opens 40 connections that never finish
// their ClientHello (most send nothing, some half of one). Only 4 of them wait for a handshake
// slot; the others are closed at once, before any handshake, and counted. So the 8 slots of
// the one shard are not all taken, and a TLS-PSK device connecting from another address
// (127.0.0.2) completes its handshake at once, not when the stalled ones time out (10 s). Once
// the stalled ones are gone, their address is admitted again: its count went back to zero.
TEST_F(TlsTest, StalledHandshakesFromOneAddressLeaveSlotsForOthers) {
    start_tls_gateway(false, "1h, max_tls_handshakes: 8, max_tls_handshakes_per_address: 4",
                      "threads: 1\n", "10s");
    constexpr long long stalled = 40;
    std::vector<DeviceClient> silent;
    std::vector<std::unique_ptr<RawTlsClient>> half_hello;
    for (long long i = 0; i < stalled; ++i) {
        if (i % 5 == 0) {
            half_hello.push_back(std::make_unique<RawTlsClient>(gateway.port(0)));
            ASSERT_TRUE(half_hello.back()->connected());
            const std::string hello = half_hello.back()->next_flight();
            half_hello.back()->send_raw(hello.substr(0, hello.size() / 2), 1 << 20, 0us);
        } else {
            silent.emplace_back().connect(kLoopback, gateway.port(0));
        }
    }
    // Every stalled connection went through the accepting thread: 4 admitted, the rest refused.
    EXPECT_TRUE(gateway.wait_for_log("connections.max_tls_handshakes_per_address", 2s, stalled - 4))
        << gateway.log();
    EXPECT_TRUE(gateway.wait_for_log("accepted remote=127.0.0.1", 2s, 4)) << gateway.log();
    const harness::AdminClient admin(gateway.admin_url());
    const std::string refused_sample =
        "lwgate_refused_total{reason=\"limit_handshakes_per_address\"}";
    const auto metrics = admin.get("/metrics").body;
    EXPECT_EQ(metric_value(metrics, refused_sample), stalled - 4) << metrics;
    EXPECT_EQ(metric_value(metrics, "lwgate_accepted_total"), 4) << metrics;
    EXPECT_NE(silent.back().wait_closed(1s), CloseState::still_open)
        << "a refused connection waits instead of being closed";

    devsim::DeviceOptions o;
    o.port = gateway.port(0);
    o.local_address = "127.0.0.2";
    o.transport = devsim::Transport::tls;
    o.tls.psk_identity = kPskIdentity;
    o.tls.psk_key.assign(kPskText, kPskText + std::strlen(kPskText));
    devsim::DeviceSimulator device(o);
    const auto connecting = SteadyClock::now();
    const auto r = device.connect(3s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_LT(ms_since(connecting), 500ms) << "the device waited behind the stalled handshakes";
    EXPECT_TRUE(gateway.wait_for_log("remote=127.0.0.2", 1s)) << gateway.log();

    silent.clear();  // the stalled ones go away mid-handshake
    half_hello.clear();
    ASSERT_TRUE(gateway.wait_for_log("reason=tls_failure", 3s, 4)) << gateway.log();
    RawTlsClient again(gateway.port(0));
    ASSERT_TRUE(again.handshake(1 << 20, 0us, 3s)) << "127.0.0.1 is still refused";
    EXPECT_EQ(metric_value(admin.get("/metrics").body, refused_sample), stalled - 4);
}

// Every TLS record cut into one-byte TCP segments (handshake, CSM, Ping): the gateway keeps the
// partial records and answers once they are whole.
TEST_F(TlsTest, RecordsArrivingOneBytePerSegmentAreReassembled) {
    start_tls_gateway();
    RawTlsClient client(gateway.port(0));
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.handshake(1, 100us, 5s)) << gateway.log();
    ASSERT_TRUE(client.send(coap::make_csm(1152, false), 1, 100us));
    const auto csm = client.receive(3s);
    ASSERT_TRUE(csm.has_value());
    EXPECT_EQ(csm->code(), code::csm);
    ASSERT_TRUE(client.send(coap::make_ping(coap::Token::from_u64(0x42)), 1, 100us));
    const auto pong = client.receive(3s);
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->code(), code::pong);
    EXPECT_EQ(pong->token(), coap::Token::from_u64(0x42));
    EXPECT_TRUE(gateway.wait_for_log("psk_identity='dev123'", 3s)) << gateway.log();
}

// A device that goes away in the middle of its ClientHello, with a FIN or with an RST, is a
// failed handshake of its own connection (not a handshake timeout); the next device is served.
TEST_F(TlsTest, PeerClosingMidHandshakeFailsOnlyThatConnection) {
    start_tls_gateway();
    {
        RawTlsClient fin(gateway.port(0));
        const std::string hello = fin.next_flight();
        ASSERT_GT(hello.size(), 20u);
        ASSERT_TRUE(fin.send_raw(hello.substr(0, hello.size() / 2), 1, 100us));
        fin.fin();
        EXPECT_TRUE(fin.wait_eof(3s)) << "the gateway kept the half-closed connection";
    }
    EXPECT_TRUE(gateway.wait_for_log("reason=tls_failure", 3s)) << gateway.log();
    {
        RawTlsClient rst(gateway.port(0));
        const std::string hello = rst.next_flight();
        ASSERT_TRUE(rst.send_raw(hello.substr(0, hello.size() / 2), 1, 100us));
        ASSERT_TRUE(gateway.wait_for_log("accepted remote", 3s, 2)) << gateway.log();
        rst.reset();
    }
    EXPECT_TRUE(gateway.wait_for_log("reason=tls_failure", 3s, 2)) << gateway.log();
    EXPECT_EQ(gateway.count_in_log("reason=handshake_timeout"), 0u) << gateway.log();

    RawTlsClient good(gateway.port(0));
    ASSERT_TRUE(good.handshake(1 << 20, 0us, 5s));
    ASSERT_TRUE(good.send(coap::make_csm(1152, false), 1 << 20, 0us));
    const auto csm = good.receive(3s);
    ASSERT_TRUE(csm.has_value());
    EXPECT_EQ(csm->code(), code::csm);
}

// An orderly close by the gateway (here: no registration within connections.unregistered_idle)
// sends close_notify before its FIN, so the device can tell it from a truncation, and lingers
// until the device closes too.
TEST_F(TlsTest, OrderlyCloseSendsCloseNotifyThenFinAndLingers) {
    start_tls_gateway(false, "1s");
    RawTlsClient client(gateway.port(0));
    ASSERT_TRUE(client.handshake(1 << 20, 0us, 5s));
    ASSERT_TRUE(client.send(coap::make_csm(1152, false), 1 << 20, 0us));
    ASSERT_TRUE(client.receive(3s).has_value());
    EXPECT_TRUE(client.wait_close_notify(5s)) << "no close_notify from the gateway";
    EXPECT_TRUE(client.wait_eof(3s)) << "no FIN after the close_notify";
    EXPECT_EQ(gateway.count_in_log("reason=unregistered_idle"), 0u)
        << "the gateway did not linger for the device's close\n"
        << gateway.log();
    client.close_notify_and_fin();
    EXPECT_TRUE(gateway.wait_for_log("reason=unregistered_idle", 3s)) << gateway.log();
    EXPECT_EQ(gateway.count_in_log("reason=tls_failure"), 0u) << gateway.log();
}

}  // namespace
}  // namespace lwgate::integration
