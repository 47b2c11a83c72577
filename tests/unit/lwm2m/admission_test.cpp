// Unit tests for lwgate::lwm2m::admit (gateway/lwm2m/admission.hpp): which endpoint a
// device message may speak for. Each rule has its attack next to it: a connection that tries to
// act for an endpoint it has not proven.
#include "lwm2m/admission.hpp"
#include "unit/lwm2m/message_builders.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lwgate::lwm2m {
namespace {

using test_util::make_request;
namespace code = coap::code;

const coap::Token token = coap::Token::from_u64(7);

coap::Message register_of(std::string_view endpoint) {
    const std::string ep = "ep=" + std::string(endpoint);
    return make_request(code::post, token, {"rd"}, {ep, "lt=300", "b=T"});
}
coap::Message update_of(std::string_view id) {
    return make_request(code::post, token, {"rd", id});
}
coap::Message deregister_of(std::string_view id) {
    return make_request(code::del, token, {"rd", id});
}
coap::Message bootstrap_of(std::string_view endpoint) {
    const std::string ep = "ep=" + std::string(endpoint);
    return make_request(code::post, token, {"bs"}, {ep});
}
coap::Message send_request() {
    return make_request(code::post, token, {"dp"});
}

class AdmissionTest : public ::testing::Test {
  protected:
    void SetUp() override {
        identities.add("psk-dev", "id-psk-dev");
        identities.add("keyed", "id-keyed");
        directory.set_registration({"plain-dev", "/rd/p1", false});
        directory.set_registration({"psk-dev", "/rd/t1", false});  // registered over plain once
        directory.set_registration({"cert-dev", "/rd/c1", true});
    }

    AdmissionResult admit_msg(const PeerIdentity& peer, const coap::Message& m,
                              std::optional<std::string> bound = std::nullopt) {
        return admit(peer, bound ? &*bound : nullptr, m,
                     coap::is_request(m.code()) ? classify_uplink(m) : Uplink::other,
                     AdmissionContext{identities, directory, bootstrap});
    }

    static PeerIdentity plain(bool allow = true) {
        PeerIdentity p;
        p.allow_plain_registration = allow;
        return p;
    }
    static PeerIdentity psk(std::string_view identity) {
        PeerIdentity p;
        p.tls = true;
        p.psk_identity = identity;
        return p;
    }
    PeerIdentity cert(std::string_view cn) {
        PeerIdentity p;
        p.tls = true;
        p.certificate_cn = cn;
        p.certificate_names = sans;
        return p;
    }

    static void expect_admitted(const AdmissionResult& r, const std::string& endpoint,
                                bool authenticated) {
        const auto* a = std::get_if<Admitted>(&r);
        ASSERT_NE(a, nullptr) << "refused: " << to_string(std::get<Refused>(r).reason);
        EXPECT_EQ(a->endpoint, endpoint);
        EXPECT_EQ(a->authenticated, authenticated);
    }
    static void expect_refused(const AdmissionResult& r, Refusal reason, std::uint8_t answer) {
        const auto* f = std::get_if<Refused>(&r);
        ASSERT_NE(f, nullptr) << "admitted as " << std::get<Admitted>(r).endpoint;
        EXPECT_EQ(f->reason, reason) << to_string(f->reason);
        EXPECT_EQ(f->code, answer);
    }

