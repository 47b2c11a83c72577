// GET /v1/openapi.json: an OpenAPI 3.0 document that lists exactly the routes the router takes,
// so that neither can change without the other.
#include "admin/openapi.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <gmock/gmock.h>

#include "admin/api.hpp"
#include "admin/json_views.hpp"
#include "admin/router.hpp"
#include "snapshot_builder.hpp"
#include "unit/admin/no_backend.hpp"

namespace lwgate::admin {
namespace {

using nlohmann::json;

const std::set<std::string> http_methods = {"get",  "put",     "post",  "delete",
                                            "head", "options", "patch", "trace"};

// j[key], or null when j is no object or has no such key (operator[] of a const json would
// be undefined behaviour on a missing key).
const json& at(const json& j, const std::string& key) {
    static const json none;
    if (!j.is_object()) return none;
    const auto it = j.find(key);
    return it == j.end() ? none : *it;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

// A path of the document or the table with a real value in each {parameter}.
std::string instantiate(std::string path) {
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{')) {
        const auto close = path.find('}', open);
        path.replace(open, close - open + 1, "urn%3Aimei%3A42");
    }
    return path;
}

// Every (METHOD, path) the document lists.
std::vector<std::pair<std::string, std::string>> documented_operations() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [path, item] : at(openapi_document(), "paths").items())
        for (const auto& [key, operation] : item.items())
            if (http_methods.count(key)) out.emplace_back(upper(key), path);
    return out;
}

// The object a "$ref": "#/components/..." names; null when it names nothing.
json resolve(const json& node) {
    if (!node.is_object() || !node.contains("$ref")) return node;
    const auto ref = node["$ref"].get<std::string>();
    if (ref.rfind("#/", 0) != 0) return nullptr;
    const json::json_pointer pointer(ref.substr(1));
    const auto& document = openapi_document();
    return document.contains(pointer) ? document.at(pointer) : json(nullptr);
}

// Every "$ref" anywhere in the document resolves.
void expect_refs_resolve(const json& node, const std::string& where) {
    if (node.is_object()) {
        if (node.contains("$ref")) {
            EXPECT_FALSE(resolve(node).is_null()) << where << ": " << node["$ref"];
        }
        for (const auto& [key, child] : node.items())
            expect_refs_resolve(child, where + "/" + key);
    } else if (node.is_array()) {
        for (const auto& child : node)
            expect_refs_resolve(child, where + "[]");
    }
}

TEST(AdminOpenApi, IsAnOpenApi3Document) {
    const auto& doc = openapi_document();
    ASSERT_TRUE(doc.is_object()) << "the text in openapi.cpp does not parse";
    ASSERT_TRUE(at(doc, "openapi").is_string());
    EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.0.", 0), 0u);
    ASSERT_TRUE(at(doc, "info").is_object());
    EXPECT_TRUE(at(doc["info"], "title").is_string());
    EXPECT_TRUE(at(doc["info"], "version").is_string());
    ASSERT_TRUE(at(doc, "paths").is_object());
    EXPECT_FALSE(doc["paths"].empty());
    for (const auto& [path, item] : doc["paths"].items()) {
        EXPECT_EQ(path.front(), '/') << path;
        bool any = false;
        for (const auto& [key, operation] : item.items()) {
            if (!http_methods.count(key)) {
                EXPECT_TRUE(key == "parameters" || key == "summary" || key == "description")
                    << path << ": " << key;
                continue;
            }
            any = true;
            ASSERT_TRUE(at(operation, "responses").is_object()) << key << " " << path;
            EXPECT_FALSE(operation["responses"].empty()) << key << " " << path;
            for (const auto& [status, response] : operation["responses"].items()) {
                EXPECT_TRUE(status == "default" ||
                            (status.size() == 3 && status[0] >= '1' && status[0] <= '5'))
                    << key << " " << path << ": " << status;
                EXPECT_TRUE(at(resolve(response), "description").is_string())
                    << key << " " << path << " " << status;
            }
        }
        EXPECT_TRUE(any) << path << " has no operation";
    }
    expect_refs_resolve(doc, "#");
}

// Every {name} of a path is a required path parameter of each of its operations.
TEST(AdminOpenApi, PathParametersAreDeclared) {
    for (const auto& [path, item] : at(openapi_document(), "paths").items()) {
        std::set<std::string> in_path;
        for (auto open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1))
            in_path.insert(path.substr(open + 1, path.find('}', open) - open - 1));
        for (const auto& [key, operation] : item.items()) {
            if (!http_methods.count(key)) continue;
            std::set<std::string> declared;
            for (const auto* list : {&item, &operation}) {
                if (!list->contains("parameters")) continue;
                for (const auto& p : at(*list, "parameters")) {
                    const auto parameter = resolve(p);
                    if (at(parameter, "in") != "path") continue;
                    EXPECT_EQ(at(parameter, "required"), true) << path;
                    declared.insert(at(parameter, "name").get<std::string>());
                }
            }
            EXPECT_EQ(declared, in_path) << key << " " << path;
        }
    }
}

