// A small HTTP(S) client for the gateway's admin API in tests (cpp-httplib): one request per
// call, JSON bodies parsed on demand. A failed connection or TLS handshake is status 0 with the
// error in `body`.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace lwgate::harness {

struct HttpReply {
    int status = 0;
    std::string body;
    std::multimap<std::string, std::string> headers;    // names as the server sent them
    std::string header(const std::string& name) const;  // case-insensitive, "" when absent
    // The body as JSON; a discarded value (is_discarded()) when it is not JSON.
    nlohmann::json json() const;
};

class AdminClient {
  public:
    // url: "http://127.0.0.1:8484" or "https://..." (GatewayProcess::admin_url()); token: sent
    // as Bearer if set. ca_file: for https://, verify the gateway's certificate (chain and host)
    // against this CA (PEM); empty: no verification.
    explicit AdminClient(std::string url, std::string token = {}, std::string ca_file = {});

    HttpReply get(const std::string& path) const;
    HttpReply post(const std::string& path, const std::string& json_body = {}) const;
    // Any method, explicit Authorization header ("" = none, overrides the token).
    HttpReply request(const std::string& method, const std::string& path,
                      const std::string& body = {},
                      const std::optional<std::string>& authorization = std::nullopt) const;

  private:
    std::string url_;
    std::string token_;
    std::string ca_file_;
};

}  // namespace lwgate::harness
