// Structured fields on a log line: the endpoint, connection id, remote address (and whatever
// else the line is about) travel next to the message instead of inside its text, so that the
// line formatter writes them as `ep=... conn=...` in text and as members of the object in
// JSON (line_format.hpp). The fields of a call are visible to the formatter through a
// thread-local pointer for the duration of that call: lwgate's logger is synchronous, so the
// formatter runs on the thread that logs, inside the call.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

namespace lwgate::logging {

// No value (the field is left out), text, or a number.
using FieldValue = std::variant<std::monostate, std::string_view, std::uint64_t>;

struct Field {
    std::string_view key;  // the JSON member; "endpoint" is written `ep=` in text
    FieldValue value;
};

// A text value that is empty is left out too.
inline bool present(const FieldValue& value) {
    if (std::holds_alternative<std::monostate>(value)) return false;
    if (const auto* text = std::get_if<std::string_view>(&value)) return !text->empty();
    return true;
}

// The fields of the line being written on this thread (empty outside a logging::log call).
std::span<const Field> current_fields();

// Sets the fields for the lifetime of the scope.
class FieldScope {
  public:
    explicit FieldScope(std::span<const Field> fields);
    ~FieldScope();
    FieldScope(const FieldScope&) = delete;
    FieldScope& operator=(const FieldScope&) = delete;

  private:
    std::span<const Field> previous_;
};

// The shard whose thread this is (JSON lines say "shard": N); -1 on other threads.
void set_thread_shard(int shard);
int thread_shard();

template <class... Args>
void log(spdlog::level::level_enum level, std::initializer_list<Field> fields,
         fmt::format_string<Args...> format, Args&&... args) {
    if (!spdlog::should_log(level)) return;
    const FieldScope scope(std::span<const Field>(fields.begin(), fields.size()));
    spdlog::log(level, format, std::forward<Args>(args)...);
}

}  // namespace lwgate::logging
