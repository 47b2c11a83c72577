#include "admin/credentials_api.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "admin/json_views.hpp"
#include "credentials/credential_error.hpp"
#include "credentials/import_format.hpp"
#include "log/operator_log.hpp"

namespace lwgate::admin {

using credentials::CredentialErrc;
using nlohmann::json;

namespace {

constexpr std::size_t default_credential_page = 100;
constexpr std::size_t max_credential_page = 10'000;

store::UnixMillis unix_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               WallClock::now().time_since_epoch())
        .count();
}

std::string at(store::UnixMillis ms) {
    return iso8601(WallClock::time_point(std::chrono::milliseconds(ms)));
}

json record_json(const store::CredentialRecord& r) {
    json keys = json::array();
    for (const auto& k : r.keys)
        keys.push_back({{"psk_identity", k.identity},
                        {"fingerprint", credentials::fingerprint(k.key)},
                        {"added", at(k.added)}});
    json out{{"endpoint", r.endpoint},
             {"keys", std::move(keys)},
             {"source", r.from_config ? "config" : "api"},
             {"updated", at(r.updated)}};
    if (!r.certificate_name.empty()) out["certificate_name"] = r.certificate_name;
    return out;
}

int status_of(const Error& error) {
    if (error.code == CredentialErrc::invalid) return 400;
    if (error.code == CredentialErrc::not_found) return 404;
    if (error.code == CredentialErrc::store_failed) return 503;
    if (error.code == CredentialErrc::unsupported) return 501;
    return 409;  // taken, same identity, nothing to retire
}

Reply failed(const Error& error) {
    return credential_error_reply(error);
}

std::optional<json> object_body(const std::string& body) {
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
    auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
    return parsed;
}

// A string member, or "" when absent; nullopt (with `error`) when present but not a string.
std::optional<std::string> string_member(const json& body, const char* key, std::string& error) {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) return std::string();
    if (!it->is_string()) {
        error = std::string(key) + " must be a string";
        return std::nullopt;
    }
    return it->get<std::string>();
}

// The change's answer; connections of retired identities closed first.
Reply changed(Backend& backend, int status, const credentials::ChangeOutcome& outcome,
              const ApiRequest& request, std::string_view action) {
    const auto closed = backend.close_identities(outcome.retired);
    logging::log_operator_action(
        request.client, action, outcome.record.endpoint,
        fmt::format("keys={} closed={}", outcome.record.keys.size(), closed));
    auto body = record_json(outcome.record);
    body["closed"] = closed;
    return json_reply(status, body);
}

Reply list(const credentials::CredentialTable& table, const ApiRequest& request) {
    std::size_t limit = default_credential_page;
    std::string after;
    for (const auto& [key, value] : request.query) {
        if (key == "limit") {
            char* end = nullptr;
            const auto n = std::strtoull(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || n < 1 || n > max_credential_page)
                return error_reply(400, "limit must be an integer from 1 to " +
                                            std::to_string(max_credential_page));
            limit = n;
        } else if (key == "after") {
            auto cursor = decode_cursor(value);
            if (!cursor) return error_reply(400, "after: not a cursor of this API");
            after = cursor->endpoint;
        } else {
            return error_reply(400, "unknown parameter '" + key + "' (limit, after)");
        }
    }
    const auto page = table.page(after, limit);
    json items = json::array();
    for (const auto& r : page)
        items.push_back(record_json(r));
    json next = nullptr;
    if (page.size() == limit && !table.page(page.back().endpoint, 1).empty())
        next = encode_cursor({page.back().endpoint, 0});
    return json_reply(200, json{{"count", page.size()},
                                {"total", table.size()},
                                {"credentials", std::move(items)},
                                {"next", std::move(next)}});
}

