#include "lwgate/device/stream.hpp"

#include <gtest/gtest.h>

namespace lwgate::device {
namespace {

TEST(TlsClientContextTest, ACertificateThatIsNotThereIsACredentialsError) {
    TlsOptions options;
    options.certificate_file = "/nonexistent/client.pem";
    const auto created = TlsClientContext::create(options);
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().code, DeviceErrc::tls_credentials);
    EXPECT_EQ(created.error().detail.rfind("certificate /nonexistent/client.pem: ", 0), 0u)
        << created.error().detail;
    EXPECT_EQ(created.error().code.category().name(), std::string("lwgate.device"));
}

TEST(TlsClientContextTest, BadListsAndAlpnSayWhichStepFailed) {
    TlsOptions ciphers;
    ciphers.cipher_list = "NO-SUCH-CIPHER";
    const auto bad_ciphers = TlsClientContext::create(ciphers);
    ASSERT_FALSE(bad_ciphers);
    EXPECT_EQ(bad_ciphers.error().code, DeviceErrc::tls_ciphers);
    EXPECT_EQ(bad_ciphers.error().detail.rfind("cipher_list: ", 0), 0u);

    TlsOptions alpn;
    alpn.alpn = {""};
    const auto bad_alpn = TlsClientContext::create(alpn);
    ASSERT_FALSE(bad_alpn);
    EXPECT_EQ(bad_alpn.error().code, DeviceErrc::tls_alpn);
    EXPECT_EQ(bad_alpn.error().message(), "bad ALPN: bad ALPN protocol name");
}

TEST(TlsClientContextTest, TheDefaultsMakeAContextAndAStream) {
    const auto context = TlsClientContext::create(TlsOptions{});
    ASSERT_TRUE(context) << context.error().message();
    const auto stream = TlsStream::create(*context, -1, "localhost");
    ASSERT_TRUE(stream) << stream.error().message();
    EXPECT_EQ((*stream)->psk().identity, "");
}

}  // namespace
}  // namespace lwgate::device
