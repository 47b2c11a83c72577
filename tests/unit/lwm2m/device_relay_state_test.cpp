// Unit tests for DeviceRelay persistence (snapshot / restore / persistent_generation,
// gateway/lwm2m/device_relay_state.cpp): what a restarted gateway does with a stored relay.
// Fake clock only.
#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "lwm2m/device_relay.hpp"
#include "unit/lwm2m/message_builders.hpp"

namespace lwgate::lwm2m {
namespace {

using test_util::make_request;

using namespace std::chrono_literals;
using coap::Message;
using coap::Token;
namespace code = coap::code;
namespace opt = coap::option;

constexpr ConnectionId conn1 = 21;
constexpr ConnectionId conn2 = 22;
const TimePoint t0 = TimePoint{} + 10h;
const Token core_obs = Token::from_u64(0xC0C0C0C0);
const Token core_read = Token::from_u64(0xC1C1C1C1);
const Token core_write = Token::from_u64(0xC2C2C2C2);
const Token dev_tok = Token::from_u64(0xD0D0D0D0);

Message observe_req(Token token) {
    Message m = make_request(code::get, token, {"3", "0", "13"});
    m.add_uint_option(opt::observe, 0);
    return m;
}

template <class T>
std::vector<T> only(const std::vector<RelayAction>& actions) {
    std::vector<T> out;
    for (const auto& a : actions) {
        if (const auto* p = std::get_if<T>(&a)) out.push_back(*p);
    }
    return out;
}

// The device continues its registration at `location` on `conn`: an Update there, accepted by
// the core. Returns what the acceptance caused, without the Update's own answer.
std::vector<RelayAction> continue_on(DeviceRelay& relay, ConnectionId conn, TimePoint now) {
    Message update(code::post, dev_tok);
    for (const auto& segment : relay.location())
        update.add_option(opt::uri_path, segment);
    relay.on_device_request(conn, std::move(update), now);
    auto up = only<ToCore>(relay.take_actions());
    if (up.size() != 1) return {};
    relay.on_core_response(Message(code::changed, up[0].request.token()), now);
    auto actions = relay.take_actions();
    std::erase_if(actions, [](const RelayAction& a) {
        const auto* d = std::get_if<ToDevice>(&a);
        return d && d->message.token() == dev_tok;
    });
    return actions;
}

RelayParams params() {
    RelayParams p;
    p.max_queued = 8;
    p.max_age = 300s;
    p.device_timeout = 30s;
    p.notifications_per_second = 0;  // no pacing: these tests count every notification
    return p;
}

// A relay with a registration (/rd/5, lt=300), one established observation of /3/0/13 (core
// token core_obs), and two held requests of the core (ids 7 and 8) while the device sleeps.
class RelayStateTest : public ::testing::Test {
  protected:
    void SetUp() override {
        relay.on_device_request(
            conn1, make_request(code::post, dev_tok, {"rd"}, {"ep=ep1", "lt=300", "b=T", "Q"}), t0);
        auto up = only<ToCore>(relay.take_actions());
        ASSERT_EQ(up.size(), 1u);
        Message created(code::created, up[0].request.token());
        created.add_option(opt::location_path, "rd");
        created.add_option(opt::location_path, "5");
        relay.on_core_response(std::move(created), t0);
        relay.take_actions();
        ASSERT_TRUE(relay.registered());

        relay.on_core_request(1, observe_req(core_obs), t0);
        auto out = only<ToDevice>(relay.take_actions());
        ASSERT_EQ(out.size(), 1u);
        Message ok(code::content, out[0].message.token());
        ok.add_uint_option(opt::observe, 3);
        relay.on_device_response(conn1, std::move(ok), t0);
        auto answered = only<RespondCore>(relay.take_actions());
        ASSERT_EQ(answered.size(), 1u);
        first_observe = *answered[0].response.uint_option(opt::observe);

        relay.on_device_disconnected(conn1, t0 + 1s);
        relay.on_core_request(7, make_request(code::get, core_read, {"3", "0", "0"}), t0 + 2s);
        relay.on_core_request(8, make_request(code::put, core_write, {"3", "0", "14"}), t0 + 3s);
        ASSERT_TRUE(relay.take_actions().empty()) << "held: the device sleeps";
    }

