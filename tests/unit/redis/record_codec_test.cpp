// DeviceRecord <-> Redis hash fields (gateway/redis/record_codec.hpp): a round trip keeps every
// field, and a damaged hash is reported, never trusted.
#include "redis/record_codec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace lwgate::redis {
namespace {

using ::testing::HasSubstr;

store::DeviceRecord full_record() {
    store::DeviceRecord r;
    r.endpoint = "urn:imei:1";
    r.location = {"rd", "5"};
    r.lifetime = 86400;
    r.deadline = 1'700'000'000'123;
    r.queue_mode = true;
    r.binding = "UQ";
    r.version = "1.1";
    r.register_query = "ep=urn:imei:1&lt=86400&b=U";
    r.authenticated = true;
    r.object_links = {'<', '/', '3', '>', 0, 0xff};
    r.local_address = "10.0.0.2";
    r.local_port = 40123;
    r.observations = {{{1, 2, 0}, "/3/0/13", 0xffffff, {0x41, 0x00, 0xff}}, {{}, "/3/0", 7, {}}};
    r.queued = {{{9}, {0x11, 0x22}, -5}, {{0, 0, 0, 0, 0, 0, 0, 1}, {}, 1'700'000'000'000}};
    return r;
}

std::string& field(std::vector<Field>& fields, const std::string& name) {
    return std::find_if(fields.begin(), fields.end(), [&](auto& f) { return f.first == name; })
        ->second;
}

TEST(RecordCodec, KeyCarriesTheEndpointAsHashTag) {
    EXPECT_EQ(device_key("urn:imei:1"), "lwgate:dev:{urn:imei:1}");
}

TEST(RecordCodec, RoundTripKeepsEverything) {
    const auto r = full_record();
    auto decoded = decode_record(encode_record(r));
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(*decoded, r);
}

TEST(RecordCodec, RoundTripOfAnEmptyRecord) {
    store::DeviceRecord r;
    r.endpoint = "e";
    auto decoded = decode_record(encode_record(r));
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(*decoded, r);
}

TEST(RecordCodec, ScalarsAreReadableText) {
    auto fields = encode_record(full_record());
    EXPECT_EQ(field(fields, "location"), "/rd/5");
    EXPECT_EQ(field(fields, "lifetime"), "86400");
    EXPECT_EQ(field(fields, "queue_mode"), "1");
    EXPECT_EQ(field(fields, "local_port"), "40123");
}

TEST(RecordCodec, MissingFieldIsNamed) {
    auto fields = encode_record(full_record());
    fields.erase(fields.begin() + 3);
    auto decoded = decode_record(fields);
    ASSERT_FALSE(decoded);
    EXPECT_THAT(decoded.error(), HasSubstr("field 'lifetime' missing"));
}

TEST(RecordCodec, BadNumbersAreNamed) {
    const std::pair<const char*, const char*> cases[] = {
        {"lifetime", "-1"},      {"lifetime", "4294967296"}, {"deadline", "x"},
        {"local_port", "65536"}, {"local_port", ""},         {"v", "2"}};
    for (const auto& [name, value] : cases) {
        auto fields = encode_record(full_record());
        field(fields, name) = value;
        auto decoded = decode_record(fields);
        ASSERT_FALSE(decoded) << name << "=" << value;
        EXPECT_THAT(decoded.error(), HasSubstr(name == std::string("v") ? "format" : name));
    }
}

TEST(RecordCodec, EveryTruncationOfTheBlobsIsRejected) {
    for (const char* name : {"observations", "queued"}) {
        const auto good = encode_record(full_record());
        auto fields = good;
        const auto blob = field(fields, name);
        for (std::size_t n = 0; n < blob.size(); ++n) {
            field(fields, name) = blob.substr(0, n);
            auto decoded = decode_record(fields);
            EXPECT_FALSE(decoded) << name << " cut to " << n;
            if (!decoded) {
                EXPECT_THAT(decoded.error(), HasSubstr(name));
            }
        }
        field(fields, name) = blob + "x";
        EXPECT_FALSE(decode_record(fields)) << name << " with trailing bytes";
    }
}

TEST(RecordCodec, HugeCountsDoNotAllocate) {
    auto fields = encode_record(full_record());
    field(fields, "observations") = std::string("\xff\xff\xff\xff", 4);
    field(fields, "queued") = std::string("\x7f\xff\xff\xff\x00\x00\x00\x01", 8);
    EXPECT_FALSE(decode_record(fields));
}

}  // namespace
}  // namespace lwgate::redis
