#include "lwgate/harness/admin_client.hpp"

#include <strings.h>

#include <csignal>

#include <httplib.h>

namespace lwgate::harness {

std::string HttpReply::header(const std::string& name) const {
    for (const auto& [k, v] : headers)
        if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    return {};
}

nlohmann::json HttpReply::json() const {
    return nlohmann::json::parse(body, nullptr, false);
}

AdminClient::AdminClient(std::string url, std::string token, std::string ca_file)
    : url_(std::move(url)), token_(std::move(token)), ca_file_(std::move(ca_file)) {
    // lwgate answers a request whose body is too large (413) or unauthorised (401) before the
    // body is read, and closes: httplib's send() to that socket would raise SIGPIPE (it does
    // not pass MSG_NOSIGNAL), which kills the test instead of failing the write.
    std::signal(SIGPIPE, SIG_IGN);
}

HttpReply AdminClient::get(const std::string& path) const {
    return request("GET", path);
}

HttpReply AdminClient::post(const std::string& path, const std::string& json_body) const {
    return request("POST", path, json_body);
}

HttpReply AdminClient::request(const std::string& method, const std::string& path,
                               const std::string& body,
                               const std::optional<std::string>& authorization) const {
    httplib::Client client(url_);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(30, 0);
    client.set_keep_alive(false);
    if (url_.rfind("https://", 0) == 0) {
        client.enable_server_certificate_verification(!ca_file_.empty());
        if (!ca_file_.empty()) client.set_ca_cert_path(ca_file_);
    }
    httplib::Headers headers;
    if (authorization) {
        if (!authorization->empty()) headers.emplace("Authorization", *authorization);
    } else if (!token_.empty()) {
        headers.emplace("Authorization", "Bearer " + token_);
    }
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = headers;
    req.body = body;
    if (!body.empty()) req.set_header("Content-Type", "application/json");
    auto result = client.send(req);
    HttpReply reply;
    if (!result) {
        reply.body = "HTTP request failed: " + httplib::to_string(result.error());
        return reply;
    }
    reply.status = result->status;
    reply.body = result->body;
    for (const auto& [k, v] : result->headers)
        reply.headers.emplace(k, v);
    return reply;
}

}  // namespace lwgate::harness
