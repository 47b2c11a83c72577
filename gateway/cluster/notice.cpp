#include "cluster/notice.hpp"

#include <charconv>
#include <vector>

namespace lwgate::cluster {

namespace {

constexpr std::size_t max_notice = 512;  // an endpoint is at most 255 bytes, a name 64

std::optional<std::uint64_t> number(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

// The first `n` space-separated words, and what follows the n-th space (unsplit).
std::optional<std::vector<std::string_view>> words(std::string_view text, std::size_t n) {
    std::vector<std::string_view> out;
    while (out.size() < n) {
        const auto space = text.find(' ');
        if (space == std::string_view::npos || space == 0) return std::nullopt;
        out.push_back(text.substr(0, space));
        text.remove_prefix(space + 1);
    }
    out.push_back(text);
    return out;
}

}  // namespace

std::string encode_notice(const Notice& n) {
    return std::string(n.kind == NoticeKind::handover ? "handover " : "released ") + n.from.name +
           " " + std::to_string(n.from.incarnation) + " " + n.endpoint;
}

std::optional<Notice> decode_notice(std::string_view text) {
    if (text.size() > max_notice) return std::nullopt;
    auto w = words(text, 3);
    if (!w || (*w)[3].empty()) return std::nullopt;
    Notice n;
    if ((*w)[0] == "handover") {
        n.kind = NoticeKind::handover;
    } else if ((*w)[0] == "released") {
        n.kind = NoticeKind::released;
    } else {
        return std::nullopt;
    }
    auto incarnation = number((*w)[2]);
    if (!incarnation) return std::nullopt;
    n.from = InstanceId{std::string((*w)[1]), *incarnation};
    n.endpoint = std::string((*w)[3]);
    return n;
}

std::optional<ClaimResult> decode_claim_reply(std::string_view text) {
    if (text.starts_with("granted ")) {
        auto epoch = number(text.substr(8));
        if (!epoch) return std::nullopt;
        return ClaimResult{ClaimOutcome::granted, *epoch, std::nullopt};
    }
    if (!text.starts_with("held ")) return std::nullopt;
    auto w = words(text.substr(5), 2);
    if (!w) return std::nullopt;
    auto incarnation = number((*w)[1]);
    auto epoch = number((*w)[2]);
    if (!incarnation || !epoch) return std::nullopt;
    return ClaimResult{ClaimOutcome::held, *epoch, InstanceId{std::string((*w)[0]), *incarnation}};
}

}  // namespace lwgate::cluster
