// POST /v1/credentials/import: one body of a bulk import, all or nothing.
#include <chrono>

#include <spdlog/spdlog.h>

#include "admin/credentials_api.hpp"
#include "credentials/import_format.hpp"
#include "log/operator_log.hpp"

namespace lwgate::admin {

using nlohmann::json;

namespace {

// ?format= wins; without it the first character says: '{' JSON lines, else CSV.
std::optional<credentials::ImportFormat> format_of(const ApiRequest& request) {
    const auto it = request.query.find("format");
    if (it != request.query.end()) return credentials::import_format_of(it->second);
    const auto first = request.body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && request.body[first] == '{')
        return credentials::ImportFormat::jsonl;
    return credentials::ImportFormat::csv;
}

std::optional<std::size_t> first_line_of(const ApiRequest& request) {
    const auto it = request.query.find("first_line");
    if (it == request.query.end()) return 1;
    char* end = nullptr;
    const auto n = std::strtoull(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || n < 1 || n > 1'000'000'000) return std::nullopt;
    return n;
}

Reply refused_lines(const credentials::ParsedImport& parsed) {
    json errors = json::array();
    for (const auto& e : parsed.errors)
        errors.push_back({{"line", e.line}, {"error", e.message}});
    return json_reply(400, json{{"error", std::to_string(parsed.error_count) +
                                              " line(s) refused: nothing imported"},
                                {"error_count", parsed.error_count},
                                {"errors", std::move(errors)}});
}

}  // namespace

Reply import_credentials(Backend& backend, credentials::CredentialService& service,
                         const ApiRequest& request) {
    const auto format = format_of(request);
    if (!format) return error_reply(400, "format must be jsonl or csv");
    const auto first_line = first_line_of(request);
    if (!first_line) return error_reply(400, "first_line must be a positive integer");
    const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(WallClock::now().time_since_epoch())
            .count();
    auto parsed = credentials::parse_import(request.body, *format, *first_line, now);
    if (parsed.error_count > 0) return refused_lines(parsed);
    const auto lines = parsed.records.size();
    auto outcome = service.import(std::move(parsed.records));
    if (!outcome) return credential_error_reply(outcome.error(), ": nothing imported");
    const auto closed = backend.close_identities(outcome->retired);
    logging::log_operator_action(
        request.client, "credentials.import", {},
        fmt::format("entries={} first_line={} created={} replaced={} closed={}", lines, *first_line,
                    outcome->created, outcome->replaced, closed));
    return json_reply(200, json{{"imported", lines},
                                {"created", outcome->created},
                                {"replaced", outcome->replaced},
                                {"closed", closed}});
}

}  // namespace lwgate::admin