    IdentityTable identities;
    Directory directory;
    bool bootstrap = false;
    std::vector<std::string> sans{"urn:dev:alt"};
};

TEST_F(AdmissionTest, PlainRegisterOfAnEndpointWithoutCredentials) {
    expect_admitted(admit_msg(plain(), register_of("new-dev")), "new-dev", false);
    expect_admitted(admit_msg(plain(), register_of("plain-dev")), "plain-dev", false);
}

TEST_F(AdmissionTest, PlainCannotRegisterAnEndpointThatHasCredentials) {
    expect_refused(admit_msg(plain(), register_of("keyed")), Refusal::credentials_required,
                   code::forbidden);
    expect_refused(admit_msg(plain(), register_of("psk-dev")), Refusal::credentials_required,
                   code::forbidden);
}

TEST_F(AdmissionTest, PlainCannotTakeOverARegistrationMadeOverTls) {
    // cert-dev has no credentials entry: only its live registration says it authenticates.
    expect_refused(admit_msg(plain(), register_of("cert-dev")), Refusal::credentials_required,
                   code::forbidden);
    expect_refused(admit_msg(plain(), update_of("c1")), Refusal::credentials_required,
                   code::forbidden);
    expect_refused(admit_msg(plain(), deregister_of("c1")), Refusal::credentials_required,
                   code::forbidden);
}

TEST_F(AdmissionTest, ABoundPlainConnectionIsCheckedAgainOnEveryRegistrationMessage) {
    // It registered plain-dev; meanwhile plain-dev registered again over TLS.
    directory.set_registration({"plain-dev", "/rd/p2", true});
    expect_refused(admit_msg(plain(), update_of("p2"), "plain-dev"), Refusal::credentials_required,
                   code::forbidden);
    expect_refused(admit_msg(plain(), register_of("plain-dev"), "plain-dev"),
                   Refusal::credentials_required, code::forbidden);
}

// A credentials entry may map a certificate name that is not the endpoint's to it (devices
// provisioned with serial-number certificates). The mapped name then speaks for that endpoint
// only: not for itself, and for no other endpoint.
TEST_F(AdmissionTest, ACertificateNameMappedToAnEndpointSpeaksForItOnly) {
    identities.map_certificate("serial-0042", "urn:imei:42");
    identities.map_certificate("urn:dev:alt", "urn:imei:43");
    expect_admitted(admit_msg(cert("serial-0042"), register_of("urn:imei:42")), "urn:imei:42",
                    true);
    expect_refused(admit_msg(cert("serial-0042"), register_of("serial-0042")),
                   Refusal::identity_mismatch, code::forbidden);
    expect_refused(admit_msg(cert("serial-0042"), register_of("urn:imei:99")),
                   Refusal::identity_mismatch, code::forbidden);
    // A subjectAltName mapped to an endpoint speaks for it too.
    expect_admitted(admit_msg(cert("other-cn"), register_of("urn:imei:43")), "urn:imei:43", true);
    // Plain TCP may not register an endpoint that has such an entry.
    expect_refused(admit_msg(plain(), register_of("urn:imei:42")), Refusal::credentials_required,
                   code::forbidden);
}

TEST_F(AdmissionTest, ListenerWithoutPlainRegistrations) {
    expect_refused(admit_msg(plain(false), register_of("new-dev")), Refusal::plain_not_allowed,
                   code::forbidden);
    expect_refused(admit_msg(plain(false), update_of("p1")), Refusal::plain_not_allowed,
                   code::forbidden);
}

TEST_F(AdmissionTest, PlainUpdateFindsItsEndpointByLocation) {
    expect_admitted(admit_msg(plain(), update_of("p1")), "plain-dev", false);
    expect_admitted(admit_msg(plain(), deregister_of("p1")), "plain-dev", false);
    expect_refused(admit_msg(plain(), update_of("nope")), Refusal::unknown_registration,
                   code::not_found);
}

TEST_F(AdmissionTest, AConnectionNeverSpeaksForTwoEndpoints) {
    expect_refused(admit_msg(plain(), register_of("other"), "plain-dev"), Refusal::other_endpoint,
                   code::forbidden);
    // Another device's registration: its location is known, and it is not ours.
    expect_refused(admit_msg(plain(), update_of("p1"), "new-dev"), Refusal::other_endpoint,
                   code::forbidden);
    expect_refused(admit_msg(psk("id-psk-dev"), deregister_of("c1"), "psk-dev"),
                   Refusal::other_endpoint, code::forbidden);
}

TEST_F(AdmissionTest, ABoundConnectionsStaleLocationGoesToItsOwnRelay) {
    // The relay answers 4.04 itself: the location names no registration at all.
    expect_admitted(admit_msg(plain(), update_of("gone"), "plain-dev"), "plain-dev", false);
}

TEST_F(AdmissionTest, PskIdentityNamesItsEndpoint) {
    expect_admitted(admit_msg(psk("id-psk-dev"), register_of("psk-dev")), "psk-dev", true);
    expect_admitted(admit_msg(psk("id-psk-dev"), update_of("t1")), "psk-dev", true);
    expect_refused(admit_msg(psk("id-psk-dev"), register_of("keyed")), Refusal::identity_mismatch,
                   code::forbidden);
    // Another endpoint's registration, named by its location.
    expect_refused(admit_msg(psk("id-psk-dev"), update_of("p1")), Refusal::identity_mismatch,
                   code::forbidden);
    expect_refused(admit_msg(psk("unknown-id"), register_of("psk-dev")), Refusal::identity_mismatch,
                   code::forbidden);
}

TEST_F(AdmissionTest, CertificateNamesItsCnAndSubjectAltNames) {
    expect_admitted(admit_msg(cert("cert-dev"), update_of("c1")), "cert-dev", true);
    expect_admitted(admit_msg(cert("cert-dev"), register_of("urn:dev:alt")), "urn:dev:alt", true);
    expect_refused(admit_msg(cert("cert-dev"), register_of("plain-dev")),
                   Refusal::identity_mismatch, code::forbidden);
}

TEST_F(AdmissionTest, TlsWithoutAnIdentityNamesNothing) {
    PeerIdentity anonymous;
    anonymous.tls = true;
    expect_refused(admit_msg(anonymous, register_of("new-dev")), Refusal::identity_mismatch,
                   code::forbidden);
    expect_refused(admit_msg(anonymous, send_request()), Refusal::not_lwm2m, code::forbidden);
}

TEST_F(AdmissionTest, OtherRequestsNeedAnEndpoint) {
    expect_refused(admit_msg(plain(), send_request()), Refusal::not_lwm2m, code::forbidden);
    expect_admitted(admit_msg(plain(), send_request(), "plain-dev"), "plain-dev", false);
    // A TLS identity speaks for its endpoint from its first message on.
    expect_admitted(admit_msg(psk("id-psk-dev"), send_request()), "psk-dev", true);
}

TEST_F(AdmissionTest, ResponsesFollowTheBindingOrAreDropped) {
    const coap::Message content(code::content, token);
    expect_admitted(admit_msg(plain(), content, "plain-dev"), "plain-dev", false);
    expect_refused(admit_msg(plain(), content), Refusal::unroutable_response, 0);
}

TEST_F(AdmissionTest, BadRegisterAndBootstrapRequests) {
    auto no_ep = make_request(code::post, token, {"rd"}, {"lt=300"});
    expect_refused(admit_msg(plain(), no_ep), Refusal::bad_request, code::bad_request);
    auto bad_lt = make_request(code::post, token, {"rd"}, {"ep=x", "lt=soon"});
    expect_refused(admit_msg(plain(), bad_lt), Refusal::bad_request, code::bad_request);
    bootstrap = true;
    auto bs_no_ep = make_request(code::post, token, {"bs"});
    expect_refused(admit_msg(plain(), bs_no_ep), Refusal::bad_request, code::bad_request);
}

// Endpoint names reach logs, JSON and the store: a CR/LF would forge log lines, invalid UTF-8
// would break every JSON answer that lists it.
TEST_F(AdmissionTest, EndpointNamesMustBePrintableUtf8) {
    for (std::string bad :
         {std::string("dev\r\nlevel=error forged"), std::string("a\x00b", 3),
          std::string("\xff\xfe"), std::string("\xc0\x80"), std::string("\xed\xa0\x80"),
          std::string(256, 'a'), std::string("tab\there")}) {
        expect_refused(admit_msg(plain(), register_of(bad)), Refusal::bad_request,
                       code::bad_request);
    }
    expect_admitted(admit_msg(plain(), register_of("urn:imei:49015420323751")),
                    "urn:imei:49015420323751", false);
    expect_admitted(admit_msg(plain(), register_of("gerät-ü-€-𝄞")), "gerät-ü-€-𝄞", false);
    expect_admitted(admit_msg(plain(), register_of(std::string(255, 'a'))), std::string(255, 'a'),
                    false);
}

TEST_F(AdmissionTest, ARegisterWithLifetimeZeroIsBad) {
    auto zero = make_request(code::post, token, {"rd"}, {"ep=x", "lt=0"});
    expect_refused(admit_msg(plain(), zero), Refusal::bad_request, code::bad_request);
}

TEST_F(AdmissionTest, BootstrapWithoutABootstrapServerIs501ForEveryConnection) {
    expect_refused(admit_msg(plain(), bootstrap_of("x")), Refusal::no_bootstrap_server,
                   code::not_implemented);
    // A bound connection too: it once reached a null bootstrap link.
    expect_refused(admit_msg(plain(), bootstrap_of("plain-dev"), "plain-dev"),
                   Refusal::no_bootstrap_server, code::not_implemented);
    expect_refused(admit_msg(psk("id-psk-dev"), bootstrap_of("psk-dev"), "psk-dev"),
                   Refusal::no_bootstrap_server, code::not_implemented);
}

TEST_F(AdmissionTest, BootstrapFollowsTheIdentityRules) {
    bootstrap = true;
    expect_admitted(admit_msg(plain(), bootstrap_of("fresh")), "fresh", false);
    expect_refused(admit_msg(plain(), bootstrap_of("keyed")), Refusal::credentials_required,
                   code::forbidden);
    expect_admitted(admit_msg(psk("id-keyed"), bootstrap_of("keyed")), "keyed", true);
    expect_refused(admit_msg(psk("id-keyed"), bootstrap_of("fresh")), Refusal::identity_mismatch,
                   code::forbidden);
}

TEST(DirectoryTest, RegistrationsByLocationAndEndpoint) {
    Directory d;
    d.set_registration({"a", "/rd/1", false});
    ASSERT_TRUE(d.registration_at("/rd/1"));
    EXPECT_EQ(d.registration_at("/rd/1")->endpoint, "a");
    EXPECT_EQ(d.registration_of("a")->location, "/rd/1");
    // A new registration of a: the old location no longer names it.
    d.set_registration({"a", "/rd/2", true});
    EXPECT_FALSE(d.registration_at("/rd/1"));
    EXPECT_TRUE(d.registration_of("a")->authenticated);
    // The core hands /rd/2 to b: a's entry goes with it.
    d.set_registration({"b", "/rd/2", false});
    EXPECT_FALSE(d.registration_of("a"));
    EXPECT_EQ(d.registration_at("/rd/2")->endpoint, "b");
    // Erasing a location that was reused removes only the current holder.
    d.erase_registration("/rd/2");
    EXPECT_FALSE(d.registration_of("b"));
    EXPECT_EQ(d.registrations(), 0u);
}

TEST(DirectoryTest, UpstreamSessionsStopAtTheLimitExceptForRestoredOnes) {
    using Open = Directory::SessionOpen;
    Directory d;
    d.set_session_limit(2);
    EXPECT_EQ(d.try_open_session(), Open::opened);
    EXPECT_EQ(d.try_open_session(), Open::opened);
    EXPECT_EQ(d.try_open_session(), Open::over_registrations);
    EXPECT_EQ(d.sessions(), 2u);
    EXPECT_EQ(d.try_open_session(true), Open::opened)
        << "restored at start: already known to the core";
    d.close_session();
    d.close_session();
    EXPECT_EQ(d.try_open_session(), Open::opened);
}

TEST(DirectoryTest, UpstreamSessionsStopWhereTheDescriptorsEnd) {
    using Open = Directory::SessionOpen;
    Directory d;
    d.set_session_limit(100);
    std::uint64_t asked = 0;
    d.set_descriptor_room([&asked](std::uint64_t sessions_after) {
        asked = sessions_after;
        return sessions_after <= 3;
    });
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(d.try_open_session(), Open::opened);
    EXPECT_EQ(d.try_open_session(), Open::over_descriptors);
    EXPECT_EQ(asked, 4u) << "asked for the sessions there would be";
    EXPECT_EQ(d.sessions(), 3u) << "nothing taken";
    EXPECT_EQ(d.try_open_session(true), Open::opened) << "a restored session is never refused";
}

}  // namespace
}  // namespace lwgate::lwm2m
