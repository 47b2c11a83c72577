// libFuzzer target for the credentials' bulk import (CSV and JSON lines), the text an operator's
// file sends through the admin API in batches.
//
// The first byte picks the format, the rest is the body. Whatever the body, the parse keeps its
// bounds and its bookkeeping: one line number per record, rising, inside the body; no more errors
// kept than asked for; no endpoint or identity twice; every record passes the rules a single
// POST /v1/credentials applies. And what it accepted, written out again as JSON lines, parses to
// the same records.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "credentials/import_format.hpp"

namespace {

using namespace lwgate::credentials;

constexpr std::size_t first_line = 7;
constexpr std::size_t max_errors = 5;
constexpr lwgate::store::UnixMillis now = 1'700'000'000'000;

void require(bool condition) {
    if (!condition) std::abort();
}

std::string hex(const std::vector<std::uint8_t>& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const auto b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

void check_bookkeeping(const ParsedImport& parsed, std::string_view body) {
    const std::size_t last_line =
        first_line + static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n'));
    require(parsed.records.size() == parsed.lines.size());
    require(parsed.errors.size() <= max_errors && parsed.error_count >= parsed.errors.size());
    require((parsed.error_count == 0) == parsed.errors.empty());
    for (std::size_t i = 0; i < parsed.lines.size(); ++i) {
        require(parsed.lines[i] >= first_line && parsed.lines[i] <= last_line);
        require(i == 0 || parsed.lines[i] > parsed.lines[i - 1]);
    }
    for (const auto& e : parsed.errors)
        require(e.line >= first_line && e.line <= last_line && !e.message.empty());
}

void check_records(const ParsedImport& parsed) {
    std::set<std::string> endpoints, identities;
    for (const auto& r : parsed.records) {
        require(bool(check_endpoint(r.endpoint)));
        require(r.keys.size() == 1);
        require(!r.keys[0].key.empty() && r.keys[0].key.size() <= 64);
        require(endpoints.insert(r.endpoint).second);
        require(identities.insert(r.keys[0].identity).second);
    }
}

// The records as JSON lines; empty when a string is not UTF-8 (JSON cannot carry it as it is).
std::string as_json_lines(const ParsedImport& parsed) {
    std::string out;
    try {
        for (const auto& r : parsed.records) {
            nlohmann::json line{{"endpoint", r.endpoint},
                                {"psk_identity", r.keys[0].identity},
                                {"psk_key_hex", hex(r.keys[0].key)}};
            if (!r.certificate_name.empty()) line["certificate_name"] = r.certificate_name;
            out += line.dump() + "\n";
        }
    } catch (const nlohmann::json::type_error&) {
        return {};
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const ImportFormat format = data[0] & 1 ? ImportFormat::csv : ImportFormat::jsonl;
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    const ParsedImport parsed = parse_import(body, format, first_line, now, max_errors);
    check_bookkeeping(parsed, body);
    check_records(parsed);
    if (parsed.records.empty()) return 0;
    const std::string again = as_json_lines(parsed);
    if (again.empty()) return 0;
    const ParsedImport reparsed = parse_import(again, ImportFormat::jsonl, 1, now, max_errors);
    require(reparsed.error_count == 0 && reparsed.records.size() == parsed.records.size());
    for (std::size_t i = 0; i < parsed.records.size(); ++i)
        require(reparsed.records[i] == parsed.records[i]);
    return 0;
}
