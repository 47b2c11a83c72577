// A small blocking client of the lwgate admin API (cpp-httplib), one request at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "format.hpp"

namespace httplib {
class Client;
}

namespace lwgate::ctl {

struct Response {
    int status = 0;               // HTTP status; 0 when the gateway could not be reached
    std::string transport_error;  // why there is no response ("connection refused", ...)
    std::string raw;              // the body as received
    nlohmann::json body;          // the body parsed, or null when it is not JSON

    bool reached() const { return status != 0; }
    bool success() const { return status >= 200 && status < 300; }
};

class AdminClient {
  public:
    // `timeout` bounds connecting and each read; a ping adds its own timeout on top.
    AdminClient(AdminAddress address, std::string token, std::chrono::milliseconds timeout);
    ~AdminClient();
    AdminClient(const AdminClient&) = delete;
    AdminClient& operator=(const AdminClient&) = delete;

    Response get(const std::string& path);
    Response post(const std::string& path, const nlohmann::json& body,
                  std::chrono::milliseconds extra_wait = std::chrono::milliseconds{0});

    const AdminAddress& address() const { return address_; }

  private:
    AdminAddress address_;
    std::string token_;
    std::chrono::milliseconds timeout_;
    std::unique_ptr<httplib::Client> http_;
};

// Why a TCP connection to host:port fails right now ("connection refused", "no route to host",
// "cannot resolve host"): cpp-httplib only says "Connection", so ask the kernel once more.
std::string diagnose_connect(const std::string& host, std::uint16_t port,
                             std::chrono::milliseconds timeout);

}  // namespace lwgate::ctl