    // The device connects again (conn2) and answers everything: the re-observe, then the held
    // requests one at a time (NSTART 1).
    void connect_and_answer_everything() {
        for (auto out = only<ToDevice>(continue_on(relay, conn2, t0 + 5s)); !out.empty();
             out = only<ToDevice>(relay.take_actions())) {
            for (const auto& m : out) {
                Message answer(code::content, m.message.token());
                if (m.message.uint_option(opt::observe)) answer.add_uint_option(opt::observe, 5);
                relay.on_device_response(conn2, std::move(answer), t0 + 5s);
            }
        }
    }

    DeviceRelay relay{"ep1", params(), 1000};
    std::uint32_t first_observe = 0;
};

TEST_F(RelayStateTest, SnapshotHoldsRegistrationObservationsAndHeldRequests) {
    const auto s = relay.snapshot();
    EXPECT_EQ(s.endpoint, "ep1");
    EXPECT_TRUE(s.registered);
    EXPECT_EQ(s.location, (std::vector<std::string>{"rd", "5"}));
    EXPECT_EQ(s.lifetime, 300u);
    EXPECT_EQ(s.deadline, t0 + 300s);
    EXPECT_TRUE(s.queue_mode);
    EXPECT_EQ(s.binding, "T");
    ASSERT_EQ(s.observations.size(), 1u);
    EXPECT_EQ(s.observations[0].request.token(), core_obs);
    EXPECT_EQ(s.observations[0].observe_number, first_observe);
    ASSERT_EQ(s.queued.size(), 2u);
    EXPECT_EQ(s.queued[0].request.token(), core_read);
    EXPECT_EQ(s.queued[0].enqueued_at, t0 + 2s);
    EXPECT_EQ(s.queued[1].request.token(), core_write);
}

// The central promise: after a restart, a reconnecting device gets the core's observation back
// (notifications carry the core's token, Observe numbers keep growing) and each held request is
// delivered once and answered once.
TEST_F(RelayStateTest, RestoredRelayReobservesAndDeliversHeldRequestsOnce) {
    auto s = relay.snapshot();
    s.queued[0].id = 1001;  // the glue's ids for restored requests
    s.queued[1].id = 1002;
    DeviceRelay restored("ep1", params(), 5000);
    const TimePoint later = t0 + 60s;
    restored.restore(s, later);
    EXPECT_TRUE(restored.take_actions().empty()) << "nothing to do before the device is back";
    EXPECT_TRUE(restored.registered());
    EXPECT_EQ(restored.registration_deadline(), t0 + 300s);
    EXPECT_EQ(restored.queued(), 2u);

    // The device reconnects and sends an Update: it goes to the core as an Update (not a
    // Register); once the core accepts it, the observation is re-established and the first
    // held request goes out.
    restored.on_device_request(conn2, make_request(code::post, dev_tok, {"rd", "5"}), later);
    auto actions = restored.take_actions();
    auto up = only<ToCore>(actions);
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(up[0].kind, Uplink::update);
    EXPECT_TRUE(only<ToDevice>(actions).empty());

    Message changed(code::changed, up[0].request.token());
    restored.on_core_response(std::move(changed), later);
    EXPECT_EQ(restored.registration_deadline(), later + 300s) << "the registration continues";
    actions = restored.take_actions();
    auto down = only<ToDevice>(actions);
    ASSERT_EQ(down.size(), 3u);
    EXPECT_EQ(down[0].message.token(), dev_tok) << "the Update's answer";
    EXPECT_EQ(down[1].message.uint_option(opt::observe), 0u) << "re-observe";
    EXPECT_EQ(down[2].message.code(), code::get);
    EXPECT_NE(down[2].message.token(), core_read) << "gateway token toward the device";
    const Token reobserve_tok = down[1].message.token();
    const Token read_tok = down[2].message.token();

    // Re-observe answer: the core did not ask, so it is a notification with a larger number.
    Message reobs(code::content, reobserve_tok);
    reobs.add_uint_option(opt::observe, 1);
    reobs.set_payload("v1");
    restored.on_device_response(conn2, std::move(reobs), later);
    auto notes = only<NotifyCore>(restored.take_actions());
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0].notification.token(), core_obs);
    EXPECT_GT(*notes[0].notification.uint_option(opt::observe), first_observe);

