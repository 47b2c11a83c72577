#include "admin/openapi.hpp"

#include <string_view>

namespace lwgate::admin {

namespace {

// The document as data. Every route of router.cpp's table is here with its method, and nothing
// else (openapi_test.cpp checks both directions); the bearer token is a global requirement
// because the HTTP server checks it on every request, probes included, when admin.token is set,
// except GET / (the status page), whose operation overrides it with "security": [].
constexpr std::string_view document_text = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "lwgate admin API",
    "version": "1",
    "description": "Connection health and operator actions of a running lwgate. Every answer is JSON except /metrics; every error is {\"error\": \"...\"}. When admin.token is set, every request but GET / needs Authorization: Bearer <token> (401 with WWW-Authenticate: Bearer otherwise). GET / is the status page for a browser: it holds no data and reads this API with the token the operator enters."
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
      "parameters": [{"$ref": "#/components/parameters/Target"}, {"$ref": "#/components/parameters/By"}],
      "get": {
        "operationId": "getConnection",
        "summary": "Everything known about one device or connection",
        "responses": {
          "200": {"description": "the device", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConnectionDetail"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/v1/connections/{target}/ping": {
      "parameters": [{"$ref": "#/components/parameters/Target"}, {"$ref": "#/components/parameters/By"}],
      "post": {
        "operationId": "pingConnection",
        "summary": "Send a CoAP Ping now and measure the round trip",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {
          "type": "object",
          "properties": {
            "timeout_seconds": {"type": "number", "minimum": 0, "maximum": 60, "default": 5, "description": "how long to wait for the Pong, in seconds (0: the default)"},
            "timeout_ms": {"type": "integer", "minimum": 0, "maximum": 60000, "deprecated": true, "description": "the same in milliseconds (its earlier name, still understood); timeout_seconds wins"}
          }
        }}}},
        "responses": {
          "200": {"description": "the Pong came", "content": {"application/json": {"schema": {
            "type": "object", "required": ["rtt_seconds", "id"],
            "properties": {"rtt_seconds": {"type": "number"}, "id": {"type": "integer"}}
          }}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/NoConnection"},
          "504": {"description": "no Pong within timeout_seconds", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/v1/connections/{target}/release": {
      "parameters": [{"$ref": "#/components/parameters/Target"}, {"$ref": "#/components/parameters/By"}],
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
      "parameters": [{"$ref": "#/components/parameters/Target"}, {"$ref": "#/components/parameters/By"}],
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
    "/v1/reload": {
      "post": {
        "operationId": "reload",
        "summary": "Re-read the config file and apply what can change at run time (as SIGHUP), or only check it",
        "description": "The same reload as SIGHUP: a file with errors changes nothing and every error is listed with its key and line; otherwise every change is applied at run time or listed as needing a restart. With dry_run the file is read and compared with the running configuration, and nothing changes. The file is read by lwgate itself, with its permissions and its $CREDENTIALS_DIRECTORY.",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {
          "type": "object",
          "properties": {"dry_run": {"type": "boolean", "default": false, "description": "only check the file and say what a reload would change"}}
        }}}},
        "responses": {
          "200": {"description": "applied, or checked (dry_run)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reload"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "409": {"description": "started without --config, or draining", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReloadRefused"}}}},
          "422": {"description": "the file has errors; nothing changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReloadRefused"}}}},
          "503": {"description": "the gateway did not answer in time; a reload may still take place", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReloadRefused"}}}}
        }
      }
    },
    "/v1/credentials": {
      "get": {
        "operationId": "listCredentials",
        "summary": "A page of device credentials in endpoint order (identities and key fingerprints, never keys)",
        "parameters": [
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}},
          {"name": "after", "in": "query", "description": "the next cursor of the previous page", "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "one page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialPage"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "501": {"$ref": "#/components/responses/NoCredentialStore"}
        }
      },
      "post": {
        "operationId": "putCredential",
        "summary": "Add or replace an endpoint's credentials (one key); connections of a replaced key are closed",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialInput"}}}},
        "responses": {
          "200": {"description": "replaced", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialChange"}}}},
          "201": {"description": "added", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialChange"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "409": {"$ref": "#/components/responses/CredentialConflict"},
          "501": {"$ref": "#/components/responses/NoCredentialStore"},
          "503": {"$ref": "#/components/responses/StoreFailed"}
        }
      }
    },
    "/v1/credentials/import": {
      "post": {
        "operationId": "importCredentials",
        "summary": "One batch of a bulk import (CSV or JSON lines, up to 4 MiB), all or nothing",
        "parameters": [
          {"name": "format", "in": "query", "description": "csv or jsonl; default: JSON lines when the body starts with '{', else CSV", "schema": {"type": "string", "enum": ["csv", "jsonl"]}},
          {"name": "first_line", "in": "query", "description": "the line number of the body's first line in the operator's file (for errors; 1 also lets a CSV header line through)", "schema": {"type": "integer", "minimum": 1, "default": 1}}
        ],
        "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}},
        "responses": {
          "200": {"description": "imported", "content": {"application/json": {"schema": {
            "type": "object", "required": ["imported", "created", "replaced", "closed"],
            "properties": {"imported": {"type": "integer"}, "created": {"type": "integer"}, "replaced": {"type": "integer"}, "closed": {"type": "integer"}}
          }}}},
          "400": {"description": "bad lines (each named by its line); nothing imported", "content": {"application/json": {"schema": {
            "type": "object", "required": ["error", "error_count", "errors"],
            "properties": {"error": {"type": "string"}, "error_count": {"type": "integer"},
              "errors": {"type": "array", "items": {"type": "object", "properties": {"line": {"type": "integer"}, "error": {"type": "string"}}}}}
          }}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "409": {"$ref": "#/components/responses/CredentialConflict"},
          "413": {"description": "the body exceeds 4 MiB", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "501": {"$ref": "#/components/responses/NoCredentialStore"},
          "503": {"$ref": "#/components/responses/StoreFailed"}
        }
      }
    },
    "/v1/credentials/{target}": {
      "parameters": [{"$ref": "#/components/parameters/Endpoint"}],
      "get": {
        "operationId": "getCredential",
        "summary": "One endpoint's credentials",
        "responses": {
          "200": {"description": "the entry", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Credential"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NoCredential"}
        }
      },
      "delete": {
        "operationId": "removeCredential",
        "summary": "Remove an endpoint's credentials and close the connections that used them",
        "responses": {
          "200": {"description": "removed", "content": {"application/json": {"schema": {
            "type": "object", "required": ["removed", "closed"], "properties": {"removed": {"type": "string"}, "closed": {"type": "integer"}}
          }}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NoCredential"},
          "501": {"$ref": "#/components/responses/NoCredentialStore"},
          "503": {"$ref": "#/components/responses/StoreFailed"}
        }
      }
    },
    "/v1/credentials/{target}/rotate": {
      "parameters": [{"$ref": "#/components/parameters/Endpoint"}],
      "post": {
        "operationId": "rotateCredential",
        "summary": "Add a new identity and key next to the current one; both are accepted until retire",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["psk_identity", "psk_key_hex"],
          "properties": {"psk_identity": {"type": "string"}, "psk_key_hex": {"type": "string"}}
        }}}},
        "responses": {
          "200": {"description": "rotated", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialChange"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NoCredential"},
          "409": {"$ref": "#/components/responses/CredentialConflict"},
          "501": {"$ref": "#/components/responses/NoCredentialStore"},
          "503": {"$ref": "#/components/responses/StoreFailed"}
        }
      }
    },
    "/v1/credentials/{target}/retire": {
      "parameters": [{"$ref": "#/components/parameters/Endpoint"}],
      "post": {
        "operationId": "retireCredentialKey",
        "summary": "End a rotation: remove the older key (or the one named) and close its connections",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {
          "type": "object", "properties": {"psk_identity": {"type": "string"}}
        }}}},
        "responses": {
          "200": {"description": "retired", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialChange"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NoCredential"},
          "409": {"$ref": "#/components/responses/CredentialConflict"},
          "501": {"$ref": "#/components/responses/NoCredentialStore"},
          "503": {"$ref": "#/components/responses/StoreFailed"}
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
    "/": {
      "get": {
        "operationId": "getStatusPage",
        "summary": "The status page (HTML) for a browser: health, connections, one device, RTT and close-reason charts",
        "description": "Served without the token: the page holds no data; its script asks for the token and sends it on the API requests it makes. Served with a Content-Security-Policy that allows only the page's own inline script and style (by hash) and requests to this origin, Cache-Control: no-store and X-Content-Type-Options: nosniff.",
        "security": [],
        "responses": {
          "200": {"description": "the page", "content": {"text/html; charset=utf-8": {"schema": {"type": "string"}}}}
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
      "Target": {"name": "target", "in": "path", "required": true, "description": "the endpoint name, percent-encoded (a%2Fb for a/b), or id:N for connection N", "schema": {"type": "string", "minLength": 1}},
      "By": {"name": "by", "in": "query", "description": "endpoint: the target is an endpoint name even when it reads id:N (an endpoint may be called so); any other value is a 400", "schema": {"type": "string", "enum": ["endpoint"]}},
      "Endpoint": {"name": "target", "in": "path", "required": true, "description": "the endpoint name, percent-encoded (a%2Fb for a/b)", "schema": {"type": "string", "minLength": 1}}
    },
    "responses": {
      "BadRequest": {"description": "a bad query parameter or body", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "missing or wrong bearer token", "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "no connection or registration for the target", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NoConnection": {"description": "the device is registered but has no connection", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NoCredential": {"description": "no credentials for the endpoint", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "CredentialConflict": {"description": "the identity or certificate name belongs to another endpoint, a rotation to the identity in use, or nothing to retire; nothing changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NoCredentialStore": {"description": "the store (store.uri) keeps no credentials: they come from the YAML", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "StoreFailed": {"description": "the store refused the write; nothing changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
      "CredentialInput": {
        "type": "object", "required": ["endpoint", "psk_identity", "psk_key_hex"],
        "properties": {
          "endpoint": {"type": "string", "maxLength": 255},
          "psk_identity": {"type": "string", "maxLength": 128},
          "psk_key_hex": {"type": "string", "description": "1 to 64 bytes in hex", "maxLength": 128},
          "certificate_name": {"type": "string", "description": "a client certificate CN or subjectAltName that speaks for this endpoint", "maxLength": 255}
        }
      },
      "Credential": {
        "type": "object", "required": ["endpoint", "keys", "source", "updated"],
        "properties": {
          "endpoint": {"type": "string"},
          "keys": {"type": "array", "description": "oldest first; the last is current", "items": {"type": "object",
            "properties": {"psk_identity": {"type": "string"}, "fingerprint": {"type": "string", "description": "sha256: and the first 8 bytes of SHA-256(key) in hex"}, "added": {"type": "string", "format": "date-time"}}}},
          "certificate_name": {"type": "string"},
          "source": {"type": "string", "enum": ["config", "api"]},
          "updated": {"type": "string", "format": "date-time"}
        }
      },
      "CredentialChange": {"allOf": [{"$ref": "#/components/schemas/Credential"}, {"type": "object", "required": ["closed"], "properties": {"closed": {"type": "integer", "description": "connections closed because their identity is no longer valid"}}}]},
      "CredentialPage": {
        "type": "object", "required": ["count", "total", "credentials", "next"],
        "properties": {
          "count": {"type": "integer"}, "total": {"type": "integer"},
          "credentials": {"type": "array", "items": {"$ref": "#/components/schemas/Credential"}},
          "next": {"type": "string", "nullable": true}
        }
      },
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
          "last_rtt_seconds": {"type": "number", "nullable": true},
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
          "core": {"type": "object", "properties": {
            "uri": {"type": "string"},
            "reachable": {"type": "boolean"},
            "last_response_seconds_ago": {"type": "number", "nullable": true},
            "failures_total": {"type": "integer"},
            "probe": {"type": "object", "nullable": true, "description": "the active check (upstream.probe_interval); null when off", "properties": {
              "state": {"type": "string", "enum": ["unknown", "ok", "failing"]},
              "interval_seconds": {"type": "number"},
              "timeout_seconds": {"type": "number"},
              "max_missed": {"type": "integer"},
              "missed_in_a_row": {"type": "integer"},
              "sent": {"type": "integer"},
              "answered": {"type": "integer"},
              "missed": {"type": "integer"},
              "last_answer_seconds_ago": {"type": "number", "nullable": true},
              "last_rtt_seconds": {"type": "number", "nullable": true},
              "last_error": {"type": "string", "nullable": true}
            }}
          }}
        }
      },
      "ReloadChange": {
        "type": "object", "required": ["key", "from", "to"],
        "properties": {"key": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"}}
      },
      "Reload": {
        "type": "object",
        "required": ["outcome", "dry_run", "config", "applied", "needs_restart"],
        "properties": {
          "outcome": {"type": "string", "enum": ["applied", "checked"]},
          "dry_run": {"type": "boolean"},
          "config": {"type": "string", "description": "the file read"},
          "applied": {"type": "array", "description": "applied at run time (with dry_run: would be)", "items": {"$ref": "#/components/schemas/ReloadChange"}},
          "needs_restart": {"type": "array", "description": "changed in the file, in force only after a restart; `from` is the value still in force", "items": {"$ref": "#/components/schemas/ReloadChange"}}
        }
      },
      "ReloadRefused": {
        "type": "object",
        "required": ["error", "outcome"],
        "properties": {
          "error": {"type": "string"},
          "outcome": {"type": "string", "enum": ["config_errors", "no_config_file", "draining", "no_answer", "unsupported"]},
          "config": {"type": "string"},
          "errors": {"type": "array", "items": {
            "type": "object", "required": ["key", "line", "message"],
            "properties": {
              "key": {"type": "string", "description": "the key path, e.g. keepalive.idle (empty for a YAML syntax error)"},
              "line": {"type": "integer", "description": "1-based; 0 when unknown"},
              "message": {"type": "string"},
              "file": {"type": "string", "description": "set when the error is in another file (credentials_file)"}
            }
          }}
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
