#include "credentials/import_format.hpp"

#include <gtest/gtest.h>

namespace lwgate::credentials {
namespace {

TEST(ImportFormat, CsvWithHeaderQuotesAndCertificateName) {
    const auto parsed = parse_import(
        "endpoint,psk_identity,psk_key_hex,certificate_name\n"
        "urn:imei:1,id-1,00112233\n"
        "\"urn:a,b\",\"id \"\"2\"\"\",aabb,cn-2\r\n"
        "# a comment\n"
        "\n",
        ImportFormat::csv, 1, 7);
    ASSERT_EQ(parsed.error_count, 0u) << parsed.errors.front().message;
    ASSERT_EQ(parsed.records.size(), 2u);
    EXPECT_EQ(parsed.records[1].endpoint, "urn:a,b");
    EXPECT_EQ(parsed.records[1].keys.front().identity, "id \"2\"");
    EXPECT_EQ(parsed.records[1].certificate_name, "cn-2");
    EXPECT_EQ(parsed.records[0].keys.front().key, (std::vector<std::uint8_t>{0, 0x11, 0x22, 0x33}));
    EXPECT_EQ(parsed.records[0].keys.front().added, 7);
    EXPECT_EQ(parsed.lines, (std::vector<std::size_t>{2, 3}));
}

TEST(ImportFormat, JsonLines) {
    const auto parsed = parse_import(
        R"({"endpoint": "e1", "psk_identity": "i1", "psk_key_hex": "0a0b"})"
        "\n"
        R"({"endpoint": "e2", "psk_identity": "i2", "psk_key_hex": "0c", "certificate_name": "x"})",
        ImportFormat::jsonl, 1, 0);
    ASSERT_EQ(parsed.error_count, 0u);
    ASSERT_EQ(parsed.records.size(), 2u);
    EXPECT_EQ(parsed.records[1].certificate_name, "x");
}

TEST(ImportFormat, EveryBadLineIsNamedByItsLineInTheFile) {
    const auto parsed = parse_import(
        "e1,i1,zz\n"    // 101: not hex
        "e2,i2\n"       // 102: two fields
        "e3,i3,abc\n"   // 103: odd digits
        "\"e4,i4,aa\n"  // 104: open quote
        "e5,,aa\n"      // 105: empty identity
        "e6,i6,aa\n"    // 106: fine
        "e6,i7,aa\n"    // 107: endpoint twice
        "e8,i6,aa\n"    // 108: identity twice
        "e9,i9," +
            std::string(130, 'a') + "\n",  // 109: key longer than 64 bytes
        ImportFormat::csv, 101, 0);
    EXPECT_EQ(parsed.error_count, 8u);
    std::vector<std::size_t> lines;
    for (const auto& e : parsed.errors)
        lines.push_back(e.line);
    EXPECT_EQ(lines, (std::vector<std::size_t>{101, 102, 103, 104, 105, 107, 108, 109}));
    ASSERT_EQ(parsed.records.size(), 1u);
}

TEST(ImportFormat, BadJsonLinesAreRefused) {
    const auto parsed = parse_import(
        "{\"endpoint\": \"e\"\n"
        "[1,2]\n"
        "{\"endpoint\": \"e\", \"psk_identity\": \"i\", \"psk_key_hex\": \"aa\", \"extra\": 1}\n"
        "{\"endpoint\": 5, \"psk_identity\": \"i\", \"psk_key_hex\": \"aa\"}\n"
        "{\"endpoint\": \"e\\u0001\", \"psk_identity\": \"i\", \"psk_key_hex\": \"aa\"}\n",
        ImportFormat::jsonl, 1, 0);
    EXPECT_EQ(parsed.error_count, 5u);
    EXPECT_TRUE(parsed.records.empty());
}

TEST(ImportFormat, ErrorsAreCappedButCounted) {
    std::string body;
    for (int i = 0; i < 500; ++i)
        body += "bad\n";
    const auto parsed = parse_import(body, ImportFormat::csv, 1, 0, 10);
    EXPECT_EQ(parsed.error_count, 500u);
    EXPECT_EQ(parsed.errors.size(), 10u);
}

TEST(ImportFormat, AnyPrefixOfALineIsHandledWithoutACrash) {
    const std::string line = "\"urn:x\",\"id\",\"00ff\",\"cn\"\n{\"endpoint\":\"a\"}\n";
    for (std::size_t cut = 0; cut <= line.size(); ++cut) {
        (void)parse_import(line.substr(0, cut), ImportFormat::csv, 1, 0);
        (void)parse_import(line.substr(0, cut), ImportFormat::jsonl, 1, 0);
    }
}

TEST(ImportFormat, FormatNames) {
    EXPECT_EQ(import_format_of("text/csv; charset=utf-8"), ImportFormat::csv);
    EXPECT_EQ(import_format_of("jsonl"), ImportFormat::jsonl);
    EXPECT_EQ(import_format_of("application/x-ndjson"), ImportFormat::jsonl);
    EXPECT_FALSE(import_format_of("xml"));
}

}  // namespace
}  // namespace lwgate::credentials
