// Unit tests for lwgate::lwm2m::DeviceRelay (gateway/lwm2m/device_relay.hpp): the
// sans-I/O per-device relay between the device's TCP connections and its upstream UDP session.
// Fake clock only: every TimePoint below is constructed from a fixed origin.
//
// Every test runs through the fixture, which records every action the relay emits and checks in
// TearDown the relay's central promise toward the core: no CoreRequestId is ever answered twice,
// and no answer appears for an id the core never sent.
#include "lwm2m/device_relay.hpp"
#include "unit/lwm2m/message_builders.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace lwgate::lwm2m {
namespace {

using test_util::make_request;

using namespace std::chrono_literals;
using coap::Message;
using coap::Token;
using ::testing::ElementsAre;
namespace code = coap::code;
namespace opt = coap::option;

constexpr ConnectionId conn1 = 11;
constexpr ConnectionId conn2 = 12;
constexpr ConnectionId conn3 = 13;

const TimePoint t0 = TimePoint{} + 10h;

Token tok(std::uint64_t v) {
    return Token::from_u64(v);
}

// Tokens chosen far away from the relay's own (seeded at 1000 below).
const Token dev_tok = tok(0xD0D0D0D0);
const Token dev_tok2 = tok(0xD1D1D1D1);
const Token core_tok = tok(0xC0C0C0C0);
const Token core_tok2 = tok(0xC1C1C1C1);

Message observe_request(Token token, std::uint32_t observe,
                        std::initializer_list<std::string_view> path = {"3", "0", "1"}) {
    Message m = make_request(code::get, token, path);
    m.add_uint_option(opt::observe, observe);
    return m;
}

Message make_response(std::uint8_t c, Token token, std::string_view payload = {},
                      std::optional<std::uint32_t> observe = std::nullopt) {
    Message m(c, token);
    if (observe) m.add_uint_option(opt::observe, *observe);
    if (!payload.empty()) {
        m.add_uint_option(opt::content_format, 0);
        m.set_payload(payload);
    }
    return m;
}

std::vector<std::string> strings_of(const Message& m, std::uint16_t number) {
    std::vector<std::string> out;
    for (const auto* o : m.find_options(number))
        out.emplace_back(o->value.begin(), o->value.end());
    return out;
}

std::string payload_of(const Message& m) {
    return {m.payload().begin(), m.payload().end()};
}

std::optional<std::uint32_t> observe_of(const Message& m) {
    return m.uint_option(opt::observe);
}

// Code, options and payload (everything but the token) are equal.
void expect_same_but_token(const Message& actual, const Message& expected) {
    EXPECT_EQ(actual.code(), expected.code());
    EXPECT_EQ(actual.options(), expected.options());
    EXPECT_EQ(actual.payload(), expected.payload());
}

template <class T>
std::vector<T> only(const std::vector<RelayAction>& actions) {
    std::vector<T> out;
    for (const auto& a : actions) {
        if (const auto* p = std::get_if<T>(&a)) out.push_back(*p);
    }
    return out;
}

std::string describe(const std::vector<RelayAction>& actions) {
    std::ostringstream out;
    for (const auto& a : actions) {
        if (const auto* p = std::get_if<ToDevice>(&a)) {
            out << "ToDevice{" << p->conn << ", " << coap::describe(p->message) << "} ";
        } else if (const auto* p = std::get_if<ToCore>(&a)) {
            out << "ToCore{" << coap::describe(p->request) << ", " << to_string(p->kind) << "} ";
        } else if (const auto* p = std::get_if<RespondCore>(&a)) {
            out << "RespondCore{" << p->id << ", " << coap::describe(p->response) << "} ";
        } else if (const auto* p = std::get_if<NotifyCore>(&a)) {
            out << "NotifyCore{" << coap::describe(p->notification) << "} ";
        } else if (const auto* p = std::get_if<Registered>(&a)) {
            out << "Registered{" << p->conn << ", " << p->registered << "} ";
        } else if (const auto* p = std::get_if<CloseDevice>(&a)) {
            out << "CloseDevice{" << p->conn << "} ";
        } else {
            out << "Forget ";
        }
    }
    return out.str();
}

bool is_forget(const RelayAction& a) {
    return std::holds_alternative<Forget>(a);
}

class DeviceRelayTest : public ::testing::Test {
  protected:
    void SetUp() override {
        RelayParams p;
        p.max_queued = 4;
        p.max_age = 300s;
        p.device_timeout = 30s;
        p.overflow_max_age_seconds = 60;
        make(p);
    }

    void TearDown() override {
        take();
        for (const auto& [id, responses] : responses_) {
            EXPECT_LE(responses.size(), 1u)
                << "CoreRequestId " << id << " answered " << responses.size() << " times";
            EXPECT_TRUE(acknowledged_.count(id))
                << "RespondCore for id " << id << " that the core never sent";
        }
    }

    void make(const RelayParams& p) {
        params_ = p;
        relay_ = std::make_unique<DeviceRelay>("urn:imei:123", p, 1000);
    }

    DeviceRelay& relay() { return *relay_; }

    // Takes the relay's pending actions and records them for the invariants.
    std::vector<RelayAction> take() {
        auto actions = relay_->take_actions();
        for (const auto& a : actions) {
            if (const auto* r = std::get_if<RespondCore>(&a))
                responses_[r->id].push_back(r->response);
            log_.push_back(a);
        }
        return actions;
    }

    void core_request(CoreRequestId id, Message request, TimePoint now) {
        acknowledged_.insert(id);
        relay_->on_core_request(id, std::move(request), now);
    }

    std::size_t answers(CoreRequestId id) const {
        auto it = responses_.find(id);
        return it == responses_.end() ? 0 : it->second.size();
    }

    void expect_all_answered_once() const {
        for (auto id : acknowledged_)
            EXPECT_EQ(answers(id), 1u) << "CoreRequestId " << id;
    }

    // The single ToDevice in `actions`, on `conn`.
    static Message single_to_device(const std::vector<RelayAction>& actions, ConnectionId conn) {
        auto sent = only<ToDevice>(actions);
        EXPECT_EQ(sent.size(), 1u) << describe(actions);
        if (sent.empty()) return Message{};
        EXPECT_EQ(sent[0].conn, conn);
        return sent[0].message;
    }

    static RespondCore single_respond(const std::vector<RelayAction>& actions) {
        auto r = only<RespondCore>(actions);
        EXPECT_EQ(r.size(), 1u) << describe(actions);
        return r.empty() ? RespondCore{0, Message{}} : r[0];
    }

    static Message register_message(Token token, std::initializer_list<std::string_view> query) {
        Message m = make_request(code::post, token, {"rd"}, query);
        m.add_uint_option(opt::content_format, 40);  // application/link-format
        m.set_payload("</1/0>,</3/0>,</3303/0>");
        return m;
    }

    // Relays a Register on `conn` and answers it with 2.01 rd/5a3f.
    void register_device(ConnectionId conn, TimePoint now,
                         std::initializer_list<std::string_view> query = {"ep=urn:imei:123",
                                                                          "lt=3600", "lwm2m=1.1",
                                                                          "b=T"},
                         bool authenticated = false) {
        relay().on_device_request(conn, register_message(dev_tok, query), now, authenticated);
        auto to_core = only<ToCore>(take());
        ASSERT_EQ(to_core.size(), 1u);
        Message created(code::created, to_core[0].request.token());
        created.add_option(opt::location_path, "rd");
        created.add_option(opt::location_path, "5a3f");
        relay().on_core_response(std::move(created), now);
        take();
        ASSERT_TRUE(relay().registered());
    }

    // The device continues its registration on `conn` (typically a new connection): an Update
    // there, accepted by the core. Returns what the acceptance caused, without the Update's own
    // answer to the device.
    std::vector<RelayAction> resume(ConnectionId conn, TimePoint now, Token device_token = dev_tok2,
                                    bool authenticated = false) {
        Message update(code::post, device_token);
        for (const auto& segment : relay().location())
            update.add_option(opt::uri_path, segment);
        relay().on_device_request(conn, std::move(update), now, authenticated);
        auto sent = only<ToCore>(take());
        EXPECT_EQ(sent.size(), 1u);
        if (sent.empty()) return {};
        relay().on_core_response(Message(code::changed, sent[0].request.token()), now);
        auto actions = take();
        std::erase_if(actions, [&](const RelayAction& a) {
            const auto* d = std::get_if<ToDevice>(&a);
            return d && d->conn == conn && d->message.token() == device_token;
        });
        return actions;
    }

    // Core sends GET Observe=0 (core_tok) while `conn` is connected and idle; the device accepts
    // with a 2.05 Observe. Returns the gateway token of the observation.
    Token establish_observation(CoreRequestId id, ConnectionId conn, TimePoint now,
                                Token core = core_tok) {
        core_request(id, observe_request(core, 0), now);
        Message sent = single_to_device(take(), conn);
        relay().on_device_response(conn, make_response(code::content, sent.token(), "21.5", 2),
                                   now);
        auto respond = single_respond(take());
        EXPECT_EQ(respond.id, id);
        last_observe_ = observe_of(respond.response).value_or(0);
        return sent.token();
    }

    // Sends a device notification and returns the NotifyCore's Observe number (checks it grows).
    std::uint32_t notify(ConnectionId conn, Token gateway, std::uint32_t device_observe,
                         std::string_view payload, TimePoint now) {
        relay().on_device_response(
            conn, make_response(code::content, gateway, payload, device_observe), now);
        auto actions = take();
        auto notes = only<NotifyCore>(actions);
        EXPECT_EQ(notes.size(), 1u) << describe(actions);
        EXPECT_TRUE(only<RespondCore>(actions).empty()) << describe(actions);
        if (notes.empty()) return 0;
        const auto& n = notes[0].notification;
        EXPECT_EQ(n.token(), core_tok);
        EXPECT_EQ(n.code(), code::content);
        EXPECT_EQ(payload_of(n), payload);
        auto number = observe_of(n);
        EXPECT_TRUE(number.has_value());
        EXPECT_GT(number.value_or(0), last_observe_) << "Observe numbers must strictly increase";
        last_observe_ = number.value_or(0);
        return last_observe_;
    }

