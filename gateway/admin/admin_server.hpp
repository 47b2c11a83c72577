// The admin API's HTTP server (cpp-httplib) on a thread of its own. Requests are answered by a
// small worker pool; collecting data never blocks a shard (see Backend). Every response is JSON
// except /metrics; every error is {"error": "..."}.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "admin/backend.hpp"
#include "lwgate/config/config.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace lwgate::admin {

class AdminServer {
  public:
    AdminServer(const config::AdminConfig& config, Backend& backend);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Binds (port 0: any free port) and starts serving. Returns an error message on failure.
    std::optional<std::string> start();
    void stop();
    std::string url() const;  // "http://127.0.0.1:8484"

    // One request, independent of HTTP plumbing (the handler of every route). `client`: the
    // peer's address ("127.0.0.1:54321"), for the log.
    struct Reply {
        int status = 200;
        std::string body;
        std::string content_type = "application/json";
        bool challenge = false;  // 401: add WWW-Authenticate: Bearer
        std::string allow;       // 405: the Allow header
    };
    Reply handle(const std::string& method, const std::string& path,
                 const std::multimap<std::string, std::string>& query,
                 const std::string& authorization, const std::string& body,
                 const std::string& client);

  private:
    void serve(const httplib::Request& request, httplib::Response& response);

    config::AdminConfig config_;
    Backend& backend_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    std::atomic<bool> listen_returned_{false};
    int port_ = 0;
};

}  // namespace lwgate::admin
