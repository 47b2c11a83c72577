// The core simulator's uplink side (registration interface, Send, Bootstrap-Request, scripted
// answers, silence, DTLS-PSK), driven by Debian's coap-client-openssl as the LwM2M client.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>

#include "coap_client.hpp"
#include "lwgate/coresim/core_simulator.hpp"
#include "lwgate/harness/process.hpp"
#include "lwgate/harness/temp_dir.hpp"

namespace lwgate::coresim {
namespace {

using testing::coap_client;
using ::testing::ElementsAre;
using testing::free_udp_port;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class RegistrationTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!harness::program_exists(testing::kCoapClient)) {
            GTEST_SKIP() << "coap-client-openssl (libcoap3-bin) is not installed";
        }
    }

    std::string url(const std::string& path_and_query) const {
        return "coap://127.0.0.1:" + std::to_string(core.port()) + path_and_query;
    }

    CoreSimulator core;
};

TEST_F(RegistrationTest, StartBindsEphemeralPortsOnLoopback) {
    Options opts;
    opts.dtls = true;
    opts.psk_keys["id"] = to_bytes("key");
    core.start(opts);
    EXPECT_TRUE(core.running());
    EXPECT_NE(core.port(), 0);
    EXPECT_NE(core.dtls_port(), 0);
    EXPECT_NE(core.port(), core.dtls_port());
    EXPECT_EQ(core.uri(), "coap://127.0.0.1:" + std::to_string(core.port()));
    EXPECT_EQ(core.dtls_uri(), "coaps://127.0.0.1:" + std::to_string(core.dtls_port()));
    core.stop();
    EXPECT_FALSE(core.running());
    core.stop();  // idempotent
}