    RelayParams params_;
    std::unique_ptr<DeviceRelay> relay_;
    std::vector<RelayAction> log_;
    std::map<CoreRequestId, std::vector<Message>> responses_;
    std::set<CoreRequestId> acknowledged_;
    std::uint32_t last_observe_ = 0;
};

// ---- Register ----------------------------------------------------------------------------------

TEST_F(DeviceRelayTest, RegisterGoesUpstreamWithUdpBindingAndRelayToken) {
    const Message original =
        register_message(dev_tok, {"ep=urn:imei:123", "lt=300", "lwm2m=1.1", "b=T", "Q"});
    relay().on_device_request(conn1, Message(original), t0);
    auto actions = take();
    auto to_core = only<ToCore>(actions);
    ASSERT_EQ(to_core.size(), 1u) << describe(actions);
    EXPECT_TRUE(only<ToDevice>(actions).empty());
    const Message& up = to_core[0].request;
    EXPECT_EQ(to_core[0].kind, Uplink::register_);
    EXPECT_EQ(up.code(), code::post);
    EXPECT_FALSE(up.token().empty());
    EXPECT_NE(up.token(), dev_tok);
    EXPECT_THAT(strings_of(up, opt::uri_path), ElementsAre("rd"));
    EXPECT_THAT(strings_of(up, opt::uri_query),
                ElementsAre("ep=urn:imei:123", "lt=300", "lwm2m=1.1", "b=U", "Q"));
    EXPECT_EQ(up.uint_option(opt::content_format), 40u);
    EXPECT_EQ(up.payload(), original.payload());
    EXPECT_FALSE(relay().registered());
    EXPECT_FALSE(relay().connection()) << "nothing carries downlinks before the core accepts";
}

TEST_F(DeviceRelayTest, Lwm2m10QueueBindingTQBecomesUQ) {
    relay().on_device_request(conn1, register_message(dev_tok, {"ep=urn:imei:123", "b=TQ"}), t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    EXPECT_THAT(strings_of(to_core[0].request, opt::uri_query),
                ElementsAre("ep=urn:imei:123", "b=UQ"));

    Message created(code::created, to_core[0].request.token());
    created.add_option(opt::location_path, "rd");
    created.add_option(opt::location_path, "x1");
    relay().on_core_response(std::move(created), t0);
    take();
    EXPECT_TRUE(relay().registered());
    EXPECT_TRUE(relay().queue_mode());
}

TEST_F(DeviceRelayTest, CoreCreatedReturnsToDeviceAndRecordsRegistration) {
    relay().on_device_request(
        conn1, register_message(dev_tok, {"ep=urn:imei:123", "lt=300", "lwm2m=1.1", "b=T", "Q"}),
        t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);

    Message created(code::created, to_core[0].request.token());
    created.add_option(opt::location_path, "rd");
    created.add_option(opt::location_path, "5a3f");
    const TimePoint answered = t0 + 200ms;
    relay().on_core_response(Message(created), answered);
    auto actions = take();

    auto to_device = only<ToDevice>(actions);
    ASSERT_EQ(to_device.size(), 1u) << describe(actions);
    EXPECT_EQ(to_device[0].conn, conn1);
    EXPECT_EQ(to_device[0].message.token(), dev_tok);
    expect_same_but_token(to_device[0].message, created);
    EXPECT_THAT(strings_of(to_device[0].message, opt::location_path), ElementsAre("rd", "5a3f"));

    auto registered = only<Registered>(actions);
    ASSERT_EQ(registered.size(), 1u) << describe(actions);
    EXPECT_EQ(registered[0].conn, conn1);
    EXPECT_TRUE(registered[0].registered);
    EXPECT_TRUE(std::none_of(actions.begin(), actions.end(), is_forget));

    EXPECT_TRUE(relay().registered());
    EXPECT_THAT(relay().location(), ElementsAre("rd", "5a3f"));
    EXPECT_EQ(relay().lifetime(), 300u);
    EXPECT_TRUE(relay().queue_mode());
    EXPECT_EQ(relay().version(), "1.1");
    EXPECT_EQ(relay().registration_deadline(), answered + 300s);
    EXPECT_EQ(relay().next_deadline(), answered + 300s);
    EXPECT_EQ(relay().endpoint(), "urn:imei:123");
}

TEST_F(DeviceRelayTest, RegisterWithoutQueueFlagIsNotQueueMode) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T"});
    EXPECT_FALSE(relay().queue_mode());
    EXPECT_EQ(relay().lifetime(), 60u);
}

TEST_F(DeviceRelayTest, RegisterWithoutLifetimeUsesLwm2mDefault) {
    register_device(conn1, t0, {"ep=urn:imei:123", "b=T"});
    EXPECT_EQ(relay().lifetime(), 86400u);
    EXPECT_EQ(relay().registration_deadline(), t0 + 86400s);
}

TEST_F(DeviceRelayTest, RegisterRejectedByCorePassesThroughAndStaysUnregistered) {
    relay().on_device_request(conn1, register_message(dev_tok, {"ep=urn:imei:123", "b=T"}), t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);

    Message refused(code::precondition_failed, to_core[0].request.token());
    refused.add_uint_option(opt::content_format, 0);
    refused.set_payload("unsupported version");
    relay().on_core_response(Message(refused), t0);
    auto actions = take();
    auto to_device = only<ToDevice>(actions);
    ASSERT_EQ(to_device.size(), 1u) << describe(actions);
    EXPECT_EQ(to_device[0].conn, conn1);
    EXPECT_EQ(to_device[0].message.token(), dev_tok);
    expect_same_but_token(to_device[0].message, refused);
    EXPECT_TRUE(only<Registered>(actions).empty());
    EXPECT_TRUE(std::none_of(actions.begin(), actions.end(), is_forget));
    EXPECT_FALSE(relay().registered());
    EXPECT_TRUE(relay().location().empty());
    EXPECT_EQ(relay().next_deadline(), never);
    EXPECT_FALSE(relay().connection()) << "a refused Register binds nothing";
}

// ---- Update / De-register / expiry -------------------------------------------------------------

TEST_F(DeviceRelayTest, UpdateIsRelayedWithUdpBindingAndExtendsTheRegistration) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T"});
    EXPECT_EQ(relay().next_deadline(), t0 + 60s);

    const TimePoint t = t0 + 50s;
    relay().on_device_request(
        conn1, make_request(code::post, dev_tok2, {"rd", "5a3f"}, {"lt=120", "b=T"}), t);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    EXPECT_EQ(to_core[0].kind, Uplink::update);
    EXPECT_NE(to_core[0].request.token(), dev_tok2);
    EXPECT_THAT(strings_of(to_core[0].request, opt::uri_path), ElementsAre("rd", "5a3f"));
    EXPECT_THAT(strings_of(to_core[0].request, opt::uri_query), ElementsAre("lt=120", "b=U"));

    relay().on_core_response(Message(code::changed, to_core[0].request.token()), t);
    auto actions = take();
    auto to_device = only<ToDevice>(actions);
    ASSERT_EQ(to_device.size(), 1u) << describe(actions);
    EXPECT_EQ(to_device[0].message.token(), dev_tok2);
    EXPECT_EQ(to_device[0].message.code(), code::changed);
    EXPECT_EQ(relay().lifetime(), 120u);
    EXPECT_EQ(relay().registration_deadline(), t + 120s);
    EXPECT_EQ(relay().next_deadline(), t + 120s);

    relay().on_tick(t0 + 60s);  // the original deadline passes harmlessly
    actions = take();
    EXPECT_TRUE(only<CloseDevice>(actions).empty()) << describe(actions);
    EXPECT_TRUE(std::none_of(actions.begin(), actions.end(), is_forget));
    EXPECT_TRUE(relay().registered());

    relay().on_tick(t + 120s);
    actions = take();
    EXPECT_EQ(only<CloseDevice>(actions).size(), 1u) << describe(actions);
    EXPECT_FALSE(relay().registered());
}

TEST_F(DeviceRelayTest, UpdateWithoutParametersRestartsTheLifetime) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T"});
    const TimePoint t = t0 + 45s;
    relay().on_device_request(conn1, make_request(code::post, dev_tok2, {"rd", "5a3f"}), t);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    EXPECT_TRUE(strings_of(to_core[0].request, opt::uri_query).empty());
    relay().on_core_response(Message(code::changed, to_core[0].request.token()), t);
    take();
    EXPECT_EQ(relay().lifetime(), 60u);
    EXPECT_EQ(relay().registration_deadline(), t + 60s);

    relay().on_tick(t0 + 60s);
    EXPECT_TRUE(take().empty());
    relay().on_tick(t + 60s - 1ms);
    EXPECT_TRUE(take().empty());
    EXPECT_TRUE(relay().registered());
}

TEST_F(DeviceRelayTest, FailedUpdateDoesNotExtendTheRegistration) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T"});
    relay().on_device_request(conn1, make_request(code::post, dev_tok2, {"rd", "5a3f"}), t0 + 30s);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    relay().on_core_response(Message(code::not_found, to_core[0].request.token()), t0 + 30s);
    auto to_device = only<ToDevice>(take());
    ASSERT_EQ(to_device.size(), 1u);
    EXPECT_EQ(to_device[0].message.code(), code::not_found);
    EXPECT_EQ(to_device[0].message.token(), dev_tok2);
    EXPECT_EQ(relay().registration_deadline(), t0 + 60s);
}

TEST_F(DeviceRelayTest, DeregisterEndsTheRegistrationAndForgets) {
    register_device(conn1, t0);
    relay().on_device_request(conn1, make_request(code::del, dev_tok2, {"rd", "5a3f"}), t0 + 1s);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    EXPECT_EQ(to_core[0].kind, Uplink::deregister);
    EXPECT_EQ(to_core[0].request.code(), code::del);
    EXPECT_NE(to_core[0].request.token(), dev_tok2);
    EXPECT_TRUE(relay().registered());  // not before the core agrees

    relay().on_core_response(Message(code::deleted, to_core[0].request.token()), t0 + 1s);
    auto actions = take();
    auto to_device = only<ToDevice>(actions);
    ASSERT_EQ(to_device.size(), 1u) << describe(actions);
    EXPECT_EQ(to_device[0].conn, conn1);
    EXPECT_EQ(to_device[0].message.token(), dev_tok2);
    EXPECT_EQ(to_device[0].message.code(), code::deleted);
    auto registered = only<Registered>(actions);
    ASSERT_EQ(registered.size(), 1u) << describe(actions);
    EXPECT_EQ(registered[0].conn, conn1);
    EXPECT_FALSE(registered[0].registered);
    ASSERT_FALSE(actions.empty());
    EXPECT_TRUE(is_forget(actions.back())) << "Forget must come last: " << describe(actions);
    EXPECT_EQ(std::count_if(actions.begin(), actions.end(), is_forget), 1);
    EXPECT_FALSE(relay().registered());
    EXPECT_TRUE(relay().location().empty());
    EXPECT_EQ(relay().next_deadline(), never);
}

TEST_F(DeviceRelayTest, FailedDeregisterKeepsTheRegistration) {
    register_device(conn1, t0);
    relay().on_device_request(conn1, make_request(code::del, dev_tok2, {"rd", "5a3f"}), t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    relay().on_core_response(Message(code::not_found, to_core[0].request.token()), t0);
    auto actions = take();
    EXPECT_EQ(only<ToDevice>(actions).size(), 1u);
    EXPECT_TRUE(std::none_of(actions.begin(), actions.end(), is_forget));
    EXPECT_TRUE(relay().registered());
}

TEST_F(DeviceRelayTest, DeregisterAnswersQueuedDownlinksWith404) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    relay().on_device_request(conn1, make_request(code::del, dev_tok2, {"rd", "5a3f"}), t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    relay().on_device_disconnected(conn1, t0 + 1s);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0 + 2s);
    core_request(2, make_request(code::get, core_tok2, {"3", "0", "1"}), t0 + 2s);
    EXPECT_TRUE(only<ToDevice>(take()).empty());
    EXPECT_EQ(relay().queued(), 2u);

    relay().on_core_response(Message(code::deleted, to_core[0].request.token()), t0 + 3s);
    auto actions = take();
    auto responds = only<RespondCore>(actions);
    ASSERT_EQ(responds.size(), 2u) << describe(actions);
    for (const auto& r : responds)
        EXPECT_EQ(r.response.code(), code::not_found);
    EXPECT_EQ(answers(1), 1u);
    EXPECT_EQ(answers(2), 1u);
    EXPECT_EQ(std::count_if(actions.begin(), actions.end(), is_forget), 1);
    EXPECT_EQ(relay().queued(), 0u);
    EXPECT_FALSE(relay().registered());
}

TEST_F(DeviceRelayTest, DeregisterAnswersQueuedAndInFlightDownlinks) {
    register_device(conn1, t0);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0);
    core_request(2, make_request(code::get, core_tok2, {"3", "0", "1"}), t0);
    EXPECT_EQ(only<ToDevice>(take()).size(), 1u);  // #1 in flight, #2 queued
    relay().on_device_request(conn1, make_request(code::del, dev_tok2, {"rd", "5a3f"}), t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    relay().on_core_response(Message(code::deleted, to_core[0].request.token()), t0);
    auto actions = take();
    EXPECT_EQ(std::count_if(actions.begin(), actions.end(), is_forget), 1);
    ASSERT_EQ(answers(2), 1u);
    EXPECT_EQ(responses_[2][0].code(), code::not_found);
    EXPECT_EQ(answers(1), 1u);
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, RegistrationExpiryClosesTheConnectionAndForgets) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T"});
    EXPECT_EQ(relay().next_deadline(), t0 + 60s);

    relay().on_tick(t0 + 60s - 1ms);
    EXPECT_TRUE(take().empty());
    EXPECT_TRUE(relay().registered());

    relay().on_tick(t0 + 60s);
    auto actions = take();
    auto close = only<CloseDevice>(actions);
    ASSERT_EQ(close.size(), 1u) << describe(actions);
    EXPECT_EQ(close[0].conn, conn1);
    auto registered = only<Registered>(actions);
    ASSERT_EQ(registered.size(), 1u) << describe(actions);
    EXPECT_EQ(registered[0].conn, conn1);
    EXPECT_FALSE(registered[0].registered);
    EXPECT_EQ(std::count_if(actions.begin(), actions.end(), is_forget), 1);
    EXPECT_TRUE(is_forget(actions.back())) << describe(actions);
    EXPECT_FALSE(relay().registered());
    EXPECT_EQ(relay().next_deadline(), never);

    relay().on_tick(t0 + 120s);  // expires once only
    EXPECT_TRUE(take().empty());
}

