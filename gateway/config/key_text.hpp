// How the reload log shows values that are more than one key, or a whole list (key_text.cpp).
#pragma once

#include <string>

#include "config/config.hpp"

namespace lwgate::config {

std::string rate_text(double per_second, unsigned burst = 0);  // "2000/s", "100/s burst 1000"
std::string accept_rate_text(const Config& c);                 // connections.accept_rate + burst
std::string registration_rate_text(const Config& c);  // registration.rate_per_address + burst
std::string listeners_text(const Config& c);          // every listener with its TLS settings
std::string bind_text(const Config& c);               // upstream.bind: addresses and ports
std::string gateway_identity_text(const Config& c);   // upstream.dtls; holds a key: never shown

}  // namespace lwgate::config
