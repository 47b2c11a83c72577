// The simulator's pure parts: LwM2M paths, the object model and its encodings, block options,
// URIs and hex keys.
#include <gtest/gtest.h>

#include "lwgate/coap/option.hpp"
#include "lwgate/devsim/coap_util.hpp"
#include "lwgate/devsim/object_model.hpp"

namespace lwgate::devsim {
namespace {

TEST(DevsimPathTest, ParsesAndPrints) {
    EXPECT_EQ(Path::parse("/3/0/1"), Path(3, 0, 1));
    EXPECT_EQ(Path::parse("3/0"), Path(3, 0));
    EXPECT_EQ(Path::parse("/3/0/"), Path(3, 0));
    EXPECT_EQ(Path::parse("/"), Path());
    EXPECT_EQ(Path::parse(""), Path());
    EXPECT_FALSE(Path::parse("/3//1"));
    EXPECT_FALSE(Path::parse("/3/x"));
    EXPECT_FALSE(Path::parse("/65536"));
    EXPECT_FALSE(Path::parse("/3/0/1/0"));
    EXPECT_FALSE(Path::from_segments({"rd"}));
    EXPECT_EQ(Path::from_segments({"5", "0", "0"}), Path(5, 0, 0));
    EXPECT_EQ(Path(3, 0, 13).to_string(), "/3/0/13");
    EXPECT_EQ(Path().to_string(), "/");
    EXPECT_TRUE(Path(3).contains(Path(3, 0, 1)));
    EXPECT_TRUE(Path(3, 0).contains(Path(3, 0)));
    EXPECT_FALSE(Path(3, 0, 1).contains(Path(3, 0)));
    EXPECT_FALSE(Path(3, 1).contains(Path(3, 0, 1)));
    EXPECT_TRUE(Path().contains(Path(5)));
}

TEST(DevsimObjectModelTest, DefaultDeviceModelAndRegisterLinks) {
    const auto m = ObjectModel::default_device("SN1", 120);
    EXPECT_EQ(m.register_links(), "</1/0>,</3/0>,</5/0>");
    ASSERT_NE(m.find(Path(3, 0, 0)), nullptr);
    EXPECT_EQ(m.find(Path(3, 0, 0))->text(), "lwgate");
    EXPECT_EQ(m.find(Path(3, 0, 2))->text(), "SN1");
    EXPECT_EQ(m.find(Path(1, 0, 1))->text(), "120");
    const Resource* blob = m.find(Path(5, 0, 0));
    ASSERT_NE(blob, nullptr);
    EXPECT_EQ(blob->content_format, content_format::octet_stream);
    EXPECT_EQ(blob->bytes().size(), 65536u);
    EXPECT_EQ(blob->value, ObjectModel::large_blob()) << "shared, not copied";
    EXPECT_EQ(blob->bytes()[300], static_cast<std::uint8_t>((300 * 7 + 1) & 0xff));
    ASSERT_NE(m.find(Path(3, 0, 4)), nullptr);
    EXPECT_TRUE(m.find(Path(3, 0, 4))->executable);
    EXPECT_EQ(m.senml_json(Path(5, 0)).find("/5/0/2"), std::string::npos) << "no value";
}

TEST(DevsimObjectModelTest, SenmlJsonIsDeterministic) {
    ObjectModel m;
    m.set_text(Path(3, 0, 1), "b\"q");
    m.set_text(Path(3, 0, 0), "a");
    m.set(Path(3, 0, 5), {0xfb, 0xff}, content_format::octet_stream);
    EXPECT_EQ(m.senml_json(Path(3, 0)),
              R"([{"n":"/3/0/0","vs":"a"},{"n":"/3/0/1","vs":"b\"q"},{"n":"/3/0/5","vd":"-_8"}])");
    EXPECT_EQ(m.senml_json(Path(3, 0, 1)), R"([{"n":"/3/0/1","vs":"b\"q"}])");
    m.set_text(Path(3, 0, 2), "a\nb\x01\xff");
    EXPECT_EQ(m.senml_json(Path(3, 0, 2)), R"([{"n":"/3/0/2","vs":"a\nb\u0001)"
                                           "\xef\xbf\xbd\"}]")
        << "control characters escaped, invalid UTF-8 replaced";
    EXPECT_EQ(m.senml_json(std::vector<Path>{Path(3, 0, 5), Path(3, 0, 0)}),
              R"([{"n":"/3/0/5","vd":"-_8"},{"n":"/3/0/0","vs":"a"}])");
    m.add_instance(4, 0);
    EXPECT_EQ(m.senml_json(Path(4, 0)), "[]");
}

TEST(DevsimObjectModelTest, DiscoverWithAttributes) {
    ObjectModel m;
    m.set_text(Path(3, 0, 0), "a");
    m.set_text(Path(3, 0, 13), "0");
    m.set_attributes(Path(3, 0, 13), {"pmin=1", "pmax=5"});
    m.set_attributes(Path(3, 0, 13), {"pmax=10"});
    EXPECT_EQ(m.discover_links(Path(3)), "</3>,</3/0>,</3/0/0>,</3/0/13>;pmin=1;pmax=10");
    EXPECT_EQ(m.discover_links(Path(3, 0)), "</3/0>,</3/0/0>,</3/0/13>;pmin=1;pmax=10");
    EXPECT_EQ(m.discover_links(Path(3, 0, 0)), "</3/0/0>");
}