TEST_F(DeviceRelayTest, ExpiryWhileDisconnectedAnswersQueuedAndForgetsWithoutClose) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T", "Q"});
    relay().on_device_disconnected(conn1, t0 + 1s);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0 + 10s);
    take();
    EXPECT_EQ(relay().next_deadline(), t0 + 60s);

    relay().on_tick(t0 + 60s);
    auto actions = take();
    EXPECT_TRUE(only<CloseDevice>(actions).empty()) << describe(actions);
    EXPECT_EQ(std::count_if(actions.begin(), actions.end(), is_forget), 1);
    ASSERT_EQ(answers(1), 1u);
    EXPECT_EQ(responses_[1][0].code(), code::not_found);
    EXPECT_FALSE(relay().registered());
}

TEST_F(DeviceRelayTest, ExpiryAnswersADownlinkInFlight) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T"});
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0 + 50s);
    EXPECT_EQ(only<ToDevice>(take()).size(), 1u);
    EXPECT_EQ(relay().next_deadline(), t0 + 60s);
    relay().on_tick(t0 + 60s);
    auto actions = take();
    EXPECT_EQ(only<CloseDevice>(actions).size(), 1u);
    EXPECT_EQ(std::count_if(actions.begin(), actions.end(), is_forget), 1);
    EXPECT_EQ(answers(1), 1u);
}

// ---- a new upstream address (on_upstream_replaced) -----------------------------------------

TEST_F(DeviceRelayTest, UpstreamReplacedSendsAnUpdateOnTheDevicesBehalf) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T"});
    const TimePoint t = t0 + 30s;
    relay().on_upstream_replaced(t);
    auto actions = take();
    EXPECT_TRUE(only<ToDevice>(actions).empty()) << describe(actions);
    auto to_core = only<ToCore>(actions);
    ASSERT_EQ(to_core.size(), 1u) << describe(actions);
    const Message& update = to_core[0].request;
    EXPECT_EQ(to_core[0].kind, Uplink::update);
    EXPECT_EQ(update.code(), code::post);
    EXPECT_THAT(strings_of(update, opt::uri_path), ElementsAre("rd", "5a3f"));
    EXPECT_TRUE(strings_of(update, opt::uri_query).empty()) << "no parameter changes";
    EXPECT_TRUE(update.payload().empty());
    EXPECT_NE(update.token(), dev_tok);

    relay().on_core_response(Message(code::changed, update.token()), t);
    actions = take();
    EXPECT_TRUE(actions.empty()) << "the answer reaches no device: " << describe(actions);
    EXPECT_TRUE(relay().registered());
    EXPECT_EQ(relay().lifetime(), 60u);
    EXPECT_EQ(relay().registration_deadline(), t + 60s) << "an Update restarts the lifetime";
}

TEST_F(DeviceRelayTest, UpstreamReplacedAndTheCoreLostTheRegistrationEndsIt) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T", "Q"});
    relay().on_device_disconnected(conn1, t0 + 1s);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0 + 2s);
    Message sent = single_to_device(resume(conn2, t0 + 3s), conn2);
    relay().on_upstream_replaced(t0 + 4s);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    relay().on_core_response(Message(code::not_found, to_core[0].request.token()), t0 + 4s);
    auto actions = take();
    auto close = only<CloseDevice>(actions);
    ASSERT_EQ(close.size(), 1u) << describe(actions);
    EXPECT_EQ(close[0].conn, conn2) << "the device registers again on a new connection";
    EXPECT_EQ(std::count_if(actions.begin(), actions.end(), is_forget), 1);
    EXPECT_FALSE(relay().registered());
    ASSERT_EQ(answers(1), 1u) << "the request in flight is answered";
    EXPECT_EQ(responses_[1][0].code(), code::not_found);
    relay().on_device_response(conn2, make_response(code::content, sent.token(), "x"), t0 + 5s);
    EXPECT_TRUE(only<RespondCore>(take()).empty()) << "a late answer is swallowed";
}

TEST_F(DeviceRelayTest, UpstreamReplacedAnswersUplinksOfTheOldSessionWith503) {
    register_device(conn1, t0);
    Message send = make_request(code::post, dev_tok2, {"dp"});
    send.set_payload("x");
    relay().on_device_request(conn1, std::move(send), t0 + 1s);
    auto old = only<ToCore>(take());
    ASSERT_EQ(old.size(), 1u);

    relay().on_upstream_replaced(t0 + 2s);
    auto actions = take();
    auto to_device = only<ToDevice>(actions);
    ASSERT_EQ(to_device.size(), 1u) << describe(actions);
    EXPECT_EQ(to_device[0].conn, conn1);
    EXPECT_EQ(to_device[0].message.token(), dev_tok2);
    EXPECT_EQ(to_device[0].message.code(), code::service_unavailable);
    EXPECT_EQ(only<ToCore>(actions).size(), 1u) << "and the Update on the device's behalf";

    relay().on_core_response(Message(code::changed, old[0].request.token()), t0 + 3s);
    EXPECT_TRUE(take().empty()) << "the old session's answer is late: ignored";
}

TEST_F(DeviceRelayTest, UpstreamReplacedUpdateThatFailsKeepsTheRegistration) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=60", "b=T"});
    relay().on_upstream_replaced(t0 + 10s);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    relay().on_core_failure(to_core[0].request.token(), code::gateway_timeout, "no answer");
    EXPECT_TRUE(take().empty());
    relay().on_core_response(Message(code::internal_server_error, to_core[0].request.token()),
                             t0 + 11s);
    EXPECT_TRUE(take().empty());
    EXPECT_TRUE(relay().registered());
    EXPECT_EQ(relay().registration_deadline(), t0 + 60s);
}

TEST_F(DeviceRelayTest, UpstreamReplacedWithoutARegistrationSendsNothing) {
    relay().on_upstream_replaced(t0);
    EXPECT_TRUE(take().empty());
}

// ---- other uplinks -----------------------------------------------------------------------------

TEST_F(DeviceRelayTest, SendPassesThroughWithRelayTokenAndComesBackWithDeviceToken) {
    register_device(conn1, t0);
    Message send = make_request(code::post, dev_tok2, {"dp"});
    send.add_uint_option(opt::content_format, 112);  // SenML CBOR
    send.set_payload(std::string_view("\x81\xa2\x00\x63", 4));
    relay().on_device_request(conn1, Message(send), t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    EXPECT_EQ(to_core[0].kind, Uplink::send);
    EXPECT_NE(to_core[0].request.token(), dev_tok2);
    expect_same_but_token(to_core[0].request, send);

    Message changed(code::changed, to_core[0].request.token());
    changed.add_uint_option(opt::content_format, 0);
    changed.set_payload("ok");
    relay().on_core_response(Message(changed), t0);
    auto to_device = only<ToDevice>(take());
    ASSERT_EQ(to_device.size(), 1u);
    EXPECT_EQ(to_device[0].conn, conn1);
    EXPECT_EQ(to_device[0].message.token(), dev_tok2);
    expect_same_but_token(to_device[0].message, changed);
}

TEST_F(DeviceRelayTest, DeviceTokensReusedAcrossConnectionsGetDistinctUpstreamTokens) {
    register_device(conn1, t0);
    relay().on_device_request(conn1, make_request(code::post, dev_tok2, {"dp"}), t0);
    relay().on_device_request(conn2, make_request(code::post, dev_tok2, {"dp"}), t0 + 1s);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 2u);
    EXPECT_NE(to_core[0].request.token(), to_core[1].request.token());
    EXPECT_EQ(relay().connection(), conn1) << "a Send on another connection moves nothing";

    // Answered out of order: each answer goes to the connection that carried its request.
    relay().on_core_response(Message(code::changed, to_core[1].request.token()), t0 + 2s);
    relay().on_core_response(Message(code::bad_request, to_core[0].request.token()), t0 + 2s);
    auto to_device = only<ToDevice>(take());
    ASSERT_EQ(to_device.size(), 2u);
    EXPECT_EQ(to_device[0].conn, conn2);
    EXPECT_EQ(to_device[0].message.code(), code::changed);
    EXPECT_EQ(to_device[0].message.token(), dev_tok2);
    EXPECT_EQ(to_device[1].conn, conn1);
    EXPECT_EQ(to_device[1].message.code(), code::bad_request);
    EXPECT_EQ(to_device[1].message.token(), dev_tok2);
}