TEST(AdminOpenApi, BearerTokenIsTheSecurityScheme) {
    const auto& doc = openapi_document();
    const auto& scheme = at(at(at(doc, "components"), "securitySchemes"), "bearerAuth");
    EXPECT_EQ(at(scheme, "type"), "http");
    EXPECT_EQ(at(scheme, "scheme"), "bearer");
    EXPECT_EQ(at(doc, "security"), json::parse(R"([{"bearerAuth": []}])"))
        << "the server checks the token on every route, probes included";
    // Only the routes the server answers without the token (the status page) say so, with an
    // empty security list, and they never answer 401.
    for (const auto& [path, item] : at(doc, "paths").items()) {
        for (const auto& [key, operation] : item.items()) {
            if (!http_methods.count(key)) continue;
            const bool open = !needs_token(route(upper(key), instantiate(path)).op);
            EXPECT_EQ(at(operation, "security") == json::array(), open) << key << " " << path;
            EXPECT_EQ(at(operation, "responses").contains("401"), !open) << key << " " << path;
        }
    }
}

// The document -> the router: everything documented is routed to an operation.
TEST(AdminOpenApi, EveryDocumentedOperationIsRouted) {
    const auto operations = documented_operations();
    EXPECT_FALSE(operations.empty());
    for (const auto& [method, path] : operations) {
        const auto r = route(method, instantiate(path));
        EXPECT_NE(r.op, Op::not_found) << method << " " << path;
        EXPECT_NE(r.op, Op::method_not_allowed) << method << " " << path;
    }
}

// The router -> the document: every route of the table (which route() answers from) is
// documented with its method, and nothing more is.
TEST(AdminOpenApi, EveryRouteIsDocumented) {
    const auto& paths = at(openapi_document(), "paths");
    std::set<std::pair<std::string, std::string>> table;
    for (const auto& spec : routes()) {
        const std::string path(spec.path);
        EXPECT_TRUE(at(at(paths, path), lower(spec.method)).is_object())
            << spec.method << " " << path << " is routed but not in the OpenAPI document";
        EXPECT_TRUE(table.emplace(std::string(spec.method), path).second)
            << spec.method << " " << path << " twice in the table";
        // The table is what route() answers from.
        EXPECT_EQ(route(spec.method, instantiate(path)).op, spec.op) << spec.method << " " << path;
    }
    const auto documented = documented_operations();
    EXPECT_EQ(std::set(documented.begin(), documented.end()), table);
}

// Every query parameter documented for GET /v1/connections is one the API takes.
TEST(AdminOpenApi, DocumentedListParametersAreAccepted) {
    const auto& parameters =
        at(at(at(at(openapi_document(), "paths"), "/v1/connections"), "get"), "parameters");
    std::set<std::string> names;
    for (const auto& p : parameters) {
        const auto parameter = resolve(p);
        ASSERT_EQ(at(parameter, "in"), "query");
        const auto name = at(parameter, "name").get<std::string>();
        names.insert(name);
        const auto schema = resolve(at(parameter, "schema"));
        std::string value = "x";
        if (schema.contains("enum")) value = schema["enum"][0].get<std::string>();
        if (at(schema, "type") == "integer") value = at(schema, "default").dump();
        if (name == "after") value = encode_cursor(RowKey{"dev", 1});
        const auto parsed = parse_list_query({{name, value}});
        EXPECT_TRUE(parsed) << name << "=" << value << ": " << parsed.error().detail;
    }
    EXPECT_EQ(names, (std::set<std::string>{"state", "endpoint", "transport", "remote", "limit",
                                            "after"}));
    const auto limit = std::find_if(parameters.begin(), parameters.end(),
                                    [](const json& p) { return at(p, "name") == "limit"; });
    ASSERT_NE(limit, parameters.end());
    EXPECT_EQ(at(at(*limit, "schema"), "maximum"), max_page_limit);
    EXPECT_EQ(at(at(*limit, "schema"), "default"), default_page_limit);
}

TEST(AdminOpenApi, ServedAtV1OpenApiJson) {
    NoBackend backend;
    Api api("", backend);
    auto answer = [&](const char* method) {
        ApiRequest r{method, "/v1/openapi.json", {}, {}, "127.0.0.1:50000"};
        auto outcome = api.handle(r, [](Reply) { ADD_FAILURE() << "answered later"; });
        return std::get<Reply>(outcome);
    };
    const auto r = answer("GET");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(json::parse(r.body), openapi_document());
    const auto post = answer("POST");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.allow, "GET");
    EXPECT_FALSE(Api::is_probe("GET", "/v1/openapi.json")) << "not monitoring's pool";
}

}  // namespace
}  // namespace lwgate::admin
