// TlsErrc as a std::error_code (gateway/net/tls_error.hpp), and the code
// TlsServerContext::create() fails with for each file of a listener's tls section. The
// certificates are made here (a throwaway P-256 key, self-signed), no network.
#include "net/tls_context.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "net/tls_error.hpp"

namespace lwgate::net {
namespace {

namespace fs = std::filesystem;

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
    void operator()(X509* c) const { X509_free(c); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

CertPtr self_signed(EVP_PKEY* key) {
    CertPtr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("lwgate-test"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509_sign(cert.get(), key, EVP_sha256());
    return cert;
}

class TlsContextErrors : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("lwgate-tls-error-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
        KeyPtr key(EVP_EC_gen("P-256"));
        KeyPtr other(EVP_EC_gen("P-256"));
        KeyPtr rsa(EVP_RSA_gen(2048));
        ASSERT_TRUE(key && other && rsa);
        auto cert = self_signed(key.get());
        write([&](FILE* f) { return PEM_write_X509(f, cert.get()); }, "cert.pem");
        write(
            [&](FILE* f) {
                return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
            },
            "key.pem");
        write(
            [&](FILE* f) {
                return PEM_write_PrivateKey(f, other.get(), nullptr, nullptr, 0, nullptr, nullptr);
            },
            "other-key.pem");
        write(
            [&](FILE* f) {
                return PEM_write_PrivateKey(f, rsa.get(), nullptr, nullptr, 0, nullptr, nullptr);
            },
            "rsa-key.pem");
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    template <class Write>
    void write(Write pem, const std::string& name) {
        FILE* f = std::fopen(path(name).c_str(), "w");
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(pem(f), 1);
        std::fclose(f);
    }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    // The code create() fails with, after checking that it failed.
    std::error_code failure(const config::TlsConfig& tls) {
        auto created = TlsServerContext::create(tls, nullptr);
        if (created) {
            ADD_FAILURE() << "created";
            return {};
        }
        detail_ = created.error().detail;
        return created.error().code;
    }

    fs::path dir_;
    std::string detail_;
};

TEST(TlsErrc, IsAnErrorCodeEnum) {
    const std::error_code ec = TlsErrc::key_mismatch;  // implicit: is_error_code_enum
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec, TlsErrc::key_mismatch);
    EXPECT_NE(ec, TlsErrc::private_key);
    EXPECT_EQ(&ec.category(), &tls_category());
    EXPECT_STREQ(ec.category().name(), "lwgate.tls");
    EXPECT_EQ(ec.message(), "TLS private key does not match the certificate");
}

TEST(TlsErrc, EveryValueHasItsOwnMessage) {
    const TlsErrc all[] = {TlsErrc::cipher_list, TlsErrc::certificate, TlsErrc::private_key,
                           TlsErrc::key_mismatch, TlsErrc::ca};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        for (std::size_t j = i + 1; j < std::size(all); ++j) {
            EXPECT_NE(make_error_code(all[i]).message(), make_error_code(all[j]).message());
        }
        EXPECT_EQ(make_error_code(all[i]).message().find("unknown"), std::string::npos);
    }
    EXPECT_EQ(tls_category().message(99), "unknown lwgate.tls error 99");
}

TEST_F(TlsContextErrors, CertificateAndMatchingKeyWork) {
    config::TlsConfig tls;
    tls.certificate = path("cert.pem");
    tls.private_key = path("key.pem");
    tls.ca = path("cert.pem");
    auto created = TlsServerContext::create(tls, nullptr);
    EXPECT_TRUE(created) << created.error().message();
}

TEST_F(TlsContextErrors, CertificateNotPem) {
    config::TlsConfig tls;
    tls.certificate = path("key.pem");
    tls.private_key = path("key.pem");
    EXPECT_EQ(failure(tls), TlsErrc::certificate);
    EXPECT_EQ(detail_.rfind("certificate " + path("key.pem") + ": ", 0), 0u) << detail_;
}

TEST_F(TlsContextErrors, PrivateKeyMissing) {
    config::TlsConfig tls;
    tls.certificate = path("cert.pem");
    tls.private_key = path("none.pem");
    EXPECT_EQ(failure(tls), TlsErrc::private_key);
    EXPECT_EQ(detail_.rfind("private_key " + path("none.pem"), 0), 0u) << detail_;
}

// OpenSSL compares a key with the certificate of its own type as it loads it.
TEST_F(TlsContextErrors, AnotherKeyOfTheCertificatesType) {
    config::TlsConfig tls;
    tls.certificate = path("cert.pem");
    tls.private_key = path("other-key.pem");
    EXPECT_EQ(failure(tls), TlsErrc::private_key);
    EXPECT_EQ(detail_.rfind("private_key " + path("other-key.pem") + ": ", 0), 0u) << detail_;
}

// A key of another type loads (into a slot of its own) and is found not to match afterwards.
TEST_F(TlsContextErrors, KeyOfAnotherType) {
    config::TlsConfig tls;
    tls.certificate = path("cert.pem");
    tls.private_key = path("rsa-key.pem");
    EXPECT_EQ(failure(tls), TlsErrc::key_mismatch);
    EXPECT_EQ(detail_.rfind("private_key does not match certificate", 0), 0u) << detail_;
}

TEST_F(TlsContextErrors, CaMissing) {
    config::TlsConfig tls;
    tls.psk = true;
    tls.ca = path("none.pem");
    EXPECT_EQ(failure(tls), TlsErrc::ca);
    EXPECT_EQ(detail_.rfind("ca " + path("none.pem"), 0), 0u) << detail_;
}

}  // namespace
}  // namespace lwgate::net
