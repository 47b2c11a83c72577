// The keys the table cannot read by their kind alone: each reader parses its value, reports its
// errors through the Reader and puts the result into Config. Named in keys.cpp.
#pragma once

#include "config/reader.hpp"

namespace lwgate::config {

// listeners.cpp
void read_listeners(Reader& r, const Item& it, Config& cfg);
// A tls section's certificate and private_key go together: an error naming the one missing
// when only the other was written.
void check_certificate_pair(Reader& r, const Item& tls, bool certificate, bool private_key);

// upstream.cpp
void read_upstream_uri(Reader& r, const Item& it, Config& cfg);
void read_bootstrap_uri(Reader& r, const Item& it, Config& cfg);
void read_upstream_dtls(Reader& r, const Item& it, Config& cfg);
void read_gateway_psk_identity(Reader& r, const Item& it, Config& cfg);
void read_gateway_psk_key(Reader& r, const Item& it, Config& cfg);
void read_bind_addresses(Reader& r, const Item& it, Config& cfg);
void read_bind_ports(Reader& r, const Item& it, Config& cfg);

// store_admin.cpp
void read_store_uri(Reader& r, const Item& it, Config& cfg);
void read_admin_listen(Reader& r, const Item& it, Config& cfg);
void read_admin_tls(Reader& r, const Item& it, Config& cfg);

// credentials.cpp
void read_credentials(Reader& r, const Item& it, Config& cfg);
void read_credentials_file(Reader& r, const Item& it, Config& cfg);
// A list of credentials (the `credentials` key, or the top level of a credentials_file).
void read_credential_list(Reader& r, const Item& it, std::vector<Credential>& out);
// The credentials_file named by `it`, read once the rest of the document is (it may not be
// given together with `credentials`).
void load_credentials_file(Reader& r, const Item& it, Config& cfg);

}  // namespace lwgate::config
