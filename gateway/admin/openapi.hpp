// The admin API described as an OpenAPI 3.0 document, served at GET /v1/openapi.json. Written by
// hand as data (openapi.cpp), next to the route table it must match: the unit test
// tests/unit/admin/openapi_test.cpp fails when a route and the document disagree.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lwgate::admin {

// The document, parsed once (a discarded value only if the text in openapi.cpp were broken,
// which the unit test rules out).
const nlohmann::json& openapi_document();

// The document as compact JSON text, built once: every request answers the same bytes.
const std::string& openapi_text();

}  // namespace lwgate::admin
