#include "credentials/import_format.hpp"

#include <unordered_set>

#include <nlohmann/json.hpp>

namespace lwgate::credentials {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    return s;
}

// RFC 4180 fields of one line; nullopt when a quote is left open or text follows a closing one.
std::optional<std::vector<std::string>> csv_fields(std::string_view line) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    bool after_quote = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c != '"') {
                fields.back() += c;
            } else if (i + 1 < line.size() && line[i + 1] == '"') {
                fields.back() += '"';
                ++i;
            } else {
                quoted = false;
                after_quote = true;
            }
        } else if (c == ',') {
            fields.emplace_back();
            after_quote = false;
        } else if (c == '"' && fields.back().empty() && !after_quote) {
            quoted = true;
        } else if (after_quote) {
            return std::nullopt;
        } else {
            fields.back() += c;
        }
    }
    if (quoted) return std::nullopt;
    return fields;
}

Result<CredentialInput, std::string> csv_input(std::string_view line) {
    auto fields = csv_fields(line);
    if (!fields) return fail(std::string("malformed CSV quoting"));
    if (fields->size() < 3 || fields->size() > 4)
        return fail(
            "expected 3 or 4 fields (endpoint,psk_identity,psk_key_hex[,"
            "certificate_name]), got " +
            std::to_string(fields->size()));
    auto& f = *fields;
    return CredentialInput{f[0], f[1], f[2], f.size() == 4 ? f[3] : std::string()};
}

Result<CredentialInput, std::string> json_input(std::string_view line) {
    const auto value = nlohmann::json::parse(line, nullptr, false);
    if (value.is_discarded() || !value.is_object()) return fail(std::string("not a JSON object"));
    CredentialInput input;
    for (const auto& [key, field] : value.items()) {
        std::string* target = key == "endpoint"           ? &input.endpoint
                              : key == "psk_identity"     ? &input.psk_identity
                              : key == "psk_key_hex"      ? &input.psk_key_hex
                              : key == "certificate_name" ? &input.certificate_name
                                                          : nullptr;
        if (!target) return fail("unknown key '" + key + "'");
        if (!field.is_string()) return fail("'" + key + "' must be a string");
        *target = field.get<std::string>();
    }
    return input;
}

struct Collector {
    ParsedImport& out;
    std::size_t max_errors;
    std::unordered_set<std::string> endpoints;
    std::unordered_set<std::string> identities;

    void error(std::size_t line, std::string message) {
        if (++out.error_count <= max_errors) out.errors.push_back({line, std::move(message)});
    }
    void add(std::size_t line, store::CredentialRecord record) {
        if (!endpoints.insert(record.endpoint).second)
            return error(line, "endpoint '" + record.endpoint + "' appears twice");
        if (!identities.insert(record.keys.front().identity).second)
            return error(line, "psk_identity '" + record.keys.front().identity + "' appears twice");
        out.records.push_back(std::move(record));
        out.lines.push_back(line);
    }
};

}  // namespace

std::optional<ImportFormat> import_format_of(std::string_view name) {
    name = trim(name.substr(0, name.find(';')));
    if (name == "jsonl" || name == "ndjson" || name == "application/x-ndjson" ||
        name == "application/jsonl" || name == "application/json-lines")
        return ImportFormat::jsonl;
    if (name == "csv" || name == "text/csv") return ImportFormat::csv;
    return std::nullopt;
}

ParsedImport parse_import(std::string_view body, ImportFormat format, std::size_t first_line,
                          store::UnixMillis now, std::size_t max_errors) {
    ParsedImport out;
    Collector collect{out, max_errors, {}, {}};
    std::size_t line_number = first_line;
    for (std::size_t start = 0; start < body.size(); ++line_number) {
        auto end = body.find('\n', start);
        if (end == std::string_view::npos) end = body.size();
        const auto line = trim(body.substr(start, end - start));
        start = end + 1;
        if (line.empty() || line.front() == '#') continue;
        const bool first_content = first_line == 1 && out.records.empty() && out.error_count == 0;
        if (format == ImportFormat::csv && first_content && line.rfind("endpoint,", 0) == 0)
            continue;
        auto input = format == ImportFormat::csv ? csv_input(line) : json_input(line);
        if (!input) {
            collect.error(line_number, std::move(input).error());
            continue;
        }
        auto record = make_record(*input, now);
        if (!record) {
            collect.error(line_number, record.error().detail);
            continue;
        }
        collect.add(line_number, std::move(record).value());
    }
    return out;
}

}  // namespace lwgate::credentials