TEST_F(DeviceRelayTest, CoreFailureAnswersTheDeviceAndIgnoresALateResponse) {
    register_device(conn1, t0);
    relay().on_device_request(conn1, make_request(code::post, dev_tok2, {"dp"}), t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    const Token upstream = to_core[0].request.token();

    relay().on_core_failure(upstream, code::gateway_timeout, "core did not answer");
    auto to_device = only<ToDevice>(take());
    ASSERT_EQ(to_device.size(), 1u);
    EXPECT_EQ(to_device[0].conn, conn1);
    EXPECT_EQ(to_device[0].message.code(), code::gateway_timeout);
    EXPECT_EQ(to_device[0].message.token(), dev_tok2);

    relay().on_core_response(Message(code::changed, upstream), t0 + 5s);
    EXPECT_TRUE(take().empty());
    relay().on_core_failure(upstream, code::gateway_timeout, "again");
    EXPECT_TRUE(take().empty());
    relay().on_core_failure(tok(0x7777), code::bad_gateway, "unknown");
    EXPECT_TRUE(take().empty());
}

TEST_F(DeviceRelayTest, CoreFailureOfARegisterLeavesTheDeviceUnregistered) {
    relay().on_device_request(conn1, register_message(dev_tok, {"ep=urn:imei:123", "b=T"}), t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    relay().on_core_failure(to_core[0].request.token(), code::bad_gateway, "");
    auto actions = take();
    auto to_device = only<ToDevice>(actions);
    ASSERT_EQ(to_device.size(), 1u);
    EXPECT_EQ(to_device[0].message.code(), code::bad_gateway);
    EXPECT_EQ(to_device[0].message.token(), dev_tok);
    EXPECT_TRUE(only<Registered>(actions).empty());

    Message created(code::created, to_core[0].request.token());
    created.add_option(opt::location_path, "rd");
    relay().on_core_response(std::move(created), t0 + 1s);  // too late
    EXPECT_TRUE(take().empty());
    EXPECT_FALSE(relay().registered());
}

TEST_F(DeviceRelayTest, DuplicateAndUnknownCoreResponsesAreIgnored) {
    relay().on_device_request(conn1, register_message(dev_tok, {"ep=urn:imei:123", "b=T"}), t0);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    Message created(code::created, to_core[0].request.token());
    created.add_option(opt::location_path, "rd");
    created.add_option(opt::location_path, "a");
    relay().on_core_response(Message(created), t0);
    EXPECT_EQ(only<ToDevice>(take()).size(), 1u);

    relay().on_core_response(Message(created), t0 + 1s);  // duplicate (UDP retransmission)
    EXPECT_TRUE(take().empty());
    relay().on_core_response(Message(code::content, tok(0x4242)), t0 + 1s);
    EXPECT_TRUE(take().empty());
    relay().on_core_response(Message(code::content, core_tok), t0 + 1s);
    EXPECT_TRUE(take().empty());
    EXPECT_TRUE(relay().registered());
}

// ---- downlinks to a connected device -----------------------------------------------------------

TEST_F(DeviceRelayTest, DownlinkUsesAGatewayTokenAndTheAnswerGoesBackToTheCore) {
    register_device(conn1, t0);
    Message write = make_request(code::put, core_tok, {"3303", "0", "5700"});
    write.add_uint_option(opt::content_format, 11542);  // TLV
    write.set_payload(std::string_view("\xc8\x00\x04\x41\xa8\x00\x00", 7));
    core_request(7, Message(write), t0);
    auto actions = take();
    Message sent = single_to_device(actions, conn1);
    EXPECT_TRUE(only<RespondCore>(actions).empty());
    EXPECT_FALSE(sent.token().empty());
    EXPECT_NE(sent.token(), core_tok);
    expect_same_but_token(sent, write);
    EXPECT_EQ(relay().in_flight(), 1u);
    EXPECT_EQ(relay().queued(), 0u);
    EXPECT_EQ(relay().next_deadline(), t0 + 30s);

    Message changed(code::changed, sent.token());
    changed.add_uint_option(opt::content_format, 0);
    changed.set_payload("done");
    relay().on_device_response(conn1, Message(changed), t0 + 1s);
    actions = take();
    auto respond = single_respond(actions);
    EXPECT_EQ(respond.id, 7u);
    expect_same_but_token(respond.response, changed);
    EXPECT_TRUE(only<ToDevice>(actions).empty());
    EXPECT_EQ(relay().in_flight(), 0u);
    EXPECT_EQ(relay().next_deadline(), t0 + 3600s);
}

TEST_F(DeviceRelayTest, EveryDownlinkMethodPassesUnchanged) {
    register_device(conn1, t0);
    const std::vector<std::uint8_t> methods = {code::get,   code::put,    code::post, code::del,
                                               code::fetch, code::ipatch, code::patch};
    const std::vector<std::uint8_t> answers_codes = {
        code::content, code::changed, code::created,           code::deleted,
        code::content, code::changed, code::method_not_allowed};
    std::set<std::string> tokens;
    for (std::size_t i = 0; i < methods.size(); ++i) {
        Message request = make_request(methods[i], tok(0xC000 + i), {"5", "0", "1"});
        request.add_uint_option(opt::accept, 110);
        request.set_payload("payload-" + std::to_string(i));
        core_request(100 + i, Message(request), t0);
        Message sent = single_to_device(take(), conn1);
        expect_same_but_token(sent, request);
        EXPECT_TRUE(tokens.insert(token_key(sent.token())).second) << "gateway token reused";

        Message answer(answers_codes[i], sent.token());
        answer.set_payload("answer-" + std::to_string(i));
        relay().on_device_response(conn1, Message(answer), t0);
        auto respond = single_respond(take());
        EXPECT_EQ(respond.id, 100 + i);
        expect_same_but_token(respond.response, answer);
    }
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, OneRequestAtATimeInArrivalOrder) {
    register_device(conn1, t0);
    for (CoreRequestId id = 1; id <= 3; ++id) {
        core_request(id, make_request(code::get, tok(0xC000 + id), {"3", "0", std::to_string(id)}),
                     t0);
    }
    auto actions = take();
    Message first = single_to_device(actions, conn1);
    EXPECT_THAT(strings_of(first, opt::uri_path), ElementsAre("3", "0", "1"));
    EXPECT_EQ(relay().in_flight(), 1u);
    EXPECT_EQ(relay().queued(), 2u);

    // Nothing else goes out, whatever happens, until the device answers.
    relay().on_tick(t0 + 10s);
    EXPECT_TRUE(only<ToDevice>(take()).empty());
    relay().on_device_request(conn1, make_request(code::post, dev_tok2, {"dp"}), t0 + 11s);
    EXPECT_TRUE(only<ToDevice>(take()).empty());
    resume(conn1, t0 + 12s);  // the same connection confirmed again: nothing re-sent
    EXPECT_TRUE(only<ToDevice>(take()).empty());

    Message current = first;
    for (CoreRequestId id = 1; id <= 3; ++id) {
        relay().on_device_response(
            conn1, make_response(code::content, current.token(), "v" + std::to_string(id)),
            t0 + 20s);
        actions = take();
        auto respond = single_respond(actions);
        EXPECT_EQ(respond.id, id);
        EXPECT_EQ(payload_of(respond.response), "v" + std::to_string(id));
        auto sent = only<ToDevice>(actions);
        if (id < 3) {
            ASSERT_EQ(sent.size(), 1u) << describe(actions);
            EXPECT_THAT(strings_of(sent[0].message, opt::uri_path),
                        ElementsAre("3", "0", std::to_string(id + 1)));
            EXPECT_NE(sent[0].message.token(), current.token());
            current = sent[0].message;
        } else {
            EXPECT_TRUE(sent.empty());
        }
    }
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, UnknownTokensAndStaleConnectionsAreIgnored) {
    register_device(conn1, t0);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0);
    Message sent = single_to_device(take(), conn1);

    relay().on_device_response(conn1, make_response(code::content, tok(0xBADBAD), "x"), t0);
    EXPECT_TRUE(take().empty());
    relay().on_device_response(conn1, make_response(code::content, core_tok, "x"), t0);
    EXPECT_TRUE(take().empty());
    relay().on_device_response(conn3, make_response(code::content, sent.token(), "x"), t0);
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(relay().in_flight(), 1u);

    relay().on_device_response(conn1, make_response(code::content, sent.token(), "ok"), t0);
    EXPECT_EQ(single_respond(take()).id, 1u);
    relay().on_device_response(conn1, make_response(code::content, sent.token(), "dup"), t0);
    EXPECT_TRUE(take().empty());
    expect_all_answered_once();
}

// ---- queue mode ------------------------------------------------------------------------------

TEST_F(DeviceRelayTest, RequestsAreHeldWhileDisconnectedAndDeliveredInOrderOnConnect) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    relay().on_device_disconnected(conn1, t0 + 1s);
    EXPECT_EQ(relay().connection(), std::nullopt);
    take();

    for (CoreRequestId id = 1; id <= 3; ++id) {
        core_request(id, make_request(code::get, tok(0xC000 + id), {"3", "0", std::to_string(id)}),
                     t0 + 2s);
        auto actions = take();
        EXPECT_TRUE(only<ToDevice>(actions).empty()) << describe(actions);
        EXPECT_TRUE(only<RespondCore>(actions).empty()) << describe(actions);
    }
    EXPECT_EQ(relay().queued(), 3u);
    EXPECT_EQ(relay().in_flight(), 0u);
    EXPECT_EQ(relay().next_deadline(), t0 + 2s + 300s);

    auto actions = resume(conn2, t0 + 60s);
    Message current = single_to_device(actions, conn2);
    EXPECT_THAT(strings_of(current, opt::uri_path), ElementsAre("3", "0", "1"));
    auto registered = only<Registered>(actions);
    ASSERT_EQ(registered.size(), 1u);
    EXPECT_EQ(registered[0].conn, conn2);
    EXPECT_TRUE(registered[0].registered);
    EXPECT_TRUE(registered[0].queue_mode);

    for (CoreRequestId id = 1; id <= 3; ++id) {
        relay().on_device_response(
            conn2, make_response(code::content, current.token(), "v" + std::to_string(id)),
            t0 + 61s);
        actions = take();
        auto respond = single_respond(actions);
        EXPECT_EQ(respond.id, id);
        EXPECT_EQ(payload_of(respond.response), "v" + std::to_string(id));
        auto sent = only<ToDevice>(actions);
        if (id < 3) {
            ASSERT_EQ(sent.size(), 1u) << describe(actions);
            EXPECT_EQ(sent[0].conn, conn2);
            EXPECT_THAT(strings_of(sent[0].message, opt::uri_path),
                        ElementsAre("3", "0", std::to_string(id + 1)));
            current = sent[0].message;
        } else {
            EXPECT_TRUE(sent.empty()) << describe(actions);
        }
    }
    EXPECT_EQ(relay().queued(), 0u);
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, AnUpdateOnANewConnectionStartsTheFlushOnceTheCoreAcceptsIt) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    relay().on_device_disconnected(conn1, t0 + 1s);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0 + 2s);
    core_request(2, make_request(code::get, core_tok2, {"3", "0", "1"}), t0 + 2s);
    EXPECT_TRUE(only<ToDevice>(take()).empty());

    // The device wakes up and sends an Update on a fresh connection: nothing goes to that
    // connection until the core has accepted the Update.
    relay().on_device_request(conn2, make_request(code::post, dev_tok2, {"rd", "5a3f"}), t0 + 90s);
    auto actions = take();
    auto to_core = only<ToCore>(actions);
    ASSERT_EQ(to_core.size(), 1u);
    EXPECT_TRUE(only<ToDevice>(actions).empty()) << describe(actions);
    EXPECT_EQ(relay().connection(), std::nullopt);
    relay().on_core_response(Message(code::changed, to_core[0].request.token()), t0 + 90s);
    actions = take();
    auto sent_all = only<ToDevice>(actions);
    ASSERT_EQ(sent_all.size(), 2u) << describe(actions);
    EXPECT_EQ(sent_all[0].message.token(), dev_tok2) << "the Update's answer first";
    Message sent = sent_all[1].message;
    EXPECT_EQ(sent_all[1].conn, conn2);
    EXPECT_THAT(strings_of(sent, opt::uri_path), ElementsAre("3", "0", "0"));
    EXPECT_EQ(relay().connection(), conn2);
    EXPECT_EQ(relay().queued(), 1u);

    relay().on_device_response(conn2, make_response(code::content, sent.token(), "a"), t0 + 91s);
    actions = take();
    EXPECT_EQ(single_respond(actions).id, 1u);
    Message second = single_to_device(actions, conn2);
    EXPECT_THAT(strings_of(second, opt::uri_path), ElementsAre("3", "0", "1"));
    relay().on_device_response(conn2, make_response(code::content, second.token(), "b"), t0 + 92s);
    EXPECT_EQ(single_respond(take()).id, 2u);
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, OverflowWhileDisconnectedAnswers503WithMaxAge) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    relay().on_device_disconnected(conn1, t0 + 1s);
    for (CoreRequestId id = 1; id <= 4; ++id)
        core_request(id, make_request(code::get, tok(0xC000 + id), {"3", "0", "0"}), t0 + 2s);
    EXPECT_TRUE(only<RespondCore>(take()).empty());
    EXPECT_EQ(relay().queued(), 4u);

    core_request(5, make_request(code::get, tok(0xC005), {"3", "0", "0"}), t0 + 3s);
    auto respond = single_respond(take());
    EXPECT_EQ(respond.id, 5u);
    EXPECT_EQ(respond.response.code(), code::service_unavailable);
    EXPECT_EQ(respond.response.uint_option(opt::max_age), 60u);
    EXPECT_EQ(relay().queued(), 4u);

    // The ones that were accepted are still delivered.
    Message sent = single_to_device(resume(conn2, t0 + 10s), conn2);
    EXPECT_EQ(sent.code(), code::get);
}

TEST_F(DeviceRelayTest, OverflowWhileConnectedCountsOnlyTheQueue) {
    RelayParams p = params_;
    p.max_queued = 2;
    p.overflow_max_age_seconds = 17;
    make(p);
    register_device(conn1, t0);
    for (CoreRequestId id = 1; id <= 3; ++id)
        core_request(id, make_request(code::get, tok(0xC000 + id), {"3", "0", "0"}), t0);
    auto actions = take();
    EXPECT_EQ(only<ToDevice>(actions).size(), 1u);
    EXPECT_TRUE(only<RespondCore>(actions).empty()) << describe(actions);
    EXPECT_EQ(relay().in_flight(), 1u);
    EXPECT_EQ(relay().queued(), 2u);

    core_request(4, make_request(code::get, tok(0xC004), {"3", "0", "0"}), t0);
    auto respond = single_respond(take());
    EXPECT_EQ(respond.id, 4u);
    EXPECT_EQ(respond.response.code(), code::service_unavailable);
    EXPECT_EQ(respond.response.uint_option(opt::max_age), 17u);
}

