#include "lwgate/harness/test_certificates.hpp"

#include <chrono>
#include <vector>

#include "lwgate/harness/error.hpp"
#include "lwgate/harness/process.hpp"

namespace lwgate::harness {

namespace {

void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    const auto r = run_process(args, Millis{30'000});
    if (r.exit_code != 0) throw HarnessError("openssl " + args.at(1) + " failed: " + r.err);
}

// `openssl req` arguments for a new EC P-256 key.
std::vector<std::string> new_key(std::vector<std::string> head, const std::string& key,
                                 std::vector<std::string> tail) {
    head.insert(head.end(), {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", key});
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
}

}  // namespace

TestCertificates make_test_certificates(const TempDir& dir, const std::string& client_cn) {
    const auto p = [&](const char* name) { return (dir / name).string(); };
    TestCertificates c{dir / "ca.pem",     dir / "server.pem", dir / "server.key",
                       dir / "client.pem", dir / "client.key", dir / "rogue.pem",
                       dir / "rogue.key"};
    openssl(new_key({"req", "-x509"}, p("ca.key"),
                    {"-out", p("ca.pem"), "-days", "2", "-subj", "/CN=lwgate test CA"}));
    dir.write_file("san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl(new_key({"req"}, p("server.key"), {"-out", p("server.csr"), "-subj", "/CN=localhost"}));
    openssl({"x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
             "-CAcreateserial", "-out", p("server.pem"), "-days", "2", "-extfile", p("san.ext")});
    openssl(
        new_key({"req"}, p("client.key"), {"-out", p("client.csr"), "-subj", "/CN=" + client_cn}));
    // Subject Alternative Names a device certificate may carry (the bridge accepts the CN or any
    // DNS/URI SAN as the endpoint name).
    dir.write_file("client-san.ext",
                   "subjectAltName=URI:urn:san:" + client_cn + ",DNS:" + client_cn + ".example\n");
    openssl({"x509", "-req", "-in", p("client.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
             "-CAcreateserial", "-out", p("client.pem"), "-days", "2", "-extfile",
             p("client-san.ext")});
    openssl(new_key({"req", "-x509"}, p("rogue.key"),
                    {"-out", p("rogue.pem"), "-days", "2", "-subj", "/CN=" + client_cn}));
    return c;
}

}  // namespace lwgate::harness