    // Held requests: answered to the core with their ids and tokens, in order, once.
    std::map<CoreRequestId, int> answers;
    Message r1(code::content, read_tok);
    restored.on_device_response(conn2, std::move(r1), later);
    actions = restored.take_actions();
    for (const auto& a : only<RespondCore>(actions)) {
        ++answers[a.id];
        EXPECT_EQ(a.response.token(), core_read);
    }
    down = only<ToDevice>(actions);
    ASSERT_EQ(down.size(), 1u);
    EXPECT_EQ(down[0].message.code(), code::put);
    Message r2(code::changed, down[0].message.token());
    restored.on_device_response(conn2, std::move(r2), later);
    for (const auto& a : only<RespondCore>(restored.take_actions()))
        ++answers[a.id];
    EXPECT_EQ(answers, (std::map<CoreRequestId, int>{{1001, 1}, {1002, 1}}));

    // A second reconnection delivers nothing again.
    restored.on_device_disconnected(conn2, later + 1s);
    actions = continue_on(restored, conn1, later + 2s);
    EXPECT_TRUE(only<RespondCore>(actions).empty());
    down = only<ToDevice>(actions);
    ASSERT_EQ(down.size(), 1u) << "only the observation is re-established";
    EXPECT_EQ(down[0].message.uint_option(opt::observe), 0u);
}

TEST_F(RelayStateTest, ExpiredRegistrationEndsCleanlyOnRestore) {
    auto s = relay.snapshot();
    s.queued[0].id = 1001;
    s.queued[1].id = 1002;
    DeviceRelay restored("ep1", params(), 5000);
    restored.restore(s, t0 + 301s);
    auto actions = restored.take_actions();
    EXPECT_FALSE(restored.registered());
    // A De-register on the device's behalf, for a core that grants a grace period.
    auto to_core = only<ToCore>(actions);
    ASSERT_EQ(to_core.size(), 1u) << "no Register, no Update toward the core";
    EXPECT_EQ(to_core[0].kind, Uplink::deregister);
    EXPECT_EQ(to_core[0].request.code(), code::del);
    std::vector<std::string> path;
    for (const auto* o : to_core[0].request.find_options(opt::uri_path))
        path.emplace_back(o->value.begin(), o->value.end());
    EXPECT_EQ(path, relay.location());
    EXPECT_TRUE(only<ToDevice>(actions).empty());
    auto answers = only<RespondCore>(actions);
    ASSERT_EQ(answers.size(), 2u) << "every held request gets its final answer";
    for (const auto& a : answers)
        EXPECT_EQ(a.response.code(), code::not_found);
    EXPECT_FALSE(restored.idle()) << "it stays until the core answered the De-register";

    restored.on_core_response(Message(code::not_found, to_core[0].request.token()), t0 + 302s);
    EXPECT_TRUE(restored.take_actions().empty()) << "the answer reaches no device";
    EXPECT_TRUE(restored.idle());
}

TEST_F(RelayStateTest, ExpiredRegistrationIsForgottenWhenTheDeregisterFails) {
    DeviceRelay restored("ep1", params(), 5000);
    restored.restore(relay.snapshot(), t0 + 301s);
    auto to_core = only<ToCore>(restored.take_actions());
    ASSERT_EQ(to_core.size(), 1u);
    restored.on_core_failure(to_core[0].request.token(), code::gateway_timeout, "no answer");
    EXPECT_TRUE(restored.take_actions().empty());
    EXPECT_TRUE(restored.idle());
}

TEST_F(RelayStateTest, HeldRequestsPastMaxAgeExpireOnRestore) {
    auto s = relay.snapshot();
    s.queued[0].id = 1001;
    s.queued[1].id = 1002;
    s.queued[0].enqueued_at = t0 - 400s;  // older than max_age
    DeviceRelay restored("ep1", params(), 5000);
    restored.restore(s, t0 + 10s);
    auto answers = only<RespondCore>(restored.take_actions());
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].id, 1001u);
    EXPECT_EQ(answers[0].response.code(), code::gateway_timeout);
    EXPECT_EQ(restored.queued(), 1u);
}

TEST_F(RelayStateTest, RequestInFlightIsStoredAsHeld) {
    continue_on(relay, conn2, t0 + 5s);
    EXPECT_EQ(relay.in_flight(), 1u);
    const auto s = relay.snapshot();
    ASSERT_EQ(s.queued.size(), 2u) << "in flight counts as held";
    EXPECT_EQ(s.queued[0].request.token(), core_read);
}