TEST_F(DeviceRelayTest, QueuedRequestsOlderThanMaxAgeGet504) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    relay().on_device_disconnected(conn1, t0);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0 + 10s);
    core_request(2, make_request(code::get, core_tok2, {"3", "0", "1"}), t0 + 110s);
    take();
    EXPECT_EQ(relay().next_deadline(), t0 + 310s);

    relay().on_tick(t0 + 310s - 1ms);
    EXPECT_TRUE(take().empty());
    relay().on_tick(t0 + 310s);
    auto respond = single_respond(take());
    EXPECT_EQ(respond.id, 1u);
    EXPECT_EQ(respond.response.code(), code::gateway_timeout);
    EXPECT_EQ(relay().queued(), 1u);
    EXPECT_EQ(relay().next_deadline(), t0 + 410s);

    relay().on_tick(t0 + 500s);
    respond = single_respond(take());
    EXPECT_EQ(respond.id, 2u);
    EXPECT_EQ(respond.response.code(), code::gateway_timeout);
    EXPECT_EQ(relay().queued(), 0u);
    EXPECT_EQ(relay().next_deadline(), t0 + 3600s);

    EXPECT_TRUE(only<ToDevice>(resume(conn2, t0 + 600s)).empty());  // nothing expired goes late
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, DeviceTimeoutAnswers504AndSwallowsTheLateAnswer) {
    register_device(conn1, t0);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0);
    core_request(2, make_request(code::get, core_tok2, {"3", "0", "1"}), t0 + 5s);
    Message first = single_to_device(take(), conn1);
    EXPECT_EQ(relay().next_deadline(), t0 + 30s);

    relay().on_tick(t0 + 30s - 1ms);
    EXPECT_TRUE(take().empty());
    relay().on_tick(t0 + 30s);
    auto actions = take();
    auto respond = single_respond(actions);
    EXPECT_EQ(respond.id, 1u);
    EXPECT_EQ(respond.response.code(), code::gateway_timeout);
    // The next request goes out now that the first is settled.
    Message second = single_to_device(actions, conn1);
    EXPECT_THAT(strings_of(second, opt::uri_path), ElementsAre("3", "0", "1"));
    EXPECT_NE(second.token(), first.token());
    EXPECT_EQ(relay().next_deadline(), t0 + 60s);

    relay().on_device_response(conn1, make_response(code::content, first.token(), "late"),
                               t0 + 31s);
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(answers(1), 1u);

    relay().on_device_response(conn1, make_response(code::content, second.token(), "ok"), t0 + 32s);
    respond = single_respond(take());
    EXPECT_EQ(respond.id, 2u);
    EXPECT_EQ(respond.response.code(), code::content);
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, InFlightRequestReturnsToTheHeadOfTheQueueWhenTheConnectionDrops) {
    register_device(conn1, t0);
    for (CoreRequestId id = 1; id <= 3; ++id) {
        core_request(id, make_request(code::get, tok(0xC000 + id), {"3", "0", std::to_string(id)}),
                     t0);
    }
    Message first = single_to_device(take(), conn1);
    EXPECT_THAT(strings_of(first, opt::uri_path), ElementsAre("3", "0", "1"));

    relay().on_device_disconnected(conn1, t0 + 1s);
    EXPECT_TRUE(take().empty());  // nothing answered, nothing lost
    EXPECT_EQ(relay().in_flight(), 0u);
    EXPECT_EQ(relay().queued(), 3u);
    relay().on_device_disconnected(conn1, t0 + 1s);  // repeated: harmless
    EXPECT_EQ(relay().queued(), 3u);

    // An answer that still arrives on the dead connection is not used.
    relay().on_device_response(conn1, make_response(code::content, first.token(), "old"), t0 + 2s);
    EXPECT_TRUE(take().empty());

    Message again = single_to_device(resume(conn2, t0 + 10s), conn2);
    EXPECT_THAT(strings_of(again, opt::uri_path), ElementsAre("3", "0", "1"));
    expect_same_but_token(again, first);

    Message current = again;
    for (CoreRequestId id = 1; id <= 3; ++id) {
        relay().on_device_response(
            conn2, make_response(code::content, current.token(), "v" + std::to_string(id)),
            t0 + 11s);
        auto actions = take();
        auto respond = single_respond(actions);
        EXPECT_EQ(respond.id, id);
        EXPECT_EQ(payload_of(respond.response), "v" + std::to_string(id));
        auto sent = only<ToDevice>(actions);
        if (id < 3) {
            ASSERT_EQ(sent.size(), 1u);
            current = sent[0].message;
        }
    }
    // The old answer, delivered once more on conn1, changes nothing.
    relay().on_device_response(conn1, make_response(code::content, first.token(), "old"), t0 + 12s);
    EXPECT_TRUE(take().empty());
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, ANewConnectionSupersedesTheOldOne) {
    register_device(conn1, t0);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0);
    Message first = single_to_device(take(), conn1);

    auto actions = resume(conn2, t0 + 1s);  // no disconnect for conn1 seen yet
    Message again = single_to_device(actions, conn2);
    expect_same_but_token(again, first);
    EXPECT_EQ(relay().connection(), conn2);

    relay().on_device_disconnected(conn1, t0 + 2s);  // the older connection: nothing moves
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(relay().connection(), conn2);
    EXPECT_EQ(relay().in_flight(), 1u);

    relay().on_device_response(conn1, make_response(code::content, first.token(), "old"), t0 + 2s);
    EXPECT_TRUE(take().empty());
    relay().on_device_response(conn2, make_response(code::content, again.token(), "new"), t0 + 3s);
    auto respond = single_respond(take());
    EXPECT_EQ(respond.id, 1u);
    EXPECT_EQ(payload_of(respond.response), "new");
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, RequeuedRequestStillAgesOut) {
    register_device(conn1, t0);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0);
    take();
    relay().on_device_disconnected(conn1, t0 + 1s);
    EXPECT_EQ(relay().next_deadline(), t0 + 300s);
    relay().on_tick(t0 + 300s);
    auto respond = single_respond(take());
    EXPECT_EQ(respond.id, 1u);
    EXPECT_EQ(respond.response.code(), code::gateway_timeout);
    EXPECT_TRUE(only<ToDevice>(resume(conn2, t0 + 301s)).empty());
}

// ---- which connection carries the registration -------------------------------------------

// A connection that only connected, or sent something other than a Register/Update, takes
// nothing from the device's established connection.
TEST_F(DeviceRelayTest, AConnectionThatProvesNothingChangesNothing) {
    register_device(conn1, t0);
    const Token g = establish_observation(1, conn1, t0);
    relay().on_device_request(conn2, make_request(code::post, dev_tok2, {"dp"}), t0 + 1s);
    auto actions = take();
    EXPECT_EQ(only<ToCore>(actions).size(), 1u);
    EXPECT_TRUE(only<ToDevice>(actions).empty()) << describe(actions);
    EXPECT_EQ(relay().connection(), conn1);
    core_request(2, make_request(code::get, core_tok2, {"3", "0", "0"}), t0 + 2s);
    single_to_device(take(), conn1);
    notify(conn1, g, 3, "still here", t0 + 3s);
    relay().on_device_disconnected(conn2, t0 + 4s);
    EXPECT_TRUE(only<ToDevice>(take()).empty());
    EXPECT_EQ(relay().connection(), conn1);
}

// A Register the core refuses (or one that never gets an answer) leaves the connection that
// registered in charge.
TEST_F(DeviceRelayTest, ARefusedRegisterOnASecondConnectionChangesNothing) {
    register_device(conn1, t0);
    establish_observation(1, conn1, t0);
    relay().on_device_request(
        conn2, register_message(dev_tok2, {"ep=urn:imei:123", "lt=60", "b=T"}), t0 + 1s);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    relay().on_core_response(Message(code::forbidden, to_core[0].request.token()), t0 + 1s);
    auto actions = take();
    auto sent = only<ToDevice>(actions);
    ASSERT_EQ(sent.size(), 1u) << describe(actions);
    EXPECT_EQ(sent[0].conn, conn2);
    EXPECT_EQ(sent[0].message.code(), code::forbidden);
    EXPECT_TRUE(only<Registered>(actions).empty());
    EXPECT_EQ(relay().connection(), conn1);
    EXPECT_EQ(relay().observations().size(), 1u);
    EXPECT_TRUE(relay().observations()[0].active);
}

// Two accepted connections (a device that opened a second one, e.g. after a NAT rebinding it
// has not noticed yet): downlinks go to the newest, observations move with them (cancelled on
// the older one), and when the newest closes the older one takes over again.
TEST_F(DeviceRelayTest, TheNewestAcceptedConnectionCarriesDownlinksAndTheOlderOneTakesOver) {
    register_device(conn1, t0);
    const Token g1 = establish_observation(1, conn1, t0);

    auto actions = resume(conn2, t0 + 10s);
    auto sent = only<ToDevice>(actions);
    ASSERT_EQ(sent.size(), 2u) << describe(actions);
    EXPECT_EQ(sent[0].conn, conn1) << "cancelled on the older connection";
    EXPECT_EQ(sent[0].message.token(), g1);
    EXPECT_EQ(observe_of(sent[0].message), 1u);
    EXPECT_EQ(sent[1].conn, conn2) << "re-observed on the newest";
    EXPECT_EQ(observe_of(sent[1].message), 0u);
    EXPECT_EQ(relay().accepted_connections(), (std::vector<ConnectionId>{conn1, conn2}));
    notify(conn2, sent[1].message.token(), 2, "on two", t0 + 11s);

    core_request(2, make_request(code::get, core_tok2, {"3", "0", "0"}), t0 + 12s);
    single_to_device(take(), conn2);  // in flight on conn2 when it closes

    relay().on_device_disconnected(conn2, t0 + 13s);
    actions = take();
    sent = only<ToDevice>(actions);
    ASSERT_EQ(sent.size(), 2u) << describe(actions);
    for (const auto& s : sent)
        EXPECT_EQ(s.conn, conn1);
    const Message* reobserve = nullptr;
    const Message* read = nullptr;
    for (const auto& s : sent)
        (observe_of(s.message) ? reobserve : read) = &s.message;
    ASSERT_TRUE(reobserve && read);
    EXPECT_THAT(strings_of(*read, opt::uri_path), ElementsAre("3", "0", "0"));
    relay().on_device_response(conn1, make_response(code::content, read->token(), "r"), t0 + 14s);
    EXPECT_EQ(single_respond(take()).id, 2u);
    notify(conn1, reobserve->token(), 9, "back on one", t0 + 15s);
    EXPECT_EQ(relay().connection(), conn1);
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, AnUpdateWhoseConnectionClosedBeforeTheAnswerActivatesNothing) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    relay().on_device_disconnected(conn1, t0 + 1s);
    core_request(1, make_request(code::get, core_tok, {"3", "0", "0"}), t0 + 2s);
    take();
    relay().on_device_request(conn2, make_request(code::post, dev_tok2, {"rd", "5a3f"}), t0 + 3s);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    relay().on_device_disconnected(conn2, t0 + 4s);
    relay().on_core_response(Message(code::changed, to_core[0].request.token()), t0 + 5s);
    auto actions = take();
    for (const auto& s : only<ToDevice>(actions))
        EXPECT_EQ(s.message.token(), dev_tok2) << "only the Update's answer: " << describe(actions);
    EXPECT_EQ(relay().connection(), std::nullopt);
    EXPECT_EQ(relay().queued(), 1u) << "the held request waits for a live connection";
    EXPECT_EQ(relay().registration_deadline(), t0 + 5s + 3600s) << "the registration continues";
}

// An Update or De-register that names another registration never reaches the core.
TEST_F(DeviceRelayTest, AnUpdateOrDeregisterOfAnotherLocationIsAnswered404Locally) {
    register_device(conn1, t0);
    relay().on_device_request(conn1, make_request(code::post, dev_tok2, {"rd", "other"}), t0);
    auto actions = take();
    EXPECT_TRUE(only<ToCore>(actions).empty()) << describe(actions);
    Message answer = single_to_device(actions, conn1);
    EXPECT_EQ(answer.code(), code::not_found);
    EXPECT_EQ(answer.token(), dev_tok2);
    relay().on_device_request(conn1, make_request(code::del, dev_tok2, {"rd", "other"}), t0);
    actions = take();
    EXPECT_TRUE(only<ToCore>(actions).empty()) << describe(actions);
    EXPECT_EQ(single_to_device(actions, conn1).code(), code::not_found);
    EXPECT_TRUE(relay().registered());
}

// An Update sent for a registration that a new Register replaced before the core answered it
// does not move the new registration to its connection.
TEST_F(DeviceRelayTest, AnUpdateOfAReplacedRegistrationIsNotAccepted) {
    register_device(conn1, t0);
    relay().on_device_request(conn2, make_request(code::post, dev_tok2, {"rd", "5a3f"}), t0 + 1s);
    auto update = only<ToCore>(take());
    ASSERT_EQ(update.size(), 1u);
    relay().on_device_request(conn1, register_message(dev_tok, {"ep=urn:imei:123", "lt=60", "b=T"}),
                              t0 + 2s);
    auto reg = only<ToCore>(take());
    ASSERT_EQ(reg.size(), 1u);
    Message created(code::created, reg[0].request.token());
    created.add_option(opt::location_path, "rd");
    created.add_option(opt::location_path, "new");
    relay().on_core_response(std::move(created), t0 + 3s);
    take();
    relay().on_core_response(Message(code::changed, update[0].request.token()), t0 + 4s);
    take();
    EXPECT_EQ(relay().connection(), conn1);
    EXPECT_EQ(relay().registration_deadline(), t0 + 3s + 60s);
}

