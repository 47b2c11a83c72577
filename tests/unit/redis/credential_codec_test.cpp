#include "redis/credential_codec.hpp"

#include <gtest/gtest.h>

namespace lwgate::redis {
namespace {

store::CredentialRecord sample() {
    store::CredentialRecord r;
    r.endpoint = "urn:imei:350000000000001";
    r.keys = {{"old-id", {0x00, 0xff, 0x10}, 1'700'000'000'000},
              {"new-id", std::vector<std::uint8_t>(64, 0xab), 1'700'000'100'000}};
    r.certificate_name = "device-1.example";
    r.from_config = true;
    r.updated = 1'700'000'100'000;
    return r;
}

TEST(CredentialCodec, RoundTrip) {
    const auto r = sample();
    auto decoded = decode_credential(encode_credential(r));
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(*decoded, r);
}

TEST(CredentialCodec, NamesAreEveryIdentityAndTheCertificateName) {
    EXPECT_EQ(credential_names(sample()), "psk:old-id\npsk:new-id\ncert:device-1.example\n");
    store::CredentialRecord bare;
    bare.endpoint = "e";
    EXPECT_EQ(credential_names(bare), "");
}

// Whatever is in Redis is checked, never trusted: each damage is named.
TEST(CredentialCodec, DamageIsReportedNotTrusted) {
    const std::pair<const char*, const char*> cases[] = {
        {"", "not a JSON object"},
        {"[1,2]", "not a JSON object"},
        {R"({"v":2,"endpoint":"e","keys":[],"certificate_name":""})", "format version"},
        {R"({"v":1,"keys":[],"certificate_name":""})", "no endpoint"},
        {R"({"v":1,"endpoint":"","keys":[],"certificate_name":""})", "no endpoint"},
        {R"({"v":1,"endpoint":"e","certificate_name":""})", "no keys"},
        {R"({"v":1,"endpoint":"e","keys":[{"identity":"i"}],"certificate_name":""})",
         "without identity"},
        {R"({"v":1,"endpoint":"e","keys":[{"identity":"i","key":"0g","added":1}],)"
         R"("certificate_name":""})",
         "hex"},
        {R"({"v":1,"endpoint":"e","keys":[{"identity":"i","key":"","added":1}],)"
         R"("certificate_name":""})",
         "hex"},
        {R"({"v":1,"endpoint":"e","keys":[]})", "certificate_name"},
    };
    for (const auto& [text, why] : cases) {
        auto decoded = decode_credential(text);
        ASSERT_FALSE(decoded) << text;
        EXPECT_NE(decoded.error().find(why), std::string::npos) << text << ": " << decoded.error();
    }
    std::string too_long = R"({"v":1,"endpoint":"e","keys":[{"identity":"i","key":")";
    too_long += std::string(130, 'a') + R"(","added":1}],"certificate_name":""})";
    EXPECT_FALSE(decode_credential(too_long)) << "a key over 64 bytes";
}

}  // namespace
}  // namespace lwgate::redis