TEST_F(RelayStateTest, GenerationChangesWithPersistentStateOnly) {
    const auto g0 = relay.persistent_generation();
    EXPECT_EQ(relay.persistent_generation(), g0) << "stable";

    // An accepted Update is a change (a new deadline); a held request going out to the device
    // and back into the queue is not.
    auto out = only<ToDevice>(continue_on(relay, conn2, t0 + 5s));
    EXPECT_NE(relay.persistent_generation(), g0);
    {
        DeviceRelay copy = relay;
        const auto flying = copy.persistent_generation();
        copy.on_device_disconnected(conn2, t0 + 5s);
        EXPECT_EQ(copy.in_flight(), 0u);
        EXPECT_EQ(copy.persistent_generation(), flying);
    }

    // Re-observe answer + notifications: only every observe_persist_stride-th one counts.
    ASSERT_EQ(out.size(), 2u);
    Message reobs(code::content, out[0].message.token());
    reobs.add_uint_option(opt::observe, 1);
    relay.on_device_response(conn2, std::move(reobs), t0 + 5s);
    relay.take_actions();
    int changes = 0;
    auto last = relay.persistent_generation();
    for (std::uint32_t i = 2; i < 2 + 4 * DeviceRelay::observe_persist_stride; ++i) {
        Message n(code::content, out[0].message.token());
        n.add_uint_option(opt::observe, i);
        relay.on_device_response(conn2, std::move(n), t0 + 6s);
        relay.take_actions();
        if (relay.persistent_generation() != last) ++changes;
        last = relay.persistent_generation();
    }
    EXPECT_GE(changes, 3);
    EXPECT_LE(changes, 5);

    // Answering a held request (queue out) is a change.
    Message answer(code::content, out[1].message.token());
    relay.on_device_response(conn2, std::move(answer), t0 + 7s);
    relay.take_actions();
    EXPECT_NE(relay.persistent_generation(), last);
    last = relay.persistent_generation();

    // Queue in.
    relay.on_device_disconnected(conn2, t0 + 8s);
    relay.take_actions();
    relay.on_core_request(9, make_request(code::get, Token::from_u64(0xC9), {"1"}), t0 + 9s);
    EXPECT_NE(relay.persistent_generation(), last);
    last = relay.persistent_generation();

    // Update (new deadline).
    relay.on_device_request(conn1, make_request(code::post, dev_tok, {"rd", "5"}), t0 + 10s);
    auto up = only<ToCore>(relay.take_actions());
    ASSERT_EQ(up.size(), 1u);
    relay.on_core_response(Message(code::changed, up[0].request.token()), t0 + 10s);
    relay.take_actions();
    EXPECT_NE(relay.persistent_generation(), last);
}

// upstream.piggyback_window: a request whose ACK the glue holds back is not persistent until it
// is acknowledged (after a restart the core would send it again); one answered within the
// window never touches the store.
TEST_F(RelayStateTest, UnacknowledgedRequestsAreNotPersistentUntilAcknowledged) {
    connect_and_answer_everything();
    const auto g0 = relay.persistent_generation();
    const auto held0 = relay.snapshot().queued.size();
    ASSERT_EQ(held0, 0u);

    // Answered within the window: no change at any point.
    relay.on_core_request(20, make_request(code::get, Token::from_u64(0xA1), {"3", "0", "1"}),
                          t0 + 6s, false);
    auto fwd = only<ToDevice>(relay.take_actions());
    ASSERT_EQ(fwd.size(), 1u);
    EXPECT_EQ(relay.persistent_generation(), g0);
    EXPECT_TRUE(relay.snapshot().queued.empty());
    relay.on_device_response(conn2, Message(code::content, fwd[0].message.token()), t0 + 6s);
    ASSERT_EQ(only<RespondCore>(relay.take_actions()).size(), 1u);
    EXPECT_EQ(relay.persistent_generation(), g0);

    // The window passes before the answer: acknowledged, it becomes persistent.
    relay.on_core_request(21, make_request(code::get, Token::from_u64(0xA2), {"3", "0", "2"}),
                          t0 + 7s, false);
    fwd = only<ToDevice>(relay.take_actions());
    ASSERT_EQ(fwd.size(), 1u);
    EXPECT_EQ(relay.persistent_generation(), g0);
    relay.on_core_request_acknowledged(21);
    EXPECT_NE(relay.persistent_generation(), g0);
    auto s = relay.snapshot();
    ASSERT_EQ(s.queued.size(), 1u);
    EXPECT_EQ(s.queued[0].request.token(), Token::from_u64(0xA2));
    relay.on_core_request_acknowledged(999);  // unknown ids change nothing

    // It keeps its state when the connection breaks and it goes back to the queue.
    const auto g1 = relay.persistent_generation();
    relay.on_device_disconnected(conn2, t0 + 8s);
    relay.take_actions();
    EXPECT_EQ(relay.persistent_generation(), g1);
    EXPECT_EQ(relay.snapshot().queued.size(), 1u);
}