// A registration made over a connection authenticated as the endpoint takes nothing from one
// that is not (plain TCP): neither requests nor a continuation.
TEST_F(DeviceRelayTest, AnAuthenticatedRegistrationRefusesUnauthenticatedConnections) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T"}, true);
    EXPECT_TRUE(relay().authenticated());
    // Each refusal is marked as one, for the connection's side to count and log.
    const auto refused = [](const std::vector<RelayAction>& actions) {
        const auto to_device = only<ToDevice>(actions);
        return to_device.size() == 1 && to_device[0].refusal == Refusal::credentials_required;
    };
    relay().on_device_request(conn2, make_request(code::post, dev_tok2, {"rd", "5a3f"}), t0 + 1s);
    auto actions = take();
    EXPECT_TRUE(only<ToCore>(actions).empty()) << describe(actions);
    EXPECT_EQ(single_to_device(actions, conn2).code(), code::forbidden);
    EXPECT_TRUE(refused(actions)) << "a refused identity is not marked as one";
    relay().on_device_request(conn2, make_request(code::post, dev_tok2, {"dp"}), t0 + 1s);
    actions = take();
    EXPECT_TRUE(only<ToCore>(actions).empty()) << describe(actions);
    EXPECT_EQ(single_to_device(actions, conn2).code(), code::forbidden);
    EXPECT_TRUE(refused(actions)) << "a refused identity is not marked as one";
    // An authenticated connection continues it.
    resume(conn3, t0 + 2s, dev_tok2, true);
    EXPECT_EQ(relay().connection(), conn3);
    EXPECT_TRUE(relay().snapshot().authenticated);
}

// ---- what one device may have lwgate do (device_limits) --------------------------------------

TEST_F(DeviceRelayTest, UplinksBeyondTheWindowWaitAndBeyondTheQueueGet503WithMaxAge) {
    RelayParams p = params_;
    p.uplinks_in_flight = 2;
    p.uplinks_queued = 3;
    p.busy_max_age_seconds = 7;
    RelayCounters counters;
    relay_ = std::make_unique<DeviceRelay>("urn:imei:123", p, 1000, &counters);
    register_device(conn1, t0);
    for (std::uint64_t i = 0; i < 6; ++i)
        relay().on_device_request(conn1, make_request(code::post, tok(0xE0 + i), {"dp"}), t0);
    auto actions = take();
    auto up = only<ToCore>(actions);
    ASSERT_EQ(up.size(), 2u) << describe(actions);
    EXPECT_EQ(relay().uplinks_at_core(), 2u);
    EXPECT_EQ(relay().uplinks_waiting(), 3u);
    Message busy = single_to_device(actions, conn1);
    EXPECT_EQ(busy.token(), tok(0xE5));
    EXPECT_EQ(busy.code(), code::service_unavailable);
    EXPECT_EQ(busy.uint_option(opt::max_age), 7u);
    EXPECT_EQ(counters.uplinks_refused_busy, 1u);

    // Each answer or failure makes room for the next one, in arrival order.
    relay().on_core_response(Message(code::changed, up[0].request.token()), t0 + 1s);
    auto next = only<ToCore>(take());
    ASSERT_EQ(next.size(), 1u);
    relay().on_core_failure(up[1].request.token(), code::gateway_timeout, "no answer");
    auto after = only<ToCore>(take());
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(relay().uplinks_waiting(), 1u);
    // The answers come back to the device with its own tokens.
    relay().on_core_response(Message(code::changed, next[0].request.token()), t0 + 2s);
    auto answered = only<ToDevice>(take());
    ASSERT_FALSE(answered.empty());
    EXPECT_EQ(answered[0].message.token(), tok(0xE2));

    // A replaced upstream session answers what it carried and what waited, and starts empty.
    relay().on_upstream_replaced(t0 + 3s);
    actions = take();
    EXPECT_EQ(only<ToDevice>(actions).size(), 2u) << describe(actions);
    EXPECT_EQ(relay().uplinks_at_core(), 0u);
    EXPECT_EQ(relay().uplinks_waiting(), 0u);
}

// One device sends 50,000 requests in one burst: the relay holds at most its window and queue,
// everything beyond is answered at once, and the work per request stays constant.
TEST_F(DeviceRelayTest, ARequestFloodIsBoundedPerDevice) {
    RelayCounters counters;
    relay_ = std::make_unique<DeviceRelay>("urn:imei:123", RelayParams{}, 1000, &counters);
    register_device(conn1, t0);
    std::size_t to_core = 0;
    std::size_t busy = 0;
    for (std::uint64_t i = 0; i < 50'000; ++i) {
        relay().on_device_request(conn1, make_request(code::post, tok(0x100000 + i), {"dp"}), t0);
        for (const auto& a : relay().take_actions()) {
            to_core += std::holds_alternative<ToCore>(a);
            busy += std::holds_alternative<ToDevice>(a);
        }
    }
    const RelayParams defaults;
    EXPECT_EQ(to_core, defaults.uplinks_in_flight);
    EXPECT_EQ(relay().uplinks_waiting(), defaults.uplinks_queued);
    EXPECT_EQ(busy, 50'000 - defaults.uplinks_in_flight - defaults.uplinks_queued);
    EXPECT_EQ(counters.uplinks_refused_busy, busy);
}

TEST_F(DeviceRelayTest, NotificationsBeyondTheBudgetAreCoalescedToTheNewest) {
    RelayParams p = params_;
    p.notifications_per_second = 10;
    p.notification_burst = 2;
    RelayCounters counters;
    relay_ = std::make_unique<DeviceRelay>("urn:imei:123", p, 1000, &counters);
    register_device(conn1, t0);
    const Token g = establish_observation(1, conn1, t0);
    const TimePoint t = t0 + 10s;
    std::vector<NotifyCore> sent;
    for (std::uint32_t i = 1; i <= 5; ++i) {
        relay().on_device_response(
            conn1, make_response(code::content, g, "v" + std::to_string(i), 10 + i), t);
        for (auto& n : only<NotifyCore>(take()))
            sent.push_back(n);
    }
    ASSERT_EQ(sent.size(), 2u) << "the burst";
    EXPECT_EQ(payload_of(sent[1].notification), "v2");
    EXPECT_EQ(counters.notifications_coalesced, 2u) << "v3 and v4 were replaced";
    EXPECT_EQ(relay().next_deadline(), t + 100ms) << "the next token";

    relay().on_tick(t + 100ms);
    auto later = only<NotifyCore>(take());
    ASSERT_EQ(later.size(), 1u);
    EXPECT_EQ(payload_of(later[0].notification), "v5") << "only the newest state matters";
    EXPECT_EQ(later[0].notification.token(), core_tok);
    EXPECT_GT(observe_of(later[0].notification).value_or(0),
              observe_of(sent[1].notification).value_or(0));
    EXPECT_NE(relay().next_deadline(), t + 100ms);

    // Out of budget again; the observation's last notification (an error) still goes out at
    // once and takes the place of the one waiting.
    relay().on_device_response(conn1, make_response(code::content, g, "v6", 20), t + 100ms);
    relay().on_device_response(conn1, make_response(code::not_found, g), t + 100ms);
    auto last = only<NotifyCore>(take());
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0].notification.code(), code::not_found);
    EXPECT_TRUE(relay().observations().empty());
    relay().on_tick(t + 1s);
    EXPECT_TRUE(only<NotifyCore>(take()).empty());
}

TEST_F(DeviceRelayTest, ANotificationFloodCostsOnePendingNotificationPerObservation) {
    RelayCounters counters;
    relay_ = std::make_unique<DeviceRelay>("urn:imei:123", RelayParams{}, 1000, &counters);
    register_device(conn1, t0);
    const Token g = establish_observation(1, conn1, t0);
    std::size_t sent = 0;
    for (std::uint32_t i = 0; i < 50'000; ++i) {
        relay().on_device_response(conn1, make_response(code::content, g, "x", 100 + i), t0 + 1s);
        sent += only<NotifyCore>(relay().take_actions()).size();
    }
    EXPECT_EQ(sent, RelayParams{}.notification_burst);
    EXPECT_EQ(counters.notifications_coalesced, 50'000 - sent - 1);
}

// ---- registration.max_lifetime -----------------------------------------------------------

// A device asking for "forever" gets registration.max_lifetime, toward the core too, so lwgate and
// the core end the registration together and the device registers again.
TEST_F(DeviceRelayTest, LifetimesAboveTheCeilingAreLoweredTowardTheCore) {
    RelayParams p = params_;
    p.max_lifetime_seconds = 3600;
    make(p);
    relay().on_device_request(
        conn1, register_message(dev_tok, {"ep=urn:imei:123", "lt=4294967295", "b=T"}), t0);
    auto up = only<ToCore>(take());
    ASSERT_EQ(up.size(), 1u);
    EXPECT_THAT(strings_of(up[0].request, opt::uri_query),
                ElementsAre("ep=urn:imei:123", "lt=3600", "b=U"));
    Message created(code::created, up[0].request.token());
    created.add_option(opt::location_path, "rd");
    created.add_option(opt::location_path, "5a3f");
    relay().on_core_response(std::move(created), t0);
    take();
    EXPECT_EQ(relay().lifetime(), 3600u);
    EXPECT_EQ(relay().registration_deadline(), t0 + 3600s);

    relay().on_device_request(
        conn1, make_request(code::post, dev_tok2, {"rd", "5a3f"}, {"lt=99999"}), t0 + 1s);
    up = only<ToCore>(take());
    ASSERT_EQ(up.size(), 1u);
    EXPECT_THAT(strings_of(up[0].request, opt::uri_query), ElementsAre("lt=3600"));
    // Without lt a Register means 86400 s (LwM2M): above the ceiling, so lt is added.
    RelayParams q = params_;
    q.max_lifetime_seconds = 600;
    make(q);
    relay().on_device_request(conn1, register_message(dev_tok, {"ep=urn:imei:123", "b=T"}), t0);
    up = only<ToCore>(take());
    ASSERT_EQ(up.size(), 1u);
    EXPECT_THAT(strings_of(up[0].request, opt::uri_query),
                ElementsAre("ep=urn:imei:123", "b=U", "lt=600"));
}

TEST_F(DeviceRelayTest, ALifetimeOfZeroIsRefused) {
    relay().on_device_request(conn1, register_message(dev_tok, {"ep=urn:imei:123", "lt=0"}), t0);
    auto actions = take();
    EXPECT_TRUE(only<ToCore>(actions).empty()) << describe(actions);
    EXPECT_EQ(single_to_device(actions, conn1).code(), code::bad_request);
    register_device(conn1, t0);
    relay().on_device_request(conn1, make_request(code::post, dev_tok2, {"rd", "5a3f"}, {"lt=0"}),
                              t0);
    actions = take();
    EXPECT_TRUE(only<ToCore>(actions).empty()) << describe(actions);
    EXPECT_EQ(single_to_device(actions, conn1).code(), code::bad_request);
    EXPECT_TRUE(relay().registered());
}

// ---- observe -----------------------------------------------------------------------------------

TEST_F(DeviceRelayTest, ObserveForwardsNotificationsWithTheCoreTokenAndGrowingNumbers) {
    register_device(conn1, t0);
    core_request(1, observe_request(core_tok, 0), t0);
    Message sent = single_to_device(take(), conn1);
    EXPECT_NE(sent.token(), core_tok);
    EXPECT_FALSE(sent.token().empty());
    EXPECT_EQ(observe_of(sent), 0u);
    EXPECT_THAT(strings_of(sent, opt::uri_path), ElementsAre("3", "0", "1"));

    relay().on_device_response(conn1, make_response(code::content, sent.token(), "20.0", 77),
                               t0 + 1s);
    auto actions = take();
    auto respond = single_respond(actions);
    EXPECT_EQ(respond.id, 1u);
    EXPECT_EQ(respond.response.code(), code::content);
    EXPECT_EQ(payload_of(respond.response), "20.0");
    ASSERT_TRUE(observe_of(respond.response).has_value());
    EXPECT_TRUE(only<NotifyCore>(actions).empty());
    last_observe_ = *observe_of(respond.response);

    auto obs = relay().observations();
    ASSERT_EQ(obs.size(), 1u);
    EXPECT_EQ(obs[0].path, "/3/0/1");
    EXPECT_EQ(obs[0].core_token, core_tok);
    EXPECT_TRUE(obs[0].active);
    EXPECT_EQ(obs[0].notifications, 0u);
    EXPECT_EQ(obs[0].observe_number, last_observe_);

    // The device's own Observe numbers may do anything; the core sees the relay's, growing.
    notify(conn1, sent.token(), 3, "20.5", t0 + 2s);
    notify(conn1, sent.token(), 2, "21.0", t0 + 3s);
    const auto n = notify(conn1, sent.token(), 0xffffff, "21.5", t0 + 4s);
    obs = relay().observations();
    ASSERT_EQ(obs.size(), 1u);
    EXPECT_EQ(obs[0].notifications, 3u);
    EXPECT_EQ(obs[0].observe_number, n);
    EXPECT_EQ(relay().in_flight(), 0u);
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, NotificationsDoNotBlockOtherDownlinks) {
    register_device(conn1, t0);
    const Token g = establish_observation(1, conn1, t0);
    core_request(2, make_request(code::get, core_tok2, {"3", "0", "0"}), t0 + 1s);
    Message read = single_to_device(take(), conn1);
    notify(conn1, g, 3, "x", t0 + 2s);  // a notification meanwhile is not the read's answer
    EXPECT_EQ(relay().in_flight(), 1u);
    relay().on_device_response(conn1, make_response(code::content, read.token(), "fw"), t0 + 3s);
    auto respond = single_respond(take());
    EXPECT_EQ(respond.id, 2u);
    EXPECT_EQ(payload_of(respond.response), "fw");
    notify(conn1, g, 4, "y", t0 + 4s);
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, ObservationsAreReEstablishedOnEveryNewConnection) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    const Token g1 = establish_observation(1, conn1, t0);
    notify(conn1, g1, 3, "a", t0 + 1s);

    relay().on_device_disconnected(conn1, t0 + 2s);
    EXPECT_TRUE(take().empty());
    auto obs = relay().observations();
    ASSERT_EQ(obs.size(), 1u);
    EXPECT_FALSE(obs[0].active);
    EXPECT_EQ(obs[0].core_token, core_tok);

    Token previous = g1;
    ConnectionId conns[] = {conn2, conn3};
    TimePoint t = t0 + 100s;
    for (ConnectionId conn : conns) {
        auto actions = resume(conn, t);
        Message reobserve = single_to_device(actions, conn);
        EXPECT_EQ(reobserve.code(), code::get);
        EXPECT_EQ(observe_of(reobserve), 0u);
        EXPECT_THAT(strings_of(reobserve, opt::uri_path), ElementsAre("3", "0", "1"));
        EXPECT_NE(reobserve.token(), previous);
        EXPECT_NE(reobserve.token(), g1);
        EXPECT_NE(reobserve.token(), core_tok);
        EXPECT_TRUE(only<RespondCore>(actions).empty());
        EXPECT_TRUE(only<NotifyCore>(actions).empty());

        // The device's answer to the re-observe is, for the core, just another notification.
        notify(conn, reobserve.token(), 2, "b", t + 1s);
        EXPECT_TRUE(relay().observations().at(0).active);
        notify(conn, reobserve.token(), 3, "c", t + 2s);

        // Notifications on the old token (or the old connection) are not forwarded.
        relay().on_device_response(conn, make_response(code::content, previous, "old", 9), t + 3s);
        EXPECT_TRUE(take().empty());

        relay().on_device_disconnected(conn, t + 4s);
        take();
        previous = reobserve.token();
        t += 100s;
    }
    EXPECT_EQ(answers(1), 1u);  // only the original observe request was ever answered
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, AnAcceptedUpdateOnANewConnectionReEstablishesObservations) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    const Token g1 = establish_observation(1, conn1, t0);
    relay().on_device_disconnected(conn1, t0 + 1s);

    relay().on_device_request(conn2, make_request(code::post, dev_tok2, {"rd", "5a3f"}), t0 + 60s);
    auto actions = take();
    auto to_core = only<ToCore>(actions);
    ASSERT_EQ(to_core.size(), 1u);
    EXPECT_TRUE(only<ToDevice>(actions).empty()) << "nothing before the core accepts the Update";
    relay().on_core_response(Message(code::changed, to_core[0].request.token()), t0 + 60s);
    actions = take();
    auto sent = only<ToDevice>(actions);
    ASSERT_EQ(sent.size(), 2u) << describe(actions);
    EXPECT_EQ(sent[0].message.token(), dev_tok2);  // the Update's answer
    const Message& reobserve = sent[1].message;
    EXPECT_EQ(sent[1].conn, conn2);
    EXPECT_EQ(observe_of(reobserve), 0u);
    EXPECT_NE(reobserve.token(), g1);
    notify(conn2, reobserve.token(), 12, "z", t0 + 61s);
}

