#include "log/line_format.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <nlohmann/json.hpp>

#include "log/fields.hpp"

namespace lwgate::logging {

namespace {

// What text lines looked like before fields existed; the fields follow the message.
constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v";

std::string_view text_key(std::string_view key) {
    return key == "endpoint" ? std::string_view("ep") : key;
}

bool plain_word(std::string_view value) {
    if (value.empty()) return false;
    for (const unsigned char c : value) {
        if (c <= ' ' || c == 0x7f || c == '"' || c == '\\' || c == '=') return false;
    }
    return true;
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
}

// A JSON string, invalid UTF-8 replaced (a certificate name can hold anything).
std::string json_string(std::string_view text) {
    return nlohmann::json(std::string(text))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_json_member(spdlog::memory_buf_t& dest, std::string_view key, const FieldValue& value) {
    append(dest, ",");
    append(dest, json_string(key));
    append(dest, ":");
    if (const auto* number = std::get_if<std::uint64_t>(&value)) {
        fmt::format_to(std::back_inserter(dest), "{}", *number);
    } else {
        append(dest, json_string(std::get<std::string_view>(value)));
    }
}

}  // namespace

std::string_view journal_prefix(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
        case spdlog::level::debug:
            return SD_DEBUG;
        case spdlog::level::info:
            return SD_INFO;
        case spdlog::level::warn:
            return SD_WARNING;
        case spdlog::level::err:
            return SD_ERR;
        case spdlog::level::critical:
            return SD_CRIT;
        default:
            return SD_NOTICE;
    }
}

std::string rfc3339(std::chrono::system_clock::time_point time) {
    using namespace std::chrono;
    const auto seconds = floor<std::chrono::seconds>(time);
    const auto millis = duration_cast<milliseconds>(time - seconds).count();
    const std::time_t t = system_clock::to_time_t(seconds);
    std::tm local{};
    localtime_r(&t, &local);
    const long offset = local.tm_gmtoff;
    const long magnitude = offset < 0 ? -offset : offset;
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}{:02}:{:02}",
                       local.tm_year + 1900, local.tm_mon + 1, local.tm_mday, local.tm_hour,
                       local.tm_min, local.tm_sec, millis, offset < 0 ? '-' : '+', magnitude / 3600,
                       magnitude % 3600 / 60);
}

void append_text_value(std::string_view value, std::string& out) {
    if (plain_word(value)) {
        out += value;
        return;
    }
    out += '"';
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < ' ' || c == 0x7f) {
                    out += fmt::format("\\x{:02x}", c);
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

LineFormatter::LineFormatter(LineOptions options)
    : options_(options),
      text_(std::make_unique<spdlog::pattern_formatter>(
          text_pattern, spdlog::pattern_time_type::local, std::string())) {}

LineFormatter::~LineFormatter() = default;

std::unique_ptr<spdlog::formatter> LineFormatter::clone() const {
    return std::make_unique<LineFormatter>(options_);
}

void LineFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    if (options_.journal_priority) append(dest, journal_prefix(msg.level));
    if (options_.format == Format::json) {
        format_json(msg, dest);
    } else {
        format_text(msg, dest);
    }
    append(dest, "\n");
}

void LineFormatter::format_text(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    text_->format(msg, dest);  // appends, and marks where the level's colour goes
    std::string fields;
    for (const auto& field : current_fields()) {
        if (!present(field.value)) continue;
        fields += ' ';
        fields += text_key(field.key);
        fields += '=';
        if (const auto* number = std::get_if<std::uint64_t>(&field.value)) {
            fields += std::to_string(*number);
        } else {
            append_text_value(std::get<std::string_view>(field.value), fields);
        }
    }
    append(dest, fields);
}

void LineFormatter::format_json(const spdlog::details::log_msg& msg,
                                spdlog::memory_buf_t& dest) const {
    append(dest, "{\"ts\":\"");
    append(dest, rfc3339(msg.time));
    append(dest, "\",\"level\":");
    const auto level = spdlog::level::to_string_view(msg.level);
    append(dest, json_string(std::string_view(level.data(), level.size())));
    if (const int shard = thread_shard(); shard >= 0) {
        fmt::format_to(std::back_inserter(dest), ",\"shard\":{}", shard);
    }
    fmt::format_to(std::back_inserter(dest), ",\"thread\":{}", msg.thread_id);
    append(dest, ",\"msg\":");
    append(dest, json_string(std::string_view(msg.payload.data(), msg.payload.size())));
    for (const auto& field : current_fields()) {
        if (present(field.value)) append_json_member(dest, field.key, field.value);
    }
    append(dest, "}");
}

}  // namespace lwgate::logging