TEST_F(RegistrationTest, RegisterRecordsEveryFieldExactly) {
    core.start();
    const auto r = coap_client({"-m", "post", "-B", "5", "-e", "</1/0>,</3/0>;ver=1.1,</5/0>",
                                url("/rd?ep=test&lt=60&lwm2m=1.1&b=U&Q")});
    ASSERT_EQ(r.exit_code, 0) << r.err;

    const auto reg = core.wait_registration("test", Millis{2'000});
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->endpoint, "test");
    EXPECT_EQ(reg->id, "1");
    EXPECT_EQ(reg->lifetime, 60u);
    EXPECT_EQ(reg->lwm2m_version, "1.1");
    EXPECT_EQ(reg->binding, "U");
    EXPECT_TRUE(reg->queue_mode);
    EXPECT_THAT(reg->query, ElementsAre("ep=test", "lt=60", "lwm2m=1.1", "b=U", "Q"));
    EXPECT_EQ(reg->object_links_text(), "</1/0>,</3/0>;ver=1.1,</5/0>");
    EXPECT_THAT(reg->source, StartsWith("127.0.0.1:"));
    EXPECT_FALSE(reg->dtls_identity);
    EXPECT_TRUE(reg->active);
    ASSERT_EQ(reg->history.size(), 1u);
    EXPECT_EQ(reg->history[0].kind, EventKind::register_);
    EXPECT_EQ(reg->history[0].response, codes::created);
    EXPECT_EQ(reg->history[0].source, reg->source);
    EXPECT_EQ(core.last_source("test"), reg->source);
    EXPECT_GE(core.messages_received(), 1u);
}

TEST_F(RegistrationTest, RegisterDefaultsFollowTheSpec) {
    core.start();
    ASSERT_EQ(coap_client({"-m", "post", "-B", "5", url("/rd?ep=bare")}).exit_code, 0);
    const auto reg = core.wait_registration("bare", Millis{2'000});
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->lifetime, 86400u);
    EXPECT_EQ(reg->lwm2m_version, "1.0");
    EXPECT_EQ(reg->binding, "U");
    EXPECT_FALSE(reg->queue_mode);
    EXPECT_TRUE(reg->object_links.empty());
}

TEST_F(RegistrationTest, RegisterWithoutEndpointIsBadRequest) {
    core.start();
    const auto r = coap_client({"-m", "post", "-B", "5", url("/rd?lt=60")});
    EXPECT_THAT(r.out + r.err, HasSubstr("4.00"));
    EXPECT_TRUE(core.registrations().empty());
    const auto ev = core.wait_event([](const Event& e) { return e.kind == EventKind::register_; },
                                    Millis{1'000});
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->response, codes::bad_request);
}

TEST_F(RegistrationTest, UpdateAndDeregisterAreRecordedWithTheirParameters) {
    core.start();
    ASSERT_EQ(coap_client(
                  {"-m", "post", "-B", "5", "-e", "</3/0>", url("/rd?ep=dev&lt=60&lwm2m=1.1&b=U")})
                  .exit_code,
              0);
    const auto reg = core.wait_registration("dev", Millis{2'000});
    ASSERT_TRUE(reg);

    // Update: new lifetime and binding, new object links.
    ASSERT_EQ(coap_client({"-m", "post", "-B", "5", "-e", "</3/0>,</4/0>",
                           url("/rd/" + reg->id + "?lt=120&b=UQ")})
                  .exit_code,
              0);
    auto updated = core.wait_update("dev", 1, Millis{2'000});
    ASSERT_TRUE(updated);
    EXPECT_EQ(updated->id, reg->id);
    EXPECT_EQ(updated->lifetime, 120u);
    EXPECT_EQ(updated->binding, "UQ");
    EXPECT_EQ(updated->lwm2m_version, "1.1");
    EXPECT_EQ(updated->object_links_text(), "</3/0>,</4/0>");
    EXPECT_EQ(updated->updates, 1u);
    ASSERT_EQ(updated->history.size(), 2u);
    EXPECT_EQ(updated->history[1].kind, EventKind::update);
    EXPECT_THAT(updated->history[1].query, ElementsAre("lt=120", "b=UQ"));
    EXPECT_EQ(updated->history[1].response, codes::changed);
    // coap-client uses a new port per run: the registration follows the Update's address.
    EXPECT_EQ(updated->source, updated->history[1].source);

    // An Update without parameters or payload keeps everything.
    ASSERT_EQ(coap_client({"-m", "post", "-B", "5", url("/rd/" + reg->id)}).exit_code, 0);
    updated = core.wait_update("dev", 2, Millis{2'000});
    ASSERT_TRUE(updated);
    EXPECT_EQ(updated->lifetime, 120u);
    EXPECT_EQ(updated->object_links_text(), "</3/0>,</4/0>");

    // Unknown registration id.
    const auto unknown = coap_client({"-m", "post", "-B", "5", url("/rd/999?lt=5")});
    EXPECT_THAT(unknown.out + unknown.err, HasSubstr("4.04"));

    // De-register, then the id is gone.
    ASSERT_EQ(coap_client({"-m", "delete", "-B", "5", url("/rd/" + reg->id)}).exit_code, 0);
    const auto gone = core.wait_deregistration("dev", Millis{2'000});
    ASSERT_TRUE(gone);
    EXPECT_FALSE(gone->active);
    ASSERT_EQ(gone->history.size(), 4u);
    EXPECT_EQ(gone->history[3].kind, EventKind::deregister);
    EXPECT_EQ(gone->history[3].response, codes::deleted);
    const auto again = coap_client({"-m", "delete", "-B", "5", url("/rd/" + reg->id)});
    EXPECT_THAT(again.out + again.err, HasSubstr("4.04"));
}

TEST_F(RegistrationTest, ReRegisterReplacesTheRegistrationWithANewId) {
    core.start();
    ASSERT_EQ(coap_client({"-m", "post", "-B", "5", url("/rd?ep=re&lt=60")}).exit_code, 0);
    const auto first = core.wait_registration("re", Millis{2'000});
    ASSERT_TRUE(first);
    ASSERT_EQ(coap_client({"-m", "post", "-B", "5", url("/rd?ep=re&lt=70")}).exit_code, 0);
    const auto second = core.wait_registration("re", Millis{2'000}, 2);
    ASSERT_TRUE(second);
    EXPECT_NE(second->id, first->id);
    EXPECT_EQ(second->lifetime, 70u);
    ASSERT_EQ(second->history.size(), 1u);
    // The old id no longer answers.
    const auto old = coap_client({"-m", "post", "-B", "5", url("/rd/" + first->id)});
    EXPECT_THAT(old.out + old.err, HasSubstr("4.04"));
    EXPECT_EQ(core.registrations().size(), 1u);
}

TEST_F(RegistrationTest, ScriptedRegisterResponseRejectsTheRegistration) {
    Options opts;
    opts.register_response = codes::precondition_failed;
    core.start(opts);
    const auto r = coap_client({"-m", "post", "-B", "5", url("/rd?ep=old&lwm2m=1.2&b=U")});
    EXPECT_THAT(r.out + r.err, HasSubstr("4.12"));
    EXPECT_FALSE(core.wait_registration("old", Millis{200}));
    const auto ev = core.wait_event([](const Event& e) { return e.kind == EventKind::register_; },
                                    Millis{1'000});
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->endpoint, "old");
    EXPECT_EQ(ev->response, codes::precondition_failed);
    EXPECT_FALSE(ev->accepted());
    EXPECT_EQ(ev->query_value("lwm2m"), "1.2");

    // Back to normal.
    core.set_register_response(codes::created);
    ASSERT_EQ(coap_client({"-m", "post", "-B", "5", url("/rd?ep=old&lwm2m=1.1")}).exit_code, 0);
    EXPECT_TRUE(core.wait_registration("old", Millis{2'000}));
}

TEST_F(RegistrationTest, ScriptedUpdateResponse) {
    core.start();
    ASSERT_EQ(coap_client({"-m", "post", "-B", "5", url("/rd?ep=u&lt=60")}).exit_code, 0);
    const auto reg = core.wait_registration("u", Millis{2'000});
    ASSERT_TRUE(reg);
    core.set_update_response(codes::not_found);
    const auto r = coap_client({"-m", "post", "-B", "5", url("/rd/" + reg->id + "?lt=5")});
    EXPECT_THAT(r.out + r.err, HasSubstr("4.04"));
    const auto now = core.registration("u");
    ASSERT_TRUE(now);
    EXPECT_EQ(now->lifetime, 60u);
    EXPECT_EQ(now->updates, 0u);
    ASSERT_EQ(now->history.size(), 2u);
    EXPECT_EQ(now->history[1].response, codes::not_found);
}

TEST_F(RegistrationTest, SilentCoreDropsEverythingUnanswered) {
    core.start();
    core.set_silent(true);
    EXPECT_TRUE(core.silent());
    const auto before = core.messages_received();
    const auto r = coap_client({"-m", "post", "-B", "2", url("/rd?ep=quiet&lt=60")});
    EXPECT_EQ(r.out, "");  // no answer at all
    EXPECT_FALSE(r.timed_out);
    EXPECT_GT(core.messages_received(), before);  // it did reach the core
    EXPECT_TRUE(core.registrations().empty());
    EXPECT_TRUE(core.events().empty());

    core.set_silent(false);
    ASSERT_EQ(coap_client({"-m", "post", "-B", "5", url("/rd?ep=quiet&lt=60")}).exit_code, 0);
    EXPECT_TRUE(core.wait_registration("quiet", Millis{2'000}));
}

TEST_F(RegistrationTest, Send64KiBBlockwiseIsRecordedWhole) {
    core.start();
    harness::TempDir dir("coresim-test-");
    std::string body(64 * 1024, '\0');
    std::mt19937 rng(42);
    for (auto& c : body)
        c = static_cast<char>('a' + rng() % 26);
    const auto file = dir.write_file("send.json", body);

    // Register and Send from the same source port, as one device would.
    const std::string port = std::to_string(free_udp_port());
    ASSERT_EQ(
        coap_client({"-m", "post", "-B", "5", "-p", port, url("/rd?ep=sender&lt=60")}).exit_code,
        0);
    const auto reg = core.wait_registration("sender", Millis{2'000});
    ASSERT_TRUE(reg);
    const auto r = coap_client({"-m", "post", "-B", "10", "-p", port, "-b", "1024", "-t", "110",
                                "-f", file.string(), url("/dp")});
    ASSERT_EQ(r.exit_code, 0) << r.err;

    const auto send = core.wait_send(1, Millis{2'000});
    ASSERT_TRUE(send);
    EXPECT_EQ(send->endpoint, "sender");
    EXPECT_EQ(send->content_format, content_format::senml_json);
    EXPECT_EQ(send->payload.size(), body.size());
    EXPECT_TRUE(send->payload == to_bytes(body));
    EXPECT_EQ(send->response, codes::changed);
    EXPECT_EQ(send->source, reg->source);
    EXPECT_EQ(core.sends().size(), 1u);
}

TEST_F(RegistrationTest, BootstrapRequestIsAnsweredAndRecorded) {
    core.start();
    const auto r = coap_client({"-m", "post", "-B", "5", url("/bs?ep=boot&pct=11543")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto ev = core.wait_event([](const Event& e) { return e.kind == EventKind::bootstrap; },
                                    Millis{2'000});
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->endpoint, "boot");
    EXPECT_EQ(ev->response, codes::changed);
    EXPECT_THAT(ev->query, ElementsAre("ep=boot", "pct=11543"));
    EXPECT_EQ(core.last_source("boot"), ev->source);
}

TEST_F(RegistrationTest, UnknownPathsAndMethodsGetErrors) {
    core.start();
    const auto nf = coap_client({"-m", "get", "-B", "5", url("/nothing/here")});
    EXPECT_THAT(nf.out + nf.err, HasSubstr("4.04"));
    const auto na = coap_client({"-m", "put", "-B", "5", "-e", "x", url("/rd/1")});
    EXPECT_THAT(na.out + na.err, HasSubstr("4.05"));
    const auto other = core.events(EventKind::other);
    ASSERT_EQ(other.size(), 2u);
    EXPECT_EQ(other[0].path, "/nothing/here");
    EXPECT_EQ(other[0].method, Method::get);
}

TEST_F(RegistrationTest, SurvivesGarbageDatagrams) {
    core.start();
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(core.port());
    const std::vector<std::string> junk = {
        std::string(1, '\0'),
        "\x40\x01",                              // truncated header
        std::string("\x4f\x01\x00\x01", 4),      // TKL 15
        std::string("\x40\x02\x00\x02\xff", 5),  // payload marker, no payload
        std::string("\x44\x02\x00\x03"
                    "abcd"
                    "\xbd\xff\xff",
                    11),  // option runs past the end
        std::string(1500, '\xff'),
    };
    for (const auto& j : junk) {
        ::sendto(fd, j.data(), j.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    ::close(fd);
    // Still alive and serving.
    ASSERT_EQ(coap_client({"-m", "post", "-B", "5", url("/rd?ep=after-junk")}).exit_code, 0);
    EXPECT_TRUE(core.wait_registration("after-junk", Millis{2'000}));
}

TEST_F(RegistrationTest, RetransmittedRegisterIsAnsweredOnceRecordedOnce) {
    core.start();
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(core.port());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    // CON POST /rd?ep=dup, MID 0x1234, token 0xab: the same datagram twice (a lost ACK).
    const std::string reg(
        "\x41\x02\x12\x34\xab"
        "\xb2rd"
        "\x46"
        "ep=dup",
        15);
    std::vector<std::string> answers;
    for (int i = 0; i < 2; ++i) {
        ASSERT_EQ(::send(fd, reg.data(), reg.size(), 0), static_cast<ssize_t>(reg.size()));
        pollfd p{fd, POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, 2'000), 1);
        char buf[256];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        ASSERT_GT(n, 0);
        answers.emplace_back(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    // ACK 2.01, same MID and token, Location-Path "rd" "1" - twice, identical.
    EXPECT_EQ(answers[0], std::string("\x61\x41\x12\x34\xab\x82rd\x01\x31", 10));
    EXPECT_EQ(answers[1], answers[0]);
    EXPECT_EQ(core.duplicates_received(), 1u);
    EXPECT_EQ(core.events(EventKind::register_).size(), 1u);
    const auto reg_now = core.registration("dup");
    ASSERT_TRUE(reg_now);
    EXPECT_EQ(reg_now->id, "1");
}

class DtlsRegistrationTest : public RegistrationTest {
  protected:
    void SetUp() override {
        RegistrationTest::SetUp();
        if (IsSkipped()) return;
        Options opts;
        opts.dtls = true;
        opts.psk_keys["dev-psk-1"] = to_bytes("secret-key-1");
        core.start(opts);
    }

    std::string surl(const std::string& path_and_query) const {
        return "coaps://127.0.0.1:" + std::to_string(core.dtls_port()) + path_and_query;
    }
};

TEST_F(DtlsRegistrationTest, RegisterOverDtlsRecordsThePskIdentity) {
    const auto r = coap_client({"-m", "post", "-B", "5", "-u", "dev-psk-1", "-k", "secret-key-1",
                                "-e", "</3/0>", surl("/rd?ep=secure&lt=60&lwm2m=1.1&b=U")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto reg = core.wait_registration("secure", Millis{2'000});
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->dtls_identity, "dev-psk-1");
    EXPECT_EQ(reg->object_links_text(), "</3/0>");
    EXPECT_THAT(reg->source, StartsWith("127.0.0.1:"));
    EXPECT_EQ(reg->history[0].dtls_identity, "dev-psk-1");
}

TEST_F(DtlsRegistrationTest, UnknownIdentityIsRejected) {
    const auto r = coap_client(
        {"-m", "post", "-B", "2", "-u", "stranger", "-k", "whatever", surl("/rd?ep=intruder")});
    // coap-client logs the failed handshake ("unknown PSK identity") and gets no response.
    EXPECT_THAT(r.out + r.err, HasSubstr("unknown psk identity"));
    EXPECT_TRUE(core.registrations().empty());
    const auto ev = core.wait_event(
        [](const Event& e) { return e.kind == EventKind::psk_rejected; }, Millis{2'000});
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->dtls_identity, "stranger");
}

}  // namespace
}  // namespace lwgate::coresim
