// A stand-in for lwgate's admin API: cpp-httplib on 127.0.0.1, port 0, serving canned contract
// JSON and recording every request, so lwgatectl's requests and exit codes can be checked exactly.
#pragma once

#include <httplib.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lwgate::ctl::testing {

struct Recorded {
    std::string method;
    std::string path;
    std::multimap<std::string, std::string> params;
    std::string body;
    std::string authorization;
};

struct Canned {
    int status = 200;
    std::string body;
};

class FakeAdmin {
  public:
    // Answers `METHOD path` with the canned reply; anything else 404 {"error":"not found"}.
    // With a token, requests without `Authorization: Bearer <token>` get 401.
    explicit FakeAdmin(std::string token = "") : token_(std::move(token)) {
        auto handler = [this](const httplib::Request& req, httplib::Response& res) {
            Recorded r{req.method, req.path, {}, req.body, req.get_header_value("Authorization")};
            for (const auto& [k, v] : req.params)
                r.params.emplace(k, v);
            Canned reply{404, R"({"error":"not found"})"};
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(r);
                if (!token_.empty() && r.authorization != "Bearer " + token_) {
                    reply = {401, R"({"error":"missing or wrong bearer token"})"};
                    res.set_header("WWW-Authenticate", "Bearer");
                } else if (auto it = canned_.find(req.method + " " + req.path);
                           it != canned_.end()) {
                    reply = it->second;
                }
            }
            res.status = reply.status;
            res.set_content(reply.body, "application/json");
        };
        server_.Get(".*", handler);
        server_.Post(".*", handler);
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        // cpp-httplib's stop() does nothing before the listening loop runs, which would then
        // run for ever: a test that sends nothing would hang in the destructor's join().
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!server_.is_running() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::yield();
    }
    ~FakeAdmin() {
        server_.stop();
        thread_.join();
    }

    void set(const std::string& method_and_path, int status, std::string body) {
        std::lock_guard lock(mutex_);
        canned_[method_and_path] = Canned{status, std::move(body)};
    }
    std::vector<Recorded> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    std::string token_;
    httplib::Server server_;
    int port_ = -1;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::map<std::string, Canned> canned_;
    std::vector<Recorded> requests_;
};

}  // namespace lwgate::ctl::testing