Reply put(Backend& backend, credentials::CredentialService& service, const ApiRequest& request) {
    const auto body = object_body(request.body);
    if (!body) return error_reply(400, "the body must be a JSON object");
    std::string error;
    credentials::CredentialInput input;
    for (auto [key, field] :
         {std::pair{"endpoint", &input.endpoint}, std::pair{"psk_identity", &input.psk_identity},
          std::pair{"psk_key_hex", &input.psk_key_hex},
          std::pair{"certificate_name", &input.certificate_name}}) {
        auto value = string_member(*body, key, error);
        if (!value) return error_reply(400, error);
        *field = std::move(*value);
    }
    auto outcome = service.put(input, unix_now());
    if (!outcome) return failed(outcome.error());
    return changed(backend, outcome->created ? 201 : 200, *outcome, request,
                   outcome->created ? "credentials.add" : "credentials.replace");
}

Reply rotate(Backend& backend, credentials::CredentialService& service, const ApiRequest& request,
             const std::string& endpoint) {
    const auto body = object_body(request.body);
    if (!body) return error_reply(400, "the body must be a JSON object");
    std::string error;
    const auto identity = string_member(*body, "psk_identity", error);
    const auto key = identity ? string_member(*body, "psk_key_hex", error) : std::nullopt;
    if (!identity || !key) return error_reply(400, error);
    auto outcome = service.rotate(endpoint, *identity, *key, unix_now());
    if (!outcome) return failed(outcome.error());
    return changed(backend, 200, *outcome, request, "credentials.rotate");
}

Reply retire(Backend& backend, credentials::CredentialService& service, const ApiRequest& request,
             const std::string& endpoint) {
    const auto body = object_body(request.body);
    if (!body) return error_reply(400, "the body must be a JSON object");
    std::string error;
    const auto identity = string_member(*body, "psk_identity", error);
    if (!identity) return error_reply(400, error);
    auto outcome = service.retire(
        endpoint, identity->empty() ? std::nullopt : std::optional<std::string>(*identity),
        unix_now());
    if (!outcome) return failed(outcome.error());
    return changed(backend, 200, *outcome, request, "credentials.retire");
}

Reply remove(Backend& backend, credentials::CredentialService& service, const ApiRequest& request,
             const std::string& endpoint) {
    auto outcome = service.remove(endpoint);
    if (!outcome) return failed(outcome.error());
    const auto closed = backend.close_identities(outcome->retired);
    logging::log_operator_action(request.client, "credentials.remove", endpoint,
                                 fmt::format("closed={}", closed));
    return json_reply(200, json{{"removed", endpoint}, {"closed", closed}});
}

}  // namespace

bool is_credential_op(Op op) {
    switch (op) {
        case Op::credentials:
        case Op::credential:
        case Op::credential_put:
        case Op::credential_import:
        case Op::credential_remove:
        case Op::credential_rotate:
        case Op::credential_retire:
            return true;
        default:
            return false;
    }
}

Reply credential_error_reply(const Error& error, std::string_view suffix) {
    return error_reply(status_of(error), error.detail + std::string(suffix));
}

Reply credentials_operation(Backend& backend, const ApiRequest& request, const Route& r) {
    auto* service = backend.credential_service();
    const auto* table = backend.credential_table();
    if (!service || !table) return error_reply(501, "this gateway keeps no credentials");
    switch (r.op) {
        case Op::credentials:
            return list(*table, request);
        case Op::credential: {
            const auto record = table->get(r.target);
            if (!record) return error_reply(404, "no credentials for " + r.target);
            return json_reply(200, record_json(*record));
        }
        case Op::credential_put:
            return put(backend, *service, request);
        case Op::credential_import:
            return import_credentials(backend, *service, request);
        case Op::credential_remove:
            return remove(backend, *service, request, r.target);
        case Op::credential_rotate:
            return rotate(backend, *service, request, r.target);
        case Op::credential_retire:
            return retire(backend, *service, request, r.target);
        default:
            break;
    }
    return error_reply(404, "no such resource: " + request.path);
}

}  // namespace lwgate::admin
