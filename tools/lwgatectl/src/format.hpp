// Pure text helpers of lwgatectl: tables, durations, addresses, exit codes. No I/O, no JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lwgate::ctl {

// Exit codes a monitor can use. `status`: ok 0, degraded 1, failing or unreachable 2. Other
// commands: success 0, a request the gateway refused (4xx/5xx) 1, unreachable or bad usage 2.
inline constexpr int exit_ok = 0;
inline constexpr int exit_degraded = 1;
inline constexpr int exit_refused = 1;
inline constexpr int exit_failing = 2;
inline constexpr int exit_unreachable = 2;
inline constexpr int exit_usage = 2;

// "ok" -> 0, "degraded" -> 1, anything else ("failing", unknown) -> 2.
int exit_code_for_health(std::string_view status);

// Left-aligned columns separated by two spaces; no trailing blanks. An empty header list renders
// rows only (key/value blocks).
class Table {
  public:
    explicit Table(std::vector<std::string> headers = {}) : headers_(std::move(headers)) {}
    void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
    std::size_t size() const { return rows_.size(); }
    std::string render() const;

  private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

// Human durations: "0.4s", "12s", "2m03s", "1h02m", "3d04h". Negative or NaN: "-".
std::string format_seconds(double seconds);
// Round-trip times: "0.41ms", "12.3ms", "1204ms".
std::string format_ms(double ms);
// Byte counts: "512 B", "1.5 KiB", "3.2 MiB".
std::string format_bytes(std::uint64_t bytes);

// Command-line durations use the config's syntax ("250ms", "5s", "2m"); nullopt on a bad form.
std::optional<std::chrono::milliseconds> parse_cli_duration(std::string_view text);

// The admin address: "HOST:PORT", "[V6]:PORT", optionally prefixed "http://" or "https://" and
// with a trailing '/' (so the gateway's `admin http(s)://...` line can be pasted). Host without
// brackets.
struct AdminAddress {
    std::string host;
    std::uint16_t port = 0;
    std::string text;    // as given, for messages
    bool https = false;  // "https://": the gateway has admin.tls
};
std::optional<AdminAddress> parse_admin_address(std::string_view text);

// --state values: the API's names, with '-' accepted for '_' ("half-open"). nullopt if unknown.
std::optional<std::string> normalize_state(std::string_view text);
const std::vector<std::string>& known_states();

// Percent-encodes everything but RFC 3986 unreserved characters and ':' '@' (which endpoint names
// such as "urn:imei:1" use), for one path segment or query value.
std::string percent_encode(std::string_view text);

// "Connection refused" -> "connection refused" (strerror style to one-line message style).
std::string lower_first(std::string text);

}  // namespace lwgate::ctl