TEST(DevsimObjectModelTest, CreateAndRemoveInstances) {
    ObjectModel m;
    m.add_instance(3, 0);
    m.add_instance(3, 2);
    EXPECT_EQ(m.create_instance(3), 1);
    EXPECT_EQ(m.create_instance(3), 3);
    EXPECT_EQ(m.instances(3), (std::vector<std::uint16_t>{0, 1, 2, 3}));
    EXPECT_TRUE(m.remove_instance(3, 1));
    EXPECT_FALSE(m.remove_instance(3, 1));
    EXPECT_TRUE(m.exists(Path(3)));
    EXPECT_FALSE(m.exists(Path(3, 1)));
    m.add_object(7);
    EXPECT_EQ(m.register_links(), "</3/0>,</3/2>,</3/3>,</7>");
    EXPECT_TRUE(m.remove_object(3));
    EXPECT_FALSE(m.exists(Path(3, 0)));
}

TEST(DevsimObjectModelTest, SenmlNamesFromReadCompositeBodies) {
    EXPECT_EQ(senml_names(R"([{"n":"/3/0/0"},{"n" : "/1/0/1"}])"),
              (std::vector<std::string>{"/3/0/0", "/1/0/1"}));
    EXPECT_EQ(senml_names(R"([{"bn":"/3/0/","n":"0"},{"n":"1"}])"),
              (std::vector<std::string>{"/3/0/0", "/3/0/1"}));
    EXPECT_TRUE(senml_names("garbage \"n\":").empty());
    EXPECT_TRUE(senml_names(R"({"n":"/3/0/0"})").empty()) << "SenML is an array";
    EXPECT_EQ(senml_names(R"([{"n":"/3/0/0"},7,{"n":1},{"n":"/3/0/\"1"}])"),
              (std::vector<std::string>{"/3/0/0", "/3/0/\"1"}))
        << "what is not a record with a string name is skipped";
}

TEST(DevsimBase64UrlTest, NoPadding) {
    const std::string s = "hello";
    EXPECT_EQ(base64url(coap::ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())),
              "aGVsbG8");
    EXPECT_EQ(base64url({}), "");
}

TEST(DevsimBlockOptionTest, EncodeDecode) {
    const BlockOption b{63, false, 6};
    EXPECT_EQ(b.value(), (63u << 4) | 6u);
    EXPECT_EQ(b.size(), 1024u);
    EXPECT_EQ(b.offset(), 63u * 1024);
    coap::Message m(coap::code::get);
    set_block_option(m, coap::option::block2, BlockOption{1, true, 4});
    set_block_option(m, coap::option::block2, BlockOption{2, true, 4});
    ASSERT_EQ(m.find_options(coap::option::block2).size(), 1u);
    EXPECT_EQ(block_option(m, coap::option::block2), (BlockOption{2, true, 4}));
    EXPECT_EQ(BlockOption::decode({}), (BlockOption{0, false, 0}));
    const coap::Bytes too_long{1, 2, 3, 4};
    EXPECT_FALSE(BlockOption::decode(too_long));
    EXPECT_EQ((BlockOption{0, false, 7}.size()), 1024u) << "BERT unit";
    EXPECT_EQ(szx_at_most(1024), 6);
    EXPECT_EQ(szx_at_most(1000), 5);
    EXPECT_EQ(szx_at_most(5000), 6);
    EXPECT_EQ(szx_at_most(10), 0);
}

TEST(DevsimCoapUtilTest, PathsAndQueries) {
    coap::Message m(coap::code::post);
    add_uri_path(m, "/rd/abc");
    m.add_option(coap::option::uri_query, "lt=5");
    EXPECT_EQ(uri_path(m), (std::vector<std::string>{"rd", "abc"}));
    EXPECT_EQ(uri_path_string(m), "/rd/abc");
    EXPECT_EQ(uri_queries(m), (std::vector<std::string>{"lt=5"}));
    EXPECT_EQ(uri_path_string(coap::Message(coap::code::get)), "/");
    coap::Message r(coap::code::created);
    r.add_option(coap::option::location_path, "rd");
    r.add_option(coap::option::location_path, "x1");
    EXPECT_EQ(location_path_string(r), "/rd/x1");
}

TEST(DevsimCoapUtilTest, ServerUris) {
    auto u = parse_server_uri("coap+tcp://127.0.0.1:40123");
    ASSERT_TRUE(u);
    EXPECT_FALSE(u->tls);
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, 40123);
    u = parse_server_uri("coaps+tcp://[::1]/x");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->tls);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 5684);
    u = parse_server_uri("coap+tcp://gw.example");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->port, 5683);
    EXPECT_FALSE(parse_server_uri("coap://127.0.0.1"));
    EXPECT_FALSE(parse_server_uri("coap+tcp://127.0.0.1:"));
    EXPECT_FALSE(parse_server_uri("coap+tcp://127.0.0.1:70000"));
    EXPECT_FALSE(parse_server_uri("coap+tcp://::1:5683"));
    EXPECT_FALSE(parse_server_uri("coap+tcp://"));
}

TEST(DevsimCoapUtilTest, Hex) {
    EXPECT_EQ(parse_hex("00a1FF"), (coap::Bytes{0x00, 0xa1, 0xff}));
    EXPECT_FALSE(parse_hex("abc"));
    EXPECT_FALSE(parse_hex("zz"));
    EXPECT_EQ(to_hex(coap::Bytes{0x0f, 0xa0}), "0fa0");
}

}  // namespace
}  // namespace lwgate::devsim
