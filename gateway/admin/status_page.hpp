// The status page of GET /: one HTML file (gateway/admin/status_page.html) with its CSS and
// JavaScript inline, embedded at build time (cmake/embed_status_page.cmake), so the page needs
// nothing outside the gateway: no build step, no CDN. The page holds no data of its own: its
// script reads the JSON API (and /metrics) with the bearer token the operator types in, which is
// why GET / is the one route served without the token.
#pragma once

#include <string_view>

#include "admin/api.hpp"

namespace lwgate::admin {

// The page's bytes, as served (generated file status_page_data.cpp).
std::string_view status_page_html();
// "sha256-<base64>" of the page's inline <script> and <style>, for the Content-Security-Policy.
std::string_view status_page_script_hash();
std::string_view status_page_style_hash();

// The page's Content-Security-Policy: nothing but the page's own inline script and style (by
// hash) and fetches to the admin API's own origin; no frames, forms, plugins or base URI.
const std::string& status_page_csp();

// GET /: the page, with its CSP, Cache-Control: no-store and X-Content-Type-Options: nosniff.
Reply status_page_reply();

}  // namespace lwgate::admin
