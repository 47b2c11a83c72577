// /v1/credentials: device credentials while lwgate runs (credentials/credential_service.hpp has
// the rules). Keys go in, never out: every answer shows a key as its identity and fingerprint.
// A change that makes an identity invalid (a removal, a retired or replaced key) closes the
// connections that authenticated with it, and says how many.
#pragma once

#include "admin/api.hpp"
#include "admin/router.hpp"

namespace lwgate::admin {

// The largest import body: a few tens of thousands of lines. lwgatectl sends a file as a series
// of such bodies. Other requests keep http_limits::max_body_bytes.
inline constexpr std::uint64_t max_import_body_bytes = 4 * 1024 * 1024;

// GET/POST/DELETE on /v1/credentials[...]; `r.op` is one of the credential operations.
Reply credentials_operation(Backend& backend, const ApiRequest& request, const Route& r);
bool is_credential_op(Op op);

// A CredentialService error as its HTTP answer: 400 invalid, 404 unknown endpoint, 409 a
// conflict (identity or certificate name taken, rotation to the same identity, nothing to
// retire), 501 a store without credentials, 503 a failed write. `suffix` follows the words.
Reply credential_error_reply(const Error& error, std::string_view suffix = {});

// POST /v1/credentials/import (credentials_import.cpp).
Reply import_credentials(Backend& backend, credentials::CredentialService& service,
                         const ApiRequest& request);

}  // namespace lwgate::admin
