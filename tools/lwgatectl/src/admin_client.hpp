// A small blocking client of the lwgate admin API (cpp-httplib, with its OpenSSL support for
// https:// addresses), one request at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "format.hpp"

namespace httplib {
class ClientImpl;
class SSLClient;
class Result;
}  // namespace httplib

namespace lwgate::ctl {

struct Response {
    int status = 0;               // HTTP status; 0 when the gateway could not be reached
    std::string transport_error;  // why there is no response ("connection refused", ...)
    std::string raw;              // the body as received
    nlohmann::json body;          // the body parsed, or null when it is not JSON

    bool reached() const { return status != 0; }
    bool success() const { return status >= 200 && status < 300; }
};

// How the server of an https:// address is verified.
struct TlsOptions {
    std::string ca_file;    // PEM CA certificates to verify it against; empty: the system's
    bool insecure = false;  // no verification at all (self-signed test set-ups)
};

class AdminClient {
  public:
    // `timeout` bounds connecting and each read; a ping adds its own timeout on top. `tls`
    // applies to https:// addresses only.
    AdminClient(AdminAddress address, std::string token, std::chrono::milliseconds timeout,
                const TlsOptions& tls = {});
    ~AdminClient();
    AdminClient(const AdminClient&) = delete;
    AdminClient& operator=(const AdminClient&) = delete;

    Response get(const std::string& path);
    Response post(const std::string& path, const nlohmann::json& body,
                  std::chrono::milliseconds extra_wait = std::chrono::milliseconds{0});
    // A body that is not JSON (a credentials import: CSV or JSON lines).
    Response post_text(const std::string& path, const std::string& body,
                       const std::string& content_type, std::chrono::milliseconds extra_wait);
    Response del(const std::string& path);

    const AdminAddress& address() const { return address_; }

  private:
    Response respond(const httplib::Result& result) const;

    AdminAddress address_;
    std::string token_;
    std::chrono::milliseconds timeout_;
    std::unique_ptr<httplib::ClientImpl> http_;
    httplib::SSLClient* https_ = nullptr;  // http_ when the address is https://
};

// A refused or unexpected answer in words: the API's error, else the first line of the body,
// and the HTTP status ("...; set --token or LWGATE_TOKEN" for a 401).
std::string describe_refusal(const Response& r);

// Why a TCP connection to host:port fails right now ("connection refused", "no route to host",
// "cannot resolve host"): cpp-httplib only says "Connection", so ask the kernel once more.
std::string diagnose_connect(const std::string& host, std::uint16_t port,
                             std::chrono::milliseconds timeout);

}  // namespace lwgate::ctl
