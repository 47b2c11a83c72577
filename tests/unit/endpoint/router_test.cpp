// Unit tests for lwgate::lwm2m::Router (gateway/endpoint/router.hpp): which endpoint a connection
// speaks for, whether it may, and which shard owns it. No sockets, time passed in.
#include "endpoint/router.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "unit/lwm2m/message_builders.hpp"

namespace lwgate::lwm2m {
namespace {

using test_util::make_request;
using namespace std::chrono_literals;
namespace code = coap::code;

const TimePoint t0 = TimePoint{} + 1h;

coap::Message register_of(std::string_view endpoint) {
    const std::string ep = "ep=" + std::string(endpoint);
    return make_request(code::post, coap::Token::from_u64(1), {"rd"}, {ep, "lt=300"});
}

ConnectionFacts plain(ConnectionId id, std::string_view address = "10.0.0.1") {
    return {id, PeerIdentity{}, address};
}

// By value: the decision is usually a temporary.
Route routed(const RouteDecision& d) {
    EXPECT_TRUE(std::holds_alternative<Route>(d));
    return std::holds_alternative<Route>(d) ? std::get<Route>(d) : Route{};
}

Refusal refusal_of(const RouteDecision& d) {
    EXPECT_TRUE(std::holds_alternative<Refused>(d));
    return std::holds_alternative<Refused>(d) ? std::get<Refused>(d).reason : Refusal::count_;
}

class RouterTest : public ::testing::Test {
  protected:
    Directory directory;
    Router router{0, 4, directory, false, RegistrationRate{}};
};

// The rule that restore (no connection yet) and a new registration both use: every shard's Router
// names the same owner for an endpoint, whichever shard asks and whenever.
TEST_F(RouterTest, EveryShardNamesTheSameOwner) {
    Router other{3, 4, directory, false, RegistrationRate{}};
    std::set<unsigned> owners;
    for (int i = 0; i < 200; ++i) {
        const std::string ep = "urn:imei:" + std::to_string(100000 + i);
        EXPECT_EQ(router.owner_of(ep), other.owner_of(ep)) << ep;
        EXPECT_LT(router.owner_of(ep), 4u);
        owners.insert(router.owner_of(ep));
    }
    EXPECT_EQ(owners.size(), 4u) << "endpoints spread over every shard";
}

TEST_F(RouterTest, ARegisterBindsTheConnectionAndRoutesToTheOwner) {
    const auto route = routed(router.route(plain(7), register_of("urn:imei:1"), t0));
    EXPECT_EQ(route.endpoint, "urn:imei:1");
    EXPECT_EQ(route.owner, router.owner_of("urn:imei:1"));
    EXPECT_FALSE(route.authenticated) << "plain TCP proves nothing";
    EXPECT_EQ(route.kind, Uplink::register_) << "classified once, for the owner too";
    EXPECT_EQ(router.bound_connections(), 1u);

    // A response of the device (to a downlink) follows the binding.
    const coap::Message content(code::content, coap::Token::from_u64(9));
    EXPECT_EQ(routed(router.route(plain(7), content, t0)).endpoint, "urn:imei:1");
}

TEST_F(RouterTest, AConnectionNeverSpeaksForASecondEndpoint) {
    routed(router.route(plain(7), register_of("urn:imei:1"), t0));
    EXPECT_EQ(refusal_of(router.route(plain(7), register_of("urn:imei:2"), t0)),
              Refusal::other_endpoint);
    // Still bound to the first.
    auto closed = router.close(7);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->endpoint, "urn:imei:1");
}

TEST_F(RouterTest, AResponseOnAnUnboundConnectionGoesNowhere) {
    const coap::Message content(code::content, coap::Token::from_u64(9));
    EXPECT_EQ(refusal_of(router.route(plain(7), content, t0)), Refusal::unroutable_response);
    EXPECT_EQ(router.bound_connections(), 0u) << "a refused message binds nothing";
}

// An attacker's many Registers from one address take the budget of that address only.
TEST_F(RouterTest, RegistersBeyondTheRateOfOneAddressAreRefusedOthersGoOn) {
    Router limited{0, 2, directory, false, RegistrationRate{1, 2}};
    routed(limited.route(plain(1, "192.0.2.66"), register_of("a"), t0));
    routed(limited.route(plain(2, "192.0.2.66"), register_of("b"), t0));
    const auto third = limited.route(plain(3, "192.0.2.66"), register_of("c"), t0);
    ASSERT_EQ(refusal_of(third), Refusal::registration_rate);
    EXPECT_EQ(std::get<Refused>(third).code, code::service_unavailable);
    EXPECT_EQ(std::get<Refused>(third).max_age, registration_retry_seconds);
    EXPECT_EQ(limited.bound_connections(), 2u) << "the refused connection is not bound";

    routed(limited.route(plain(4, "192.0.2.7"), register_of("d"), t0));
    routed(limited.route(plain(3, "192.0.2.66"), register_of("c"), t0 + 1s));  // refilled
}

TEST_F(RouterTest, PlainTcpMayNotRegisterAnEndpointWithCredentials) {
    IdentityTable identities;
    identities.add("urn:imei:secure", "psk-id");
    router.set_identities(identities);
    EXPECT_EQ(refusal_of(router.route(plain(7), register_of("urn:imei:secure"), t0)),
              Refusal::credentials_required);
}

TEST_F(RouterTest, ATlsIdentityRoutesOnlyItsOwnEndpoint) {
    IdentityTable identities;
    identities.add("urn:imei:1", "id-1");
    router.set_identities(identities);
    ConnectionFacts tls{8, PeerIdentity{true, "id-1", {}, {}, false}, "10.0.0.2"};
    const auto route = routed(router.route(tls, register_of("urn:imei:1"), t0));
    EXPECT_TRUE(route.authenticated);
    ConnectionFacts other{9, PeerIdentity{true, "id-1", {}, {}, false}, "10.0.0.2"};
    EXPECT_EQ(refusal_of(router.route(other, register_of("urn:imei:2"), t0)),
              Refusal::identity_mismatch);
}

TEST_F(RouterTest, RegisteredStateFollowsTheRelayAndEndsWithTheConnection) {
    routed(router.route(plain(7), register_of("urn:imei:1"), t0));
    EXPECT_FALSE(router.registered_endpoint(7)) << "bound is not registered yet";
    EXPECT_TRUE(router.set_registered(7, true, true));
    EXPECT_EQ(router.registered_endpoint(7), "urn:imei:1");
    EXPECT_TRUE(router.close_expected(7)) << "queue mode: its closes are part of its cycle";
    ASSERT_TRUE(router.close(7));
    EXPECT_FALSE(router.close(7)) << "closed once";
    EXPECT_FALSE(router.set_registered(7, true, false)) << "a late event for a closed connection";
    EXPECT_FALSE(router.registered_endpoint(7));
}

TEST_F(RouterTest, AnUpdateNamesItsEndpointThroughTheDirectory) {
    directory.set_registration({"urn:imei:1", "/rd/5", false});
    const auto update = make_request(code::post, coap::Token::from_u64(2), {"rd", "5"});
    EXPECT_EQ(routed(router.route(plain(7), update, t0)).endpoint, "urn:imei:1");
    const auto unknown = make_request(code::post, coap::Token::from_u64(3), {"rd", "6"});
    EXPECT_EQ(refusal_of(router.route(plain(8), unknown, t0)), Refusal::unknown_registration);
}

}  // namespace
}  // namespace lwgate::lwm2m