// An Observe=0 answered within the piggyback window was never held state, but the observation
// it establishes is: the generation moves when the answer arrives.
TEST_F(RelayStateTest, AnObservationEstablishedWithinTheWindowIsPersisted) {
    connect_and_answer_everything();
    const Token core_obs2 = Token::from_u64(0xC5C5);
    Message obs = make_request(code::get, core_obs2, {"3", "0", "9"});
    obs.add_uint_option(opt::observe, 0);
    relay.on_core_request(30, std::move(obs), t0 + 6s, false);
    auto fwd = only<ToDevice>(relay.take_actions());
    ASSERT_EQ(fwd.size(), 1u);
    const auto pending = relay.persistent_generation();
    EXPECT_EQ(relay.snapshot().observations.size(), 1u) << "not established yet";
    Message ok(code::content, fwd[0].message.token());
    ok.add_uint_option(opt::observe, 1);
    relay.on_device_response(conn2, std::move(ok), t0 + 6s);
    relay.take_actions();
    EXPECT_NE(relay.persistent_generation(), pending);
    EXPECT_EQ(relay.snapshot().observations.size(), 2u);
}

// Not a pass/fail test: the shard-side cost quoted in docs/bridge.md. After every event the glue
// computes persistent_generation(); only when it moved does it take a snapshot (and build the
// store record, see tests/unit/store CostPerWrite).
TEST_F(RelayStateTest, CostOfGenerationAndSnapshot) {
    using C = std::chrono::steady_clock;
    constexpr int rounds = 20000;
    std::uint64_t sink = 0;
    auto t = C::now();
    for (int i = 0; i < rounds; ++i)
        sink += relay.persistent_generation();
    const double gen_ns = std::chrono::duration<double, std::nano>(C::now() - t).count() / rounds;
    t = C::now();
    for (int i = 0; i < rounds; ++i)
        sink += relay.snapshot().queued.size();
    const double snap_ns = std::chrono::duration<double, std::nano>(C::now() - t).count() / rounds;
    std::cout << "[ COST     ] persistent_generation(): " << gen_ns
              << " ns; snapshot(): " << snap_ns << " ns (1 observation, 2 held requests)\n";
    EXPECT_NE(sink, 0u);
}

// A registration made over TLS stays closed to plain TCP across a restart.
TEST(RelayRestore, AnAuthenticatedRegistrationStaysAuthenticated) {
    RelaySnapshot s;
    s.endpoint = "ep";
    s.registered = true;
    s.authenticated = true;
    s.location = {"rd", "1"};
    s.lifetime = 60;
    s.deadline = t0 + 60s;
    DeviceRelay r("ep", params(), 1);
    r.restore(s, t0);
    EXPECT_TRUE(r.authenticated());
    EXPECT_TRUE(r.snapshot().authenticated);
    r.on_device_request(conn1, make_request(code::post, dev_tok, {"rd", "1"}), t0);
    auto actions = r.take_actions();
    EXPECT_TRUE(only<ToCore>(actions).empty());
    auto answers = only<ToDevice>(actions);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].message.code(), code::forbidden);
    r.on_device_request(conn2, make_request(code::post, dev_tok, {"rd", "1"}), t0, true);
    EXPECT_EQ(only<ToCore>(r.take_actions()).size(), 1u) << "over TLS it continues";
}

TEST(RelayRestore, ObserveNumbersWrapAt24Bits) {
    RelaySnapshot s;
    s.endpoint = "ep";
    s.registered = true;
    s.location = {"rd", "1"};
    s.lifetime = 60;
    s.deadline = t0 + 60s;
    s.observations.push_back({observe_req(core_obs), 0xffffff});
    DeviceRelay r("ep", params(), 1);
    r.restore(s, t0);
    ASSERT_EQ(r.observations().size(), 1u);
    EXPECT_EQ(r.observations()[0].observe_number, DeviceRelay::observe_restart_skip - 1);
}

}  // namespace
}  // namespace lwgate::lwm2m
