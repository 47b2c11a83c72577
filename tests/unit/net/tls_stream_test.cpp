// net::TlsStream (the server side) against an OpenSSL client on memory BIOs whose bytes the test
// carries over a socketpair by hand: every byte boundary, stall and close is chosen by the test,
// and the server's io_context is polled in between (no network, no threads, no sleeps).
#include "net/tls_stream.hpp"

#include "net/handshake_rejection.hpp"
#include "net/tls_context.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <asio/io_context.hpp>

namespace lwgate::net {
namespace {

// OpenSSL's heap in use, so a test can see whether an idle stream still holds buffers. Installed
// before OpenSSL's first allocation (static initialisation of this test program).
std::atomic<long long> openssl_heap{0};
constexpr std::size_t kHeader = 16;  // keeps malloc's alignment for the caller

void* counted_malloc(std::size_t n, const char*, int) {
    auto* base = static_cast<std::size_t*>(std::malloc(n + kHeader));
    if (!base) return nullptr;
    *base = n;
    openssl_heap += static_cast<long long>(n);
    return reinterpret_cast<char*>(base) + kHeader;
}

void counted_free(void* p, const char*, int) {
    if (!p) return;
    auto* base = reinterpret_cast<std::size_t*>(static_cast<char*>(p) - kHeader);
    openssl_heap -= static_cast<long long>(*base);
    std::free(base);
}

void* counted_realloc(void* p, std::size_t n, const char* file, int line) {
    if (!p) return counted_malloc(n, file, line);
    if (n == 0) {
        counted_free(p, file, line);
        return nullptr;
    }
    auto* base = reinterpret_cast<std::size_t*>(static_cast<char*>(p) - kHeader);
    const std::size_t old = *base;
    auto* moved = static_cast<std::size_t*>(std::realloc(base, n + kHeader));
    if (!moved) return nullptr;
    *moved = n;
    openssl_heap += static_cast<long long>(n) - static_cast<long long>(old);
    return reinterpret_cast<char*>(moved) + kHeader;
}

const bool heap_counted =
    CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free) == 1;

constexpr unsigned char kKey[] = {'s', 'e', 'c', 'r', 'e', 't', '1', '2', '3'};

unsigned int client_psk(SSL*, const char*, char* identity, unsigned int max_identity,
                        unsigned char* psk, unsigned int max) {
    if (max_identity < 4 || max < sizeof kKey) return 0;
    std::strcpy(identity, "dev");
    std::memcpy(psk, kKey, sizeof kKey);
    return sizeof kKey;
}

// A client whose identity has no credentials entry.
unsigned int stranger_psk(SSL*, const char*, char* identity, unsigned int max_identity,
                          unsigned char* psk, unsigned int max) {
    if (max_identity < 7 || max < sizeof kKey) return 0;
    std::strcpy(identity, "nobody");
    std::memcpy(psk, kKey, sizeof kKey);
    return sizeof kKey;
}

struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// The server is the listeners' TlsServerContext with PSK. The parameter is the protocol version:
// TLS 1.2 (PSK-AES128-CCM8, as constrained devices use) or TLS 1.3 (external PSK).
class TlsStreamTest : public ::testing::TestWithParam<int> {
  protected:
    void SetUp() override {
        ASSERT_TRUE(heap_counted) << "OpenSSL allocated before the test could count its heap";
        // The listeners' own context (PSK, SSL_MODE_RELEASE_BUFFERS, ...).
        config::TlsConfig tls;
        tls.psk = true;
        auto created = TlsServerContext::create(
            tls, PskTable::from({{"urn:dev", "dev", {std::begin(kKey), std::end(kKey)}, 0}}));
        ASSERT_TRUE(created) << created.error().message();
        server_ = std::move(created).value();
        client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
        ASSERT_TRUE(client_ctx_);
        SSL_CTX* c = client_ctx_.get();
        SSL_CTX_set_min_proto_version(c, GetParam());
        SSL_CTX_set_max_proto_version(c, GetParam());
        SSL_CTX_set_cipher_list(c, "PSK-AES128-CCM8");
        SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256");
        SSL_CTX_set_psk_client_callback(c, client_psk);

        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        peer_ = fds[1];
        ASSERT_EQ(::fcntl(peer_, F_SETFL, O_NONBLOCK), 0);
        asio::ip::tcp::socket socket(io_);
        socket.assign(asio::ip::tcp::v4(), fds[0]);
        stream_ =
            std::make_unique<TlsStream>(std::move(socket), server_->context().native_handle());

        client_ = SSL_new(client_ctx_.get());
        ASSERT_NE(client_, nullptr);
        to_client_ = BIO_new(BIO_s_mem());
        from_client_ = BIO_new(BIO_s_mem());
        SSL_set_bio(client_, to_client_, from_client_);
        SSL_set_connect_state(client_);
    }

