// Every configuration key, declared once: its path, the kind of value and its range, where it
// lives in Config, its default and what a SIGHUP does with a change. The loader walks the YAML
// through this table (unknown keys, "expected one of" lists, ranges), the reload planner decides
// from it what applies at run time, and a unit test holds conf/gateway.yaml to it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config/config.hpp"

namespace lwgate::config {

class Reader;  // the loader's state while it walks one document (gateway/config/reader.hpp)
struct Item;   // one YAML value with its key path and line

enum class Kind : std::uint8_t {
    section,     // a map of further keys
    list,        // a list of maps (listeners, credentials)
    boolean,     // true/false (yes/no, on/off)
    whole,       // a whole number in [min, max]
    duration,    // 250ms, 30s, ...; at least min ms (1: "greater than 0"), at most max ms
    seconds,     // a duration in whole seconds, in [min, max] ms (kernel and LwM2M settings)
    size,        // bytes (65536, 256KiB) in [min, max]
    rate,        // events per second (2000/s, 100/m), greater than 0
    choice,      // one of `choices`, stored as the enum value of the same index
    text,        // any string; an empty value means none
    file,        // a file name, resolved against the config file's directory; it must exist
    uri,         // coap+tcp://, coaps+tcp://, coap://, coaps://
    authority,   // host:port, or off
    store_uri,   // memory: or sqlite:///path
    addresses,   // an IP address or a list of them
    port_range,  // 40000-49999
    hex_key,     // a secret key in hex digits
};

// What a SIGHUP does with a changed key: which part of the running gateway takes the new value,
// or that it stays until a restart.
enum class Reload : std::uint8_t {
    log_level,            // the logger, at once
    sessions,             // every shard's session settings (keepalive: open connections too)
    accept_limits,        // the control thread's connection cap and accept bucket, at once
    relays,               // the bridges, for devices whose relay state starts afterwards
    sessions_and_relays,  // both of the above
    registration_limits,  // the registration cap and per-address rate, for new registrations
    in_place,             // read by the control thread whenever it needs it: nothing to push
    credentials,          // the bridges' identity checks and the TLS PSK tables
    restart,              // bound sockets, running threads, sessions toward the core, the store
};

using ValueRef = std::variant<bool*, unsigned*, std::uint64_t*, double*, Duration*, std::string*,
                              CsmMode*, LogLevel*, LogFormat*>;
using ConstValueRef =
    std::variant<const bool*, const unsigned*, const std::uint64_t*, const double*, const Duration*,
                 const std::string*, const CsmMode*, const LogLevel*, const LogFormat*>;

// Where a key's value lives in Config: a chain of member pointers, see member<>().
struct Access {
    ValueRef (*ref)(Config&) = nullptr;
    ConstValueRef (*cref)(const Config&) = nullptr;
    explicit operator bool() const { return ref != nullptr; }
};

// member<&Config::keepalive, &KeepaliveConfig::idle>(): the value at config.keepalive.idle.
template <auto... Members>
constexpr Access member() {
    return {[](Config& c) -> ValueRef { return &(c.*....*Members); },
            [](const Config& c) -> ConstValueRef { return &(c.*....*Members); }};
}

struct KeySpec {
    std::string_view path;  // "keepalive.idle"; keys of a list's elements: "listeners[].uri"
    Kind kind = Kind::section;
    Reload reload = Reload::restart;
    // Range of whole numbers and sizes; of durations in milliseconds. max 0: the kind's own limit
    // (whole numbers 2^64-1, durations a year).
    std::uint64_t min = 0;
    std::uint64_t max = 0;
    Access access{};  // empty for sections, lists and the keys of list elements
    // Keys that are not read by their kind into `access` have a reader of their own.
    void (*read)(Reader&, const Item&, Config&) = nullptr;
    // A rule beyond the range, checked once the value is read: the error message, or nullptr.
    const char* (*check)(const Config&) = nullptr;
    // The reload log's text of the value when it is not the value itself (several keys shown as
    // one, or a whole list).
    std::string (*text)(const Config&) = nullptr;
    // A change of this key is part of that key's text in the reload log, not a line of its own.
    std::string_view shown_with = {};
    // The default as conf/gateway.yaml states it, for keys without `access` and for keys whose
    // default the loader computes (cluster.instance); else it is the value in Config{}.
    std::string_view default_text = {};
    std::span<const std::string_view> choices = {};
    bool secret = false;  // never shown in the reload log
};

std::span<const KeySpec> key_table();

// The key at `path` ("listeners[].tls.ca"), or nullptr.
const KeySpec* find_key(std::string_view path);
// The key `name` directly under `parent` ("" for the top level), or nullptr.
const KeySpec* find_child(std::string_view parent, std::string_view name);
// The names under `parent` in table order, comma-separated: "idle, pong_timeout, max_missed".
std::string child_names(std::string_view parent);
// A document path with list indexes dropped: "listeners[1].tls" -> "listeners[].tls".
std::string spec_path(std::string_view path);
// The last name of a path: "keepalive.idle" -> "idle".
std::string_view leaf_name(std::string_view path);

// The key's value in `config` as the reload log shows it ("60s" as "1m", rates as "2000/s").
std::string reload_text(const KeySpec& key, const Config& config);
// The key's default as text; "none" when there is none.
std::string default_text(const KeySpec& key);

// SIGHUP: copies every key that applies at run time (all but `restart`, and the credentials)
// from `next` into `running`; what needs a restart keeps its running value.
void copy_reloadable(const Config& next, Config& running);

}  // namespace lwgate::config
