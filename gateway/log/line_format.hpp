// How a log line looks on stderr (log.format): the text lines lwgate always wrote, with the
// line's fields (fields.hpp) after the message as `key=value`, or one JSON object per line
// with an RFC 3339 timestamp (local time, milliseconds and offset), the level, the shard or
// thread, the message and the fields as members. Under systemd, when stderr is the journal
// (journal.hpp), each line starts with its syslog priority in sd-daemon's `<N>` form, which
// journald strips and keeps as the entry's priority: `journalctl -p warning` then works.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>

namespace lwgate::logging {

enum class Format { text, json };

struct LineOptions {
    Format format = Format::text;
    bool journal_priority = false;  // prefix each line with <N> (stderr is the journal)
};

class LineFormatter final : public spdlog::formatter {
  public:
    explicit LineFormatter(LineOptions options);
    ~LineFormatter() override;
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;

  private:
    void format_text(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest);
    void format_json(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) const;

    LineOptions options_;
    std::unique_ptr<spdlog::formatter> text_;  // the timestamp, level and thread of text lines
};

// sd-daemon's prefix for a level: "<3>" for error, "<4>" for warning, ...
std::string_view journal_prefix(spdlog::level::level_enum level);

// "2024-05-01T12:00:00.123+02:00" in the process's time zone.
std::string rfc3339(std::chrono::system_clock::time_point time);

// A field value in text: as it is when it is one plain word, else quoted with \" \\ \n \r \t
// and \xHH for other control characters (an identity or a detail must not forge a line).
void append_text_value(std::string_view value, std::string& out);

}  // namespace lwgate::logging
