// The bulk import's text: JSON lines or CSV, parsed one line at a time into records, each bad
// line an error naming its line number (so that a million-line file can be fixed, not guessed
// at). Pure: the admin API hands a request body in; lwgatectl streams a file as a series of
// such bodies, each with the line number it starts at.
//
//   JSON lines: {"endpoint": "...", "psk_identity": "...", "psk_key_hex": "...",
//                "certificate_name": "..."}     (certificate_name optional; no other keys)
//   CSV:        endpoint,psk_identity,psk_key_hex[,certificate_name]
//               RFC 4180 quoting ("a,b" and "" for a quote); a first line that starts with
//               "endpoint," is the header and is skipped.
// In both, empty lines and lines starting with '#' are skipped.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credentials/credential_rules.hpp"

namespace lwgate::credentials {

enum class ImportFormat { jsonl, csv };

// "jsonl"/"ndjson"/"application/x-ndjson"/"application/jsonl" or "csv"/"text/csv" (parameters
// after ';' ignored); nullopt for anything else.
std::optional<ImportFormat> import_format_of(std::string_view name);

struct ImportLineError {
    std::size_t line = 0;
    std::string message;
};

struct ParsedImport {
    std::vector<store::CredentialRecord> records;
    std::vector<std::size_t> lines;       // records[i] came from lines[i]
    std::vector<ImportLineError> errors;  // at most max_errors (then error_count says how many)
    std::size_t error_count = 0;
};

// `first_line`: the number of the body's first line in the operator's file. Duplicate
// endpoints or identities within the body are errors too (on the later line).
ParsedImport parse_import(std::string_view body, ImportFormat format, std::size_t first_line,
                          store::UnixMillis now, std::size_t max_errors = 100);

}  // namespace lwgate::credentials
