// Throw-away certificates for TLS tests, made with the openssl command-line tool: a CA, a
// server certificate for 127.0.0.1/localhost signed by it, a client certificate signed by it
// (CN = client_cn, the device's endpoint name), and a self-signed "rogue" client certificate
// with the same CN that a gateway must refuse. EC P-256 keys, valid for two days.
#pragma once

#include <filesystem>
#include <string>

#include "lwgate/harness/temp_dir.hpp"

namespace lwgate::harness {

struct TestCertificates {
    std::filesystem::path ca;  // ca.pem
    std::filesystem::path server_certificate, server_key;
    // CN = client_cn; SANs: URI urn:san:<client_cn>, DNS <client_cn>.example
    std::filesystem::path client_certificate, client_key;
    std::filesystem::path rogue_certificate, rogue_key;
};

// Writes the files into `dir`. Throws HarnessError when openssl fails or is missing.
TestCertificates make_test_certificates(const TempDir& dir, const std::string& client_cn);

}  // namespace lwgate::harness