// A client that registers anew on every connection: the new Register replaces the registration,
// and no observation of the old one is ever sent to the new connection.
TEST_F(DeviceRelayTest, ARegisterOnANewConnectionReObservesNothing) {
    register_device(conn1, t0);
    establish_observation(1, conn1, t0);
    relay().on_device_disconnected(conn1, t0 + 1s);
    take();

    relay().on_device_request(
        conn2, register_message(dev_tok2, {"ep=urn:imei:123", "lt=3600", "b=T"}), t0 + 5s);
    auto actions = take();
    auto to_core = only<ToCore>(actions);
    ASSERT_EQ(to_core.size(), 1u);
    EXPECT_TRUE(only<ToDevice>(actions).empty()) << describe(actions);
    Message created(code::created, to_core[0].request.token());
    created.add_option(opt::location_path, "rd");
    created.add_option(opt::location_path, "77");
    relay().on_core_response(std::move(created), t0 + 5s);
    actions = take();
    auto sent = only<ToDevice>(actions);
    ASSERT_EQ(sent.size(), 1u) << describe(actions);
    EXPECT_EQ(sent[0].message.code(), code::created) << "only the Register's answer";
    EXPECT_TRUE(relay().observations().empty());
    EXPECT_EQ(relay().connection(), conn2);
}

// The same client while its old connection is still open (the device moved to a new one before
// lwgate saw the old one close): the old connection's observations are cancelled there.
TEST_F(DeviceRelayTest, ARegisterOnASecondConnectionCancelsObservationsOnTheFirst) {
    register_device(conn1, t0);
    const Token g1 = establish_observation(1, conn1, t0);

    relay().on_device_request(
        conn2, register_message(dev_tok2, {"ep=urn:imei:123", "lt=3600", "b=T"}), t0 + 5s);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    Message created(code::created, to_core[0].request.token());
    created.add_option(opt::location_path, "rd");
    created.add_option(opt::location_path, "78");
    relay().on_core_response(std::move(created), t0 + 5s);
    auto actions = take();
    bool cancelled = false;
    for (const auto& s : only<ToDevice>(actions)) {
        if (s.conn != conn1) continue;
        EXPECT_EQ(s.message.token(), g1);
        EXPECT_EQ(observe_of(s.message), 1u);
        cancelled = true;
    }
    EXPECT_TRUE(cancelled) << describe(actions);
    auto registered = only<Registered>(actions);
    ASSERT_EQ(registered.size(), 2u) << describe(actions);
    EXPECT_EQ(registered[0].conn, conn1);
    EXPECT_FALSE(registered[0].registered) << "the old connection carries nothing now";
    EXPECT_EQ(registered[1].conn, conn2);
    EXPECT_TRUE(registered[1].registered);
    // The cancel's answer and any late notification on conn1 are dropped.
    relay().on_device_response(conn1, make_response(code::content, g1, "x", 9), t0 + 6s);
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(relay().accepted_connections(), std::vector<ConnectionId>{conn2});
}

TEST_F(DeviceRelayTest, ReconnectionDeliversQueuedRequestsAndReObservesWithoutLoss) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    establish_observation(1, conn1, t0);
    relay().on_device_disconnected(conn1, t0 + 1s);
    core_request(2, make_request(code::put, core_tok2, {"1", "0", "1"}), t0 + 2s);
    take();

    auto actions = resume(conn2, t0 + 50s);
    auto sent = only<ToDevice>(actions);
    ASSERT_EQ(sent.size(), 2u) << describe(actions);  // the re-observe and the held Write
    const Message* reobserve = nullptr;
    const Message* write = nullptr;
    for (const auto& s : sent) {
        EXPECT_EQ(s.conn, conn2);
        (s.message.code() == code::get ? reobserve : write) = &s.message;
    }
    ASSERT_TRUE(reobserve && write);
    EXPECT_NE(reobserve->token(), write->token());

    relay().on_device_response(conn2, make_response(code::changed, write->token()), t0 + 51s);
    EXPECT_EQ(single_respond(take()).id, 2u);
    notify(conn2, reobserve->token(), 5, "n", t0 + 52s);
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, CancelWithObserve1GoesToTheDeviceWithTheObservationToken) {
    register_device(conn1, t0);
    const Token g = establish_observation(1, conn1, t0);
    notify(conn1, g, 3, "a", t0 + 1s);

    core_request(2, observe_request(core_tok, 1), t0 + 2s);
    auto actions = take();
    Message cancel = single_to_device(actions, conn1);
    EXPECT_EQ(cancel.token(), g);
    EXPECT_EQ(cancel.code(), code::get);
    EXPECT_EQ(observe_of(cancel), 1u);
    EXPECT_THAT(strings_of(cancel, opt::uri_path), ElementsAre("3", "0", "1"));
    EXPECT_TRUE(only<RespondCore>(actions).empty());

    relay().on_device_response(conn1, make_response(code::content, g, "final"), t0 + 3s);
    actions = take();
    auto respond = single_respond(actions);
    EXPECT_EQ(respond.id, 2u);
    EXPECT_EQ(respond.response.code(), code::content);
    EXPECT_EQ(payload_of(respond.response), "final");
    EXPECT_TRUE(only<NotifyCore>(actions).empty());
    EXPECT_TRUE(relay().observations().empty());

    relay().on_device_response(conn1, make_response(code::content, g, "stray", 4), t0 + 4s);
    EXPECT_TRUE(take().empty());

    relay().on_device_disconnected(conn1, t0 + 5s);
    EXPECT_TRUE(only<ToDevice>(resume(conn2, t0 + 6s)).empty());  // no re-observe after a cancel
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, CancelForAnUnknownObservationIsAnOrdinaryRequest) {
    register_device(conn1, t0);
    core_request(1, observe_request(core_tok2, 1), t0);
    Message sent = single_to_device(take(), conn1);
    EXPECT_EQ(observe_of(sent), 1u);
    EXPECT_NE(sent.token(), core_tok2);
    relay().on_device_response(conn1, make_response(code::content, sent.token(), "v"), t0);
    EXPECT_EQ(single_respond(take()).id, 1u);
    EXPECT_TRUE(relay().observations().empty());
}

TEST_F(DeviceRelayTest, CoreResetCancelsTowardTheDeviceAndSwallowsTheAnswer) {
    register_device(conn1, t0);
    const Token g = establish_observation(1, conn1, t0);
    notify(conn1, g, 3, "a", t0 + 1s);

    relay().on_core_reset(core_tok);
    auto actions = take();
    Message cancel = single_to_device(actions, conn1);
    EXPECT_EQ(cancel.token(), g);
    EXPECT_EQ(cancel.code(), code::get);
    EXPECT_EQ(observe_of(cancel), 1u);
    EXPECT_THAT(strings_of(cancel, opt::uri_path), ElementsAre("3", "0", "1"));
    EXPECT_TRUE(relay().observations().empty());
    EXPECT_EQ(relay().in_flight(), 0u);

    relay().on_device_response(conn1, make_response(code::content, g, "bye"), t0 + 2s);
    EXPECT_TRUE(take().empty());
    relay().on_device_response(conn1, make_response(code::content, g, "stray", 5), t0 + 3s);
    EXPECT_TRUE(take().empty());

    relay().on_core_reset(core_tok);  // again: nothing to do
    relay().on_core_reset(tok(0x1234));
    EXPECT_TRUE(take().empty());

    relay().on_device_disconnected(conn1, t0 + 5s);
    EXPECT_TRUE(only<ToDevice>(resume(conn2, t0 + 6s)).empty());
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, CoreResetWhileDisconnectedDropsTheObservation) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    establish_observation(1, conn1, t0);
    relay().on_device_disconnected(conn1, t0 + 1s);
    relay().on_core_reset(core_tok);
    EXPECT_TRUE(take().empty());
    EXPECT_TRUE(relay().observations().empty());
    EXPECT_TRUE(only<ToDevice>(resume(conn2, t0 + 2s)).empty());
}