    void TearDown() override {
        stream_.reset();
        io_.poll();  // handlers of aborted waits
        SSL_free(client_);
        if (peer_ >= 0) ::close(peer_);
        ERR_clear_error();
    }

    // What the client wrote, onto the socket `chunk` bytes at a time; the server's io_context runs
    // after every chunk, so it sees each one on its own.
    void send_client_output(std::size_t chunk = 1 << 20) {
        char* data = nullptr;
        const long size = BIO_get_mem_data(from_client_, &data);
        std::vector<char> bytes(data, data + size);
        (void)BIO_reset(from_client_);
        send_raw(bytes, chunk);
    }

    void send_raw(const std::vector<char>& bytes, std::size_t chunk) {
        for (std::size_t at = 0; at < bytes.size(); at += chunk) {
            const std::size_t n = std::min(chunk, bytes.size() - at);
            ASSERT_EQ(::send(peer_, bytes.data() + at, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
            io_.poll();
            io_.restart();
        }
        io_.poll();
        io_.restart();
    }

    // What the server wrote, into the client. False when there was nothing.
    bool receive_server_output() {
        bool any = false;
        char buf[16384];
        for (;;) {
            const ssize_t n = ::recv(peer_, buf, sizeof buf, 0);
            if (n <= 0) return any;
            BIO_write(to_client_, buf, static_cast<int>(n));
            any = true;
        }
    }

    // Drives both sides until the handshake completed (or failed) on the server.
    void handshake(std::size_t chunk = 1 << 20) {
        stream_->async_handshake([this](const std::error_code& ec) { handshake_result_ = ec; });
        for (int round = 0; round < 50 && !handshake_result_; ++round) {
            SSL_do_handshake(client_);
            send_client_output(chunk);
            receive_server_output();
        }
        ASSERT_TRUE(handshake_result_.has_value()) << "the handshake did not finish";
        ASSERT_FALSE(*handshake_result_) << handshake_result_->message();
        // The client finishes with the server's last flight (and TLS 1.3 session tickets).
        ASSERT_EQ(SSL_do_handshake(client_), 1);
        ASSERT_EQ(SSL_version(client_), GetParam());
        client_read();
    }

    // The server's reading loop, as DownstreamSession runs it.
    void start_reading() {
        for (;;) {
            std::error_code ec;
            char buf[4096];
            const std::size_t n = stream_->read_some(asio::buffer(buf), ec);
            if (ec == asio::error::would_block) {
                stream_->async_wait_readable([this](const std::error_code& e) {
                    if (e) {
                        read_error_ = e;
                        return;
                    }
                    start_reading();
                });
                return;
            }
            if (ec) {
                read_error_ = ec;
                return;
            }
            received_.append(buf, n);
        }
    }

    void client_write(const std::string& text) {
        std::size_t n = 0;
        ASSERT_EQ(SSL_write_ex(client_, text.data(), text.size(), &n), 1);
    }

    // Everything the client can decrypt from what the server sent so far.
    std::string client_read() {
        receive_server_output();
        std::string out;
        char buf[16384];
        std::size_t n = 0;
        while (SSL_read_ex(client_, buf, sizeof buf, &n) == 1)
            out.append(buf, n);
        return out;
    }

    asio::io_context io_;
    TlsServerContextPtr server_;
    SslCtxPtr client_ctx_;
    std::unique_ptr<TlsStream> stream_;
    int peer_ = -1;
    SSL* client_ = nullptr;
    BIO* to_client_ = nullptr;
    BIO* from_client_ = nullptr;
    std::optional<std::error_code> handshake_result_;
    std::optional<std::error_code> read_error_;
    std::string received_;
};

TEST_P(TlsStreamTest, HandshakeAndRecordsArriveOneByteAtATime) {
    handshake(1);
    start_reading();
    client_write("hello, gateway");
    char* data = nullptr;
    const long size = BIO_get_mem_data(from_client_, &data);
    std::vector<char> record(data, data + size);
    (void)BIO_reset(from_client_);
    ASSERT_GT(record.size(), 5u);
    // Every byte but the last: the record is incomplete and nothing may come out.
    send_raw({record.begin(), record.end() - 1}, 1);
    EXPECT_EQ(received_, "");
    EXPECT_FALSE(read_error_);
    send_raw({record.end() - 1, record.end()}, 1);
    EXPECT_EQ(received_, "hello, gateway");
    EXPECT_FALSE(read_error_);
}

TEST_P(TlsStreamTest, SeveralRecordsInOneSegmentAreAllRead) {
    handshake();
    start_reading();
    client_write("one ");
    client_write("two ");
    client_write("three");
    send_client_output();  // three records, one write: one wake-up must read them all
    EXPECT_EQ(received_, "one two three");
}

TEST_P(TlsStreamTest, PeerClosingMidHandshakeFailsTheHandshake) {
    stream_->async_handshake([this](const std::error_code& ec) { handshake_result_ = ec; });
    SSL_do_handshake(client_);
    char* data = nullptr;
    const long size = BIO_get_mem_data(from_client_, &data);
    ASSERT_GT(size, 10);
    send_raw(std::vector<char>(data, data + size / 2), 7);  // half a ClientHello
    EXPECT_FALSE(handshake_result_.has_value());
    ::shutdown(peer_, SHUT_WR);
    io_.poll();
    ASSERT_TRUE(handshake_result_.has_value());
    EXPECT_EQ(*handshake_result_, asio::ssl::error::stream_truncated)
        << handshake_result_->message();
}

// For the security log: the identity a refused client offered is still known once the
// handshake failed (OpenSSL itself forgets it), and a known identity leaves nothing noted.
TEST_P(TlsStreamTest, AnUnknownPskIdentityIsNotedWhenTheHandshakeFails) {
    SSL_set_psk_client_callback(client_, stranger_psk);
    stream_->async_handshake([this](const std::error_code& ec) { handshake_result_ = ec; });
    for (int round = 0; round < 10 && !handshake_result_; ++round) {
        SSL_do_handshake(client_);
        send_client_output();
        receive_server_output();
    }
    ASSERT_TRUE(handshake_result_.has_value());
    ASSERT_TRUE(*handshake_result_) << "the handshake must fail";
    const auto* noted = noted_rejection(stream_->native_handle());
    ASSERT_NE(noted, nullptr);
    EXPECT_EQ(noted->unknown_psk_identity, "nobody");
    EXPECT_FALSE(noted->certificate_rejected);
    EXPECT_FALSE(is_certificate_error(*handshake_result_)) << handshake_result_->message();
}

TEST_P(TlsStreamTest, AKnownPskIdentityLeavesNothingNoted) {
    handshake();
    EXPECT_EQ(noted_rejection(stream_->native_handle()), nullptr);
}

TEST_P(TlsStreamTest, GarbageInsteadOfAClientHelloIsATlsError) {
    stream_->async_handshake([this](const std::error_code& ec) { handshake_result_ = ec; });
    const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    send_raw({http.begin(), http.end()}, 4);
    ASSERT_TRUE(handshake_result_.has_value());
    EXPECT_TRUE(*handshake_result_);
    EXPECT_EQ(handshake_result_->category(), asio::error::get_ssl_category())
        << handshake_result_->message();
}

TEST_P(TlsStreamTest, CloseNotifyReadsAsEof) {
    handshake();
    start_reading();
    client_write("bye");
    SSL_shutdown(client_);
    send_client_output();
    EXPECT_EQ(received_, "bye");
    ASSERT_TRUE(read_error_.has_value());
    EXPECT_EQ(*read_error_, asio::error::eof) << read_error_->message();
}

TEST_P(TlsStreamTest, TcpCloseWithoutCloseNotifyReadsAsTruncation) {
    handshake();
    start_reading();
    ::shutdown(peer_, SHUT_WR);
    io_.poll();
    ASSERT_TRUE(read_error_.has_value());
    EXPECT_EQ(*read_error_, asio::ssl::error::stream_truncated) << read_error_->message();
}

TEST_P(TlsStreamTest, WriteWaitsForAFullSocketAndThenCompletes) {
    handshake();
    const int small = 4096;
    ::setsockopt(stream_->lowest_layer().native_handle(), SOL_SOCKET, SO_SNDBUF, &small,
                 sizeof small);
    std::string payload(1 << 20, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>('a' + i % 23);
    std::optional<std::pair<std::error_code, std::size_t>> written;
    stream_->async_write(asio::buffer(payload),
                         [&](const std::error_code& ec, std::size_t n) { written.emplace(ec, n); });
    io_.poll();
    io_.restart();
    EXPECT_FALSE(written.has_value()) << "1 MiB cannot fit into the socket";
    std::string got;
    for (int round = 0; round < 100'000 && !written; ++round) {
        got += client_read();
        io_.poll();
        io_.restart();
    }
    got += client_read();
    ASSERT_TRUE(written.has_value());
    EXPECT_FALSE(written->first) << written->first.message();
    EXPECT_EQ(written->second, payload.size());
    EXPECT_TRUE(got == payload) << "got " << got.size() << " bytes";
}

TEST_P(TlsStreamTest, ShutdownSendsCloseNotify) {
    handshake();
    std::optional<std::error_code> done;
    stream_->async_shutdown([&](const std::error_code& ec) { done = ec; });
    EXPECT_FALSE(done.has_value()) << "the handler ran inside the initiating call";
    io_.poll();
    ASSERT_TRUE(done.has_value());
    EXPECT_FALSE(*done) << done->message();
    receive_server_output();
    char buf[16];
    std::size_t n = 0;
    ASSERT_EQ(SSL_read_ex(client_, buf, sizeof buf, &n), 0);
    EXPECT_EQ(SSL_get_error(client_, 0), SSL_ERROR_ZERO_RETURN);
}

// SSL_MODE_RELEASE_BUFFERS works because OpenSSL owns the only buffers: an idle stream holds
// none, a stream in the middle of a record holds its read buffer.
TEST_P(TlsStreamTest, IdleStreamHoldsNoBuffers) {
    handshake();
    start_reading();
    client_write("warm up");
    send_client_output();
    ASSERT_EQ(received_, "warm up");
    const long long idle = openssl_heap.load();

    client_write("0123456789");
    char* data = nullptr;
    const long size = BIO_get_mem_data(from_client_, &data);
    std::vector<char> record(data, data + size);
    (void)BIO_reset(from_client_);
    send_raw({record.begin(), record.begin() + 3}, 3);
    EXPECT_GE(openssl_heap.load() - idle, 16 * 1024) << "half a record holds the read buffer";
    send_raw({record.begin() + 3, record.end()}, 1 << 20);
    EXPECT_EQ(received_, "warm up0123456789");
    EXPECT_LE(openssl_heap.load() - idle, 0) << "the read buffer outlived the record";

    std::optional<std::error_code> written;
    const std::string answer = "answer";
    stream_->async_write(asio::buffer(answer),
                         [&](const std::error_code& ec, std::size_t) { written = ec; });
    io_.poll();
    ASSERT_TRUE(written.has_value());
    EXPECT_FALSE(*written);
    EXPECT_LE(openssl_heap.load() - idle, 0) << "the write buffer outlived the write";
    EXPECT_EQ(client_read(), "answer");
}

TEST_P(TlsStreamTest, ClosingTheSocketAbortsAPendingHandshake) {
    stream_->async_handshake([this](const std::error_code& ec) { handshake_result_ = ec; });
    io_.poll();
    io_.restart();
    EXPECT_FALSE(handshake_result_.has_value());
    stream_->lowest_layer().close();
    io_.poll();
    ASSERT_TRUE(handshake_result_.has_value());
    EXPECT_EQ(*handshake_result_, asio::error::operation_aborted);
}

INSTANTIATE_TEST_SUITE_P(Versions, TlsStreamTest, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const ::testing::TestParamInfo<int>& info) {
                             return info.param == TLS1_2_VERSION ? "Tls12" : "Tls13";
                         });

TEST(TlsStreamWithoutSsl, EveryOperationFailsWithoutThrowing) {
    asio::io_context io;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    asio::ip::tcp::socket socket(io);
    socket.assign(asio::ip::tcp::v4(), fds[0]);
    TlsStream stream(std::move(socket), nullptr);  // SSL_new fails: stands for out of memory
    EXPECT_EQ(stream.native_handle(), nullptr);
    std::optional<std::error_code> handshake;
    stream.async_handshake([&](const std::error_code& ec) { handshake = ec; });
    io.poll();
    ASSERT_TRUE(handshake.has_value());
    EXPECT_TRUE(*handshake);
    std::error_code ec;
    char buf[8];
    EXPECT_EQ(stream.read_some(asio::buffer(buf), ec), 0u);
    EXPECT_TRUE(ec);
    ::close(fds[1]);
    ERR_clear_error();
}

}  // namespace
}  // namespace lwgate::net
