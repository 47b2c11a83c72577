#include "admin/openapi.hpp"

#include <string_view>

namespace lwgate::admin {

namespace {

// The document as data. Every route of router.cpp's table is here with its method, and nothing
// else (openapi_test.cpp checks both directions); the bearer token is a global requirement
// because the HTTP server checks it on every request, probes included, when admin.token is set.
constexpr std::string_view document_text = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "lwgate admin API",
    "version": "1",
    "description": "Connection health and operator actions of a running lwgate. Every answer is JSON except /metrics; every error is {\"error\": \"...\"}. When admin.token is set, every request needs Authorization: Bearer <token> (401 with WWW-Authenticate: Bearer otherwise)."
  },
  "servers": [{"url": "http://127.0.0.1:8484", "description": "the default admin.listen"}],
  "security": [{"bearerAuth": []}],
  "paths": {
    "/v1/health": {
      "get": {
        "operationId": "getHealth",
        "summary": "Overall health: ok, degraded or failing, with the reasons",
        "responses": {
          "200": {"description": "ok or degraded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
          "503": {"description": "failing: no listener up, or the core does not answer", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "getMetrics",
        "summary": "Prometheus text format 0.0.4",
        "responses": {
          "200": {"description": "the metrics", "content": {"text/plain; version=0.0.4; charset=utf-8": {"schema": {"type": "string"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/v1/connections": {
      "get": {
        "operationId": "listConnections",
        "summary": "One row per connection and per registered endpoint without one, a page at a time",
        "description": "Rows are ordered by endpoint name (bytes; connections without an endpoint first), then connection id. The filters apply first, then the page: pass `next` of an answer as `after` to get the following page; `next` is null on the last page. A row that closes between two pages does not disturb the next one.",
        "parameters": [
          {"name": "state", "in": "query", "description": "only rows in this state (half-open is taken for half_open)", "schema": {"$ref": "#/components/schemas/State"}},
          {"name": "endpoint", "in": "query", "description": "only endpoints starting with this prefix", "schema": {"type": "string"}},
          {"name": "transport", "in": "query", "description": "only connections over this transport", "schema": {"type": "string", "enum": ["tcp", "tls"]}},
          {"name": "remote", "in": "query", "description": "only remote addresses starting with this prefix", "schema": {"type": "string"}},
          {"name": "limit", "in": "query", "description": "rows per page", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}},
          {"name": "after", "in": "query", "description": "the `next` cursor of the previous page (opaque)", "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "a page of rows", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConnectionList"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/v1/connections/{target}": {
      "parameters": [{"$ref": "#/components/parameters/Target"}],
      "get": {
        "operationId": "getConnection",
        "summary": "Everything known about one device or connection",
        "responses": {
          "200": {"description": "the device", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConnectionDetail"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/v1/connections/{target}/ping": {
      "parameters": [{"$ref": "#/components/parameters/Target"}],
      "post": {
        "operationId": "pingConnection",
        "summary": "Send a CoAP Ping now and measure the round trip",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {
          "type": "object",
          "properties": {"timeout_ms": {"type": "integer", "minimum": 0, "maximum": 60000, "default": 5000, "description": "how long to wait for the Pong (0: the default)"}}
        }}}},
        "responses": {
          "200": {"description": "the Pong came", "content": {"application/json": {"schema": {
            "type": "object", "required": ["rtt_ms", "id"],
            "properties": {"rtt_ms": {"type": "number"}, "id": {"type": "integer"}}
          }}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/NoConnection"},
          "504": {"description": "no Pong within timeout_ms", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/v1/connections/{target}/release": {
      "parameters": [{"$ref": "#/components/parameters/Target"}],
      "post": {
        "operationId": "releaseConnection",
        "summary": "Send 7.04 Release, then close the connection",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {
          "type": "object",
          "properties": {
            "alternative_address": {"type": "string", "minLength": 1, "maxLength": 255, "description": "an Alternative-Address URI for the device"},
            "hold_off_seconds": {"type": "integer", "minimum": 0, "maximum": 4294967295}
          }
        }}}},
        "responses": {
          "202": {"description": "released", "content": {"application/json": {"schema": {
            "type": "object", "required": ["released", "id"],
            "properties": {"released": {"type": "boolean"}, "id": {"type": "integer"}}
          }}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/NoConnection"}
        }
      }
    },
    "/v1/connections/{target}/close": {
      "parameters": [{"$ref": "#/components/parameters/Target"}],
      "post": {
        "operationId": "closeConnection",
        "summary": "Send 7.05 Abort, then close the connection",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "closed", "content": {"application/json": {"schema": {
            "type": "object", "required": ["closed", "id"],
            "properties": {"closed": {"type": "boolean"}, "id": {"type": "integer"}}
          }}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/NoConnection"}
        }
      }
    },
    "/v1/drain": {
      "post": {
        "operationId": "drain",
        "summary": "Stop accepting, Release every device and exit when empty (as SIGTERM)",
        "responses": {
          "202": {"description": "draining", "content": {"application/json": {"schema": {
            "type": "object", "required": ["draining"], "properties": {"draining": {"type": "boolean"}}
          }}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/v1/cluster": {
      "get": {
        "operationId": "getCluster",
        "summary": "Cluster mode: this instance's lease, Redis, ownership, moves and the instances in Redis",
        "responses": {
          "200": {"description": "{\"enabled\": false} for a single instance", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Cluster"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/v1/openapi.json": {
      "get": {
        "operationId": "getOpenApi",
        "summary": "This document",
        "responses": {
          "200": {"description": "the OpenAPI 3.0 document", "content": {"application/json": {"schema": {"type": "object"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearerAuth": {"type": "http", "scheme": "bearer", "description": "admin.token; not required when no token is configured"}
    },
    "parameters": {
      "Target": {"name": "target", "in": "path", "required": true, "description": "the endpoint name, percent-encoded (a%2Fb for a/b), or id:N for connection N", "schema": {"type": "string", "minLength": 1}}
    },
    "responses": {
      "BadRequest": {"description": "a bad query parameter or body", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "missing or wrong bearer token", "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "no connection or registration for the target", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NoConnection": {"description": "the device is registered but has no connection", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
      "State": {"type": "string", "enum": ["active", "idle", "pinging", "half_open", "unregistered", "closing", "sleeping", "away"]},
      "ConnectionRow": {
        "type": "object",
        "properties": {
          "id": {"type": "integer", "nullable": true},
          "endpoint": {"type": "string", "nullable": true},
          "state": {"$ref": "#/components/schemas/State"},
          "transport": {"type": "string", "enum": ["tcp", "tls"], "nullable": true},
          "remote": {"type": "string", "nullable": true},
          "connected_seconds": {"type": "number", "nullable": true},
          "idle_seconds": {"type": "number", "nullable": true},
          "last_rtt_ms": {"type": "number", "nullable": true},
          "registered": {"type": "boolean"},
          "queue_mode": {"type": "boolean"},
          "queued": {"type": "integer"},
          "observations": {"type": "integer"},
          "shard": {"type": "integer"},
          "flapping": {"type": "boolean"}
        }
      },
      "ConnectionList": {
        "type": "object",
        "required": ["count", "total", "connections", "next"],
        "properties": {
          "count": {"type": "integer", "description": "rows in this page"},
          "total": {"type": "integer", "description": "rows the filters match, on all pages, at the time of this page"},
          "connections": {"type": "array", "items": {"$ref": "#/components/schemas/ConnectionRow"}},
          "next": {"type": "string", "nullable": true, "description": "pass as `after` for the next page; null on the last page"}
        }
      },
      "ConnectionDetail": {
        "type": "object",
        "properties": {
          "endpoint": {"type": "string", "nullable": true},
          "state": {"$ref": "#/components/schemas/State"},
          "flapping": {"type": "boolean"},
          "connection": {"type": "object", "nullable": true},
          "keepalive": {"type": "object", "nullable": true},
          "registration": {"type": "object", "nullable": true},
          "queue": {"type": "object"},
          "observations": {"type": "array", "items": {"type": "object"}},
          "recent_closes": {"type": "array", "items": {"type": "object"}},
          "owner": {"type": "object", "description": "cluster mode only"}
        }
      },
      "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
          "status": {"type": "string", "enum": ["ok", "degraded", "failing"]},
          "reasons": {"type": "array", "items": {"type": "string"}},
          "version": {"type": "string"},
          "uptime_seconds": {"type": "integer"},
          "draining": {"type": "boolean"},
          "connections": {"type": "integer"},
          "registered": {"type": "integer"},
          "listeners": {"type": "array", "items": {"type": "object"}},
          "core": {"type": "object"}
        }
      },
      "Cluster": {
        "type": "object",
        "required": ["enabled"],
        "properties": {
          "enabled": {"type": "boolean"},
          "instance": {"type": "string"},
          "incarnation": {"type": "integer"},
          "lease": {"type": "object"},
          "redis": {"type": "object"},
          "endpoints": {"type": "object"},
          "moves": {"type": "object"},
          "instances": {"type": "array", "nullable": true, "items": {"type": "object"}},
          "instances_error": {"type": "string"},
          "instances_truncated": {"type": "boolean"}
        }
      }
    }
  }
})json";

}  // namespace

const nlohmann::json& openapi_document() {
    static const nlohmann::json document = nlohmann::json::parse(document_text, nullptr, false);
    return document;
}

const std::string& openapi_text() {
    static const std::string text = openapi_document().dump();
    return text;
}

}  // namespace lwgate::admin
