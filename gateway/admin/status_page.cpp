#include "admin/status_page.hpp"

#include <string>

namespace lwgate::admin {

const std::string& status_page_csp() {
    // default-src 'none': whatever the page does not name here (images, fonts, frames, workers,
    // plugins) is refused. connect-src 'self': the script's fetches go to the admin API only.
    static const std::string policy = "default-src 'none'; script-src '" +
                                      std::string(status_page_script_hash()) + "'; style-src '" +
                                      std::string(status_page_style_hash()) +
                                      "'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                                      "frame-ancestors 'none'";
    return policy;
}

Reply status_page_reply() {
    Reply reply;
    reply.body = std::string(status_page_html());
    reply.content_type = "text/html; charset=utf-8";
    reply.headers = {
        {"Content-Security-Policy", status_page_csp()},
        // A page cached from an older lwgate would read this lwgate's API with its old script.
        {"Cache-Control", "no-store"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
    };
    return reply;
}

}  // namespace lwgate::admin
