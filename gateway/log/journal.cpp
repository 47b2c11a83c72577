#include "log/journal.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>

namespace lwgate::logging {

namespace {

std::optional<std::uint64_t> number(std::string_view text) {
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [at, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || at != end) return std::nullopt;
    return value;
}

}  // namespace

std::optional<StreamId> parse_journal_stream(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto device = number(text.substr(0, colon));
    const auto inode = number(text.substr(colon + 1));
    if (!device || !inode) return std::nullopt;
    return StreamId{*device, *inode};
}

bool fd_is_journal_stream(const char* journal_stream, int fd) {
    if (!journal_stream) return false;
    const auto expected = parse_journal_stream(journal_stream);
    struct stat st {};
    if (!expected || ::fstat(fd, &st) != 0) return false;
    return *expected ==
           StreamId{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

bool stderr_is_journal() {
    return fd_is_journal_stream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO);
}

}  // namespace lwgate::logging
