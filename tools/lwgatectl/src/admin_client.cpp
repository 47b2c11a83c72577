#include "admin_client.hpp"

#include "views.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <httplib.h>
#include <openssl/x509.h>

namespace lwgate::ctl {

namespace {

Response to_response(const httplib::Result& result, const AdminAddress& address,
                     std::chrono::milliseconds timeout, long verify_result) {
    Response out;
    if (!result) {
        switch (result.error()) {
            case httplib::Error::Connection:
                out.transport_error = diagnose_connect(address.host, address.port, timeout);
                break;
            case httplib::Error::SSLConnection:
                out.transport_error = "TLS handshake failed (is admin.tls configured there?)";
                break;
            case httplib::Error::SSLServerVerification:
                out.transport_error = "the gateway's certificate is not trusted (" +
                                      std::string(X509_verify_cert_error_string(verify_result)) +
                                      "): give its CA with --cacert FILE";
                break;
            case httplib::Error::SSLLoadingCerts:
                out.transport_error = "cannot load the CA certificates of --cacert";
                break;
            case httplib::Error::ConnectionTimeout:
                out.transport_error = "connection timed out";
                break;
            case httplib::Error::Read:
                out.transport_error = "no answer (connection closed or read timed out)";
                break;
            case httplib::Error::Write:
                out.transport_error = "could not send the request";
                break;
            default:
                out.transport_error = lower_first(httplib::to_string(result.error())) + " error";
        }
        return out;
    }
    out.status = result->status;
    out.raw = result->body;
    out.body = nlohmann::json::parse(out.raw, nullptr, /*allow_exceptions=*/false);
    if (out.body.is_discarded()) out.body = nullptr;
    return out;
}

}  // namespace

AdminClient::AdminClient(AdminAddress address, std::string token, std::chrono::milliseconds timeout,
                         const TlsOptions& tls)
    : address_(std::move(address)), token_(std::move(token)), timeout_(timeout) {
    if (address_.https) {
        auto https = std::make_unique<httplib::SSLClient>(address_.host, address_.port);
        https_ = https.get();
        // Verifies the chain and that the certificate names the host (or its IP address).
        https->enable_server_certificate_verification(!tls.insecure);
        if (!tls.ca_file.empty()) https->set_ca_cert_path(tls.ca_file);
        http_ = std::move(https);
    } else {
        http_ = std::make_unique<httplib::ClientImpl>(address_.host, address_.port);
    }
    http_->set_connection_timeout(timeout_);
    http_->set_read_timeout(timeout_);
    http_->set_write_timeout(timeout_);
    http_->set_keep_alive(true);  // `watch` reuses the connection
    if (!token_.empty()) http_->set_bearer_token_auth(token_);
}

AdminClient::~AdminClient() = default;

Response AdminClient::get(const std::string& path) {
    http_->set_read_timeout(timeout_);
    return respond(http_->Get(path));
}

Response AdminClient::post(const std::string& path, const nlohmann::json& body,
                           std::chrono::milliseconds extra_wait) {
    http_->set_read_timeout(timeout_ + extra_wait);
    const auto text = body.is_null() ? std::string("{}") : body.dump();
    return respond(http_->Post(path, text, "application/json"));
}

Response AdminClient::post_text(const std::string& path, const std::string& body,
                                const std::string& content_type,
                                std::chrono::milliseconds extra_wait) {
    http_->set_read_timeout(timeout_ + extra_wait);
    return respond(http_->Post(path, body, content_type));
}

Response AdminClient::del(const std::string& path) {
    http_->set_read_timeout(timeout_);
    return respond(http_->Delete(path));
}

std::string describe_refusal(const Response& r) {
    auto text = error_text(r.body);
    if (text.empty() && !r.body.is_null() && r.body.is_object() && r.status < 300)
        text = "answer without the expected fields";
    if (text.empty()) {
        text = r.raw.substr(0, r.raw.find('\n'));
        if (text.size() > 200) text.resize(200);
    }
    std::string out = text.empty() ? "" : text + " ";
    out += "(HTTP " + std::to_string(r.status) + ")";
    if (r.status == 401) out += "; set --token or LWGATE_TOKEN";
    return out;
}

Response AdminClient::respond(const httplib::Result& result) const {
    return to_response(result, address_, timeout_,
                       https_ ? https_->get_openssl_verify_result() : 0);
}

std::string diagnose_connect(const std::string& host, std::uint16_t port,
                             std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const auto service = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
        return "cannot resolve " + host + ": " + gai_strerror(rc);
    int error = 0;
    for (auto* ai = found; ai; ai = ai->ai_next) {
        const int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            error = errno;
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            rc = poll(&p, 1, static_cast<int>(timeout.count()));
            if (rc == 0) {
                error = ETIMEDOUT;
            } else {
                socklen_t len = sizeof error;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
            }
        } else {
            error = rc == 0 ? 0 : errno;
        }
        close(fd);
        if (error == 0) break;
    }
    freeaddrinfo(found);
    // The port accepts now: the first attempt failed for a reason that has gone (a restart?).
    if (error == 0) return "connection failed";
    return lower_first(std::strerror(error));
}

}  // namespace lwgate::ctl