TEST_F(DeviceRelayTest, ErrorNotificationEndsTheObservation) {
    register_device(conn1, t0);
    const Token g = establish_observation(1, conn1, t0);
    notify(conn1, g, 3, "a", t0 + 1s);

    relay().on_device_response(conn1, make_response(code::not_found, g), t0 + 2s);
    auto actions = take();
    auto notes = only<NotifyCore>(actions);
    ASSERT_EQ(notes.size(), 1u) << describe(actions);
    EXPECT_EQ(notes[0].notification.code(), code::not_found);
    EXPECT_EQ(notes[0].notification.token(), core_tok);
    EXPECT_TRUE(only<RespondCore>(actions).empty());
    EXPECT_TRUE(relay().observations().empty());

    relay().on_device_response(conn1, make_response(code::content, g, "late", 4), t0 + 3s);
    EXPECT_TRUE(take().empty());
    relay().on_device_disconnected(conn1, t0 + 4s);
    EXPECT_TRUE(only<ToDevice>(resume(conn2, t0 + 5s)).empty());
}

TEST_F(DeviceRelayTest, ObserveRefusedOrAnsweredWithoutObserveCreatesNoObservation) {
    register_device(conn1, t0);
    core_request(1, observe_request(core_tok, 0), t0);
    Message sent = single_to_device(take(), conn1);
    relay().on_device_response(conn1, make_response(code::content, sent.token(), "once"), t0);
    auto respond = single_respond(take());
    EXPECT_EQ(respond.id, 1u);
    EXPECT_EQ(respond.response.code(), code::content);
    EXPECT_FALSE(observe_of(respond.response).has_value());
    EXPECT_TRUE(relay().observations().empty());

    core_request(2, observe_request(core_tok2, 0, {"3", "0", "9"}), t0 + 1s);
    sent = single_to_device(take(), conn1);
    relay().on_device_response(conn1, make_response(code::method_not_allowed, sent.token()),
                               t0 + 1s);
    respond = single_respond(take());
    EXPECT_EQ(respond.id, 2u);
    EXPECT_EQ(respond.response.code(), code::method_not_allowed);
    EXPECT_TRUE(relay().observations().empty());

    relay().on_device_disconnected(conn1, t0 + 2s);
    EXPECT_TRUE(only<ToDevice>(resume(conn2, t0 + 3s)).empty());
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, UnansweredObserveTimesOutAndIsNotReEstablished) {
    register_device(conn1, t0);
    core_request(1, observe_request(core_tok, 0), t0);
    Message sent = single_to_device(take(), conn1);
    relay().on_tick(t0 + 30s);
    auto respond = single_respond(take());
    EXPECT_EQ(respond.id, 1u);
    EXPECT_EQ(respond.response.code(), code::gateway_timeout);
    EXPECT_TRUE(relay().observations().empty());
    relay().on_device_response(conn1, make_response(code::content, sent.token(), "late", 2),
                               t0 + 31s);
    EXPECT_TRUE(take().empty());
    relay().on_device_disconnected(conn1, t0 + 32s);
    EXPECT_TRUE(only<ToDevice>(resume(conn2, t0 + 33s)).empty());
}

TEST_F(DeviceRelayTest, ANewRegisterDropsObservations) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    const Token g = establish_observation(1, conn1, t0);
    establish_observation(2, conn1, t0, core_tok2);
    EXPECT_EQ(relay().observations().size(), 2u);

    relay().on_device_request(
        conn1, register_message(dev_tok2, {"ep=urn:imei:123", "lt=600", "b=T"}), t0 + 10s);
    auto to_core = only<ToCore>(take());
    ASSERT_EQ(to_core.size(), 1u);
    EXPECT_EQ(relay().observations().size(), 2u);  // not before the core accepts it
    Message created(code::created, to_core[0].request.token());
    created.add_option(opt::location_path, "rd");
    created.add_option(opt::location_path, "77");
    relay().on_core_response(std::move(created), t0 + 10s);
    auto actions = take();
    // Both observations are cancelled on the device (the registration they belonged to is
    // gone), then the Register's answer.
    auto sent = only<ToDevice>(actions);
    ASSERT_EQ(sent.size(), 3u) << describe(actions);
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(sent[i].conn, conn1);
        EXPECT_EQ(observe_of(sent[i].message), 1u);
    }
    EXPECT_EQ(sent[2].message.code(), code::created);
    EXPECT_TRUE(relay().observations().empty());
    EXPECT_THAT(relay().location(), ElementsAre("rd", "77"));
    EXPECT_EQ(relay().lifetime(), 600u);
    EXPECT_FALSE(relay().queue_mode());
    EXPECT_EQ(relay().registration_deadline(), t0 + 10s + 600s);

    relay().on_device_response(conn1, make_response(code::content, g, "old", 9), t0 + 11s);
    relay().on_device_response(conn1, make_response(code::content, g, "old", 10), t0 + 12s);
    EXPECT_TRUE(take().empty());

    relay().on_device_disconnected(conn1, t0 + 20s);
    EXPECT_TRUE(only<ToDevice>(resume(conn2, t0 + 30s)).empty());  // nothing re-observed
    expect_all_answered_once();
}

TEST_F(DeviceRelayTest, ObservationsIntrospection) {
    register_device(conn1, t0);
    EXPECT_TRUE(relay().observations().empty());
    const Token g1 = establish_observation(1, conn1, t0, core_tok);
    establish_observation(2, conn1, t0, core_tok2);
    last_observe_ = 0;  // notify() compares with the last number of the same observation
    notify(conn1, g1, 5, "a", t0 + 1s);
    auto obs = relay().observations();
    ASSERT_EQ(obs.size(), 2u);
    std::sort(obs.begin(), obs.end(),
              [](const auto& a, const auto& b) { return a.notifications > b.notifications; });
    EXPECT_EQ(obs[0].core_token, core_tok);
    EXPECT_EQ(obs[0].notifications, 1u);
    EXPECT_EQ(obs[1].core_token, core_tok2);
    EXPECT_EQ(obs[1].notifications, 0u);
    for (const auto& o : obs) {
        EXPECT_EQ(o.path, "/3/0/1");
        EXPECT_TRUE(o.active);
    }
    relay().on_device_disconnected(conn1, t0 + 2s);
    for (const auto& o : relay().observations())
        EXPECT_FALSE(o.active);
}

// ---- behaviour the contract requires and the implementation gets wrong ------------------------

// The cancel (GET Observe=1) must reach the device with the observation's token, or the device
// never stops observing (RFC 7641 §3.6, RFC 8323 §7.2). Here another request is in flight when
// the core cancels, so the cancel has to wait its turn (NSTART = 1).
TEST_F(DeviceRelayTest, CancelWhileAnotherRequestIsInFlightUsesTheObservationToken) {
    register_device(conn1, t0);
    const Token g = establish_observation(1, conn1, t0);
    core_request(2, make_request(code::get, core_tok2, {"3", "0", "0"}), t0 + 1s);
    Message read = single_to_device(take(), conn1);

    core_request(3, observe_request(core_tok, 1), t0 + 2s);
    EXPECT_TRUE(only<ToDevice>(take()).empty());  // NSTART = 1

    relay().on_device_response(conn1, make_response(code::content, read.token(), "fw"), t0 + 3s);
    auto actions = take();
    EXPECT_EQ(single_respond(actions).id, 2u);
    auto sent = only<ToDevice>(actions);
    ASSERT_EQ(sent.size(), 1u) << describe(actions);
    const Message cancel = sent[0].message;
    EXPECT_EQ(observe_of(cancel), 1u);

    relay().on_device_response(conn1, make_response(code::content, cancel.token(), "final"),
                               t0 + 4s);
    auto respond = single_respond(take());
    EXPECT_EQ(respond.id, 3u);
    relay().on_device_response(conn1, make_response(code::content, g, "stray", 7), t0 + 5s);
    EXPECT_TRUE(take().empty());
    expect_all_answered_once();

    EXPECT_EQ(cancel.token(), g);
}

// A cancel for an observation whose GET Observe=0 is still queued (device asleep) must cancel it
// once both have been delivered: afterwards the core gets no more notifications.
TEST_F(DeviceRelayTest, CancelOfAQueuedObservationStopsItsNotifications) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    relay().on_device_disconnected(conn1, t0 + 1s);
    core_request(1, observe_request(core_tok, 0), t0 + 2s);
    core_request(2, observe_request(core_tok, 1), t0 + 3s);
    EXPECT_TRUE(take().empty());

    Message observe = single_to_device(resume(conn2, t0 + 10s), conn2);
    EXPECT_EQ(observe_of(observe), 0u);
    relay().on_device_response(conn2, make_response(code::content, observe.token(), "a", 2),
                               t0 + 11s);
    auto actions = take();
    EXPECT_EQ(single_respond(actions).id, 1u);
    Message cancel = single_to_device(actions, conn2);
    EXPECT_EQ(observe_of(cancel), 1u);
    relay().on_device_response(conn2, make_response(code::content, cancel.token(), "b"), t0 + 12s);
    EXPECT_EQ(single_respond(take()).id, 2u);
    expect_all_answered_once();

    // The device keeps notifying on the observation token if its observation was not cancelled.
    relay().on_device_response(conn2, make_response(code::content, observe.token(), "c", 3),
                               t0 + 13s);
    auto late = take();
    EXPECT_EQ(cancel.token(), observe.token());
    EXPECT_TRUE(only<NotifyCore>(late).empty());
    EXPECT_TRUE(relay().observations().empty());
}

// The core cancels while its own GET Observe=0 is still unanswered: the device's answer to that
// request must still reach the core (it was acknowledged), and the queue must not stall.
TEST_F(DeviceRelayTest, CancelWhileTheObserveRequestIsInFlightKeepsItsAnswer) {
    register_device(conn1, t0);
    core_request(1, observe_request(core_tok, 0), t0);
    Message observe = single_to_device(take(), conn1);
    core_request(2, observe_request(core_tok, 1), t0 + 1s);
    EXPECT_TRUE(only<ToDevice>(take()).empty());

    relay().on_device_response(conn1, make_response(code::content, observe.token(), "a", 2),
                               t0 + 2s);
    auto actions = take();
    auto respond = only<RespondCore>(actions);
    ASSERT_EQ(respond.size(), 1u);
    EXPECT_EQ(respond[0].id, 1u);
    EXPECT_EQ(respond[0].response.code(), code::content);
    Message cancel = single_to_device(actions, conn1);
    EXPECT_EQ(observe_of(cancel), 1u);
    EXPECT_EQ(cancel.token(), observe.token());
    relay().on_device_response(conn1, make_response(code::content, cancel.token(), "b"), t0 + 3s);
    EXPECT_EQ(single_respond(take()).id, 2u);
    expect_all_answered_once();
}

// An observe request that was in flight when the connection broke goes out again on the new
// connection, once: re-observing it as well would leave the device with two observations.
TEST_F(DeviceRelayTest, ObserveInFlightAtDisconnectIsSentOnceOnReconnect) {
    register_device(conn1, t0);
    core_request(1, observe_request(core_tok, 0), t0);
    single_to_device(take(), conn1);
    relay().on_device_disconnected(conn1, t0 + 1s);
    auto actions = resume(conn2, t0 + 2s);
    auto sent = only<ToDevice>(actions);
    ASSERT_FALSE(sent.empty());
    Message last = sent.back().message;
    relay().on_device_response(conn2, make_response(code::content, last.token(), "a", 2), t0 + 3s);
    EXPECT_EQ(single_respond(take()).id, 1u);
    expect_all_answered_once();
    EXPECT_EQ(sent.size(), 1u);
}

// The core resets a notification while the re-observe on a new connection is still unanswered:
// the device's (new) observation must be cancelled too, and nothing forwarded.
TEST_F(DeviceRelayTest, CoreResetDuringReObserveCancelsTowardTheDevice) {
    register_device(conn1, t0, {"ep=urn:imei:123", "lt=3600", "b=T", "Q"});
    establish_observation(1, conn1, t0);
    relay().on_device_disconnected(conn1, t0 + 1s);
    Message reobserve = single_to_device(resume(conn2, t0 + 2s), conn2);

    relay().on_core_reset(core_tok);
    auto actions = take();
    relay().on_device_response(conn2, make_response(code::content, reobserve.token(), "a", 2),
                               t0 + 3s);
    auto after = take();
    actions.insert(actions.end(), after.begin(), after.end());
    EXPECT_TRUE(only<NotifyCore>(actions).empty()) << describe(actions);
    EXPECT_TRUE(relay().observations().empty());
    bool cancelled = false;
    for (const auto& s : only<ToDevice>(actions)) {
        cancelled = cancelled || (s.conn == conn2 && s.message.token() == reobserve.token() &&
                                  observe_of(s.message) == 1u);
    }
    EXPECT_TRUE(cancelled);
}

}  // namespace
}  // namespace lwgate::lwm2m
