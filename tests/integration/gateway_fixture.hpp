// Shared fixture of the integration tests: one real gateway per test, configured through
// `config` before start_gateway(). TearDown stops the gateway with SIGTERM, expects a clean exit
// (status 0) and fails the test if the gateway's log holds a sanitizer report (ASan, LSan,
// UBSan), so a sanitizer build of lwgate turns memory errors into test failures.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "lwgate/coap/code.hpp"
#include "lwgate/coap/message.hpp"
#include "lwgate/coap/option.hpp"
#include "lwgate/coap/signaling.hpp"
#include "lwgate/harness/harness.hpp"

#ifndef LWGATE_BINARY
#error "LWGATE_BINARY must be defined to the path of the lwgate executable"
#endif

namespace lwgate::integration {

using namespace std::chrono_literals;
using harness::CloseState;
using harness::DeviceClient;
using harness::Millis;
using harness::SteadyClock;
namespace code = coap::code;

inline constexpr const char* kLoopback = "127.0.0.1";

// The value of one sample line ("name{labels}") of a Prometheus text exposition, or -1.
inline long long metric_value(const std::string& text, const std::string& sample) {
    const auto at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + sample.size() + 2));
}

inline Millis ms_since(SteadyClock::time_point t) {
    return std::chrono::duration_cast<Millis>(SteadyClock::now() - t);
}
// Time left until `deadline` (zero once it has passed), as a timeout for the harness.
inline Millis until(SteadyClock::time_point deadline) {
    const auto left = deadline - SteadyClock::now();
    return left <= SteadyClock::duration::zero() ? Millis{0} : std::chrono::ceil<Millis>(left);
}
inline Millis ms_between(SteadyClock::time_point from, SteadyClock::time_point to) {
    return std::chrono::duration_cast<Millis>(to - from);
}

// A request with a Uri-Path, as a device would send it.
inline coap::Message request(std::uint8_t method, std::uint64_t token,
                             std::string_view path = "x") {
    coap::Message m(method, coap::Token::from_u64(token));
    m.add_option(coap::option::uri_path, path);
    return m;
}

// The Hold-Off of a 7.04 Release, if it is one and carries the option.
inline std::optional<std::uint32_t> release_hold_off(const coap::Message& m) {
    if (m.code() != code::release) return std::nullopt;
    auto parsed = coap::parse_signal(m);
    auto* signal = std::get_if<coap::Signal>(&parsed);
    if (!signal) return std::nullopt;
    auto* release = std::get_if<coap::Release>(signal);
    return release ? release->hold_off_seconds : std::nullopt;
}

// True if `m` answers the request with token `token`. Transport-level tests only need *an*
// answer: the code is the bridge's business (4.03 for a connection without registration, 5.03
// while draining, ...), and is asserted by the bridge's own tests.
inline bool is_answer_to(const coap::Message& m, std::uint64_t token) {
    return coap::is_response(m.code()) && m.token() == coap::Token::from_u64(token);
}

inline std::string describe(const std::optional<coap::Message>& m) {
    return m ? coap::describe(*m) : std::string("(nothing)");
}

class GatewayTest : public ::testing::Test {
  protected:
    void start_gateway() { gateway.start(LWGATE_BINARY, config.yaml(), options); }

    // A connected device that has not sent anything yet.
    DeviceClient connect(harness::DeviceOptions options = {}) {
        DeviceClient device(options);
        device.connect(kLoopback, gateway.port());
        return device;
    }

    // A connected device that has completed the CSM exchange.
    DeviceClient connect_ready(harness::DeviceOptions options = {}) {
        DeviceClient device = connect(options);
        auto csm = device.handshake_csm();
        EXPECT_TRUE(csm.has_value()) << "no CSM from the gateway";
        return device;
    }

    void TearDown() override {
        if (gateway.pid() <= 0) return;
        if (gateway.running()) {
            const auto status = gateway.stop(10s);
            EXPECT_TRUE(status.has_value()) << "gateway did not exit within 10 s of SIGTERM";
            if (status) {
                EXPECT_EQ(*status, 0) << "gateway exit status";
            }
        }
        const auto reports = gateway.sanitizer_reports();
        EXPECT_TRUE(reports.empty()) << "sanitizer reports in the gateway log:\n" << gateway.log();
        if (HasFailure()) {
            std::cerr << "---- gateway log (" << gateway.log_path().string() << ") ----\n"
                      << gateway.log() << "---- end of gateway log ----\n";
        }
    }

    harness::GatewayConfig config;
    harness::GatewayOptions options;
    harness::GatewayProcess gateway;
};

}  // namespace lwgate::integration
