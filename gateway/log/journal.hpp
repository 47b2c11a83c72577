// Whether stderr is connected to systemd's journal. systemd sets JOURNAL_STREAM to the
// "device:inode" of the stream it connects a service's stdout/stderr to; the variable alone is
// not enough (a child whose stderr was redirected inherits it), so the stream is compared with
// what stderr really is (systemd.exec(5), "$JOURNAL_STREAM").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lwgate::logging {

struct StreamId {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    bool operator==(const StreamId&) const = default;
};

// "8:123456" -> {8, 123456}; nullopt for anything else.
std::optional<StreamId> parse_journal_stream(std::string_view text);

// JOURNAL_STREAM names the stream that file descriptor `fd` is.
bool fd_is_journal_stream(const char* journal_stream, int fd);

// The process's stderr is the journal.
bool stderr_is_journal();

}  // namespace lwgate::logging
