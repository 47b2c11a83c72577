// GET /v1/connections a page at a time: the order, the cursor, the bounds of `limit`, and what
// connections coming and going between two pages do to the next one.
#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include <gmock/gmock.h>

#include "admin/api.hpp"
#include "admin/json_views.hpp"
#include "snapshot_builder.hpp"
#include "unit/admin/no_backend.hpp"

namespace lwgate::admin {
namespace {

using namespace test;
using nlohmann::json;
using ::testing::HasSubstr;
using Query = std::multimap<std::string, std::string>;

// Seven rows over two shards: connected devices, a sleeping and an away one (no connection),
// a connection bound to no endpoint yet, and an endpoint with two connections.
Snapshot fleet() {
    auto s = snapshot(2);
    s.shards[0].connections = {connection(4, "dev-c"), connection(9, std::nullopt, false),
                               connection(2, "dev-a")};
    s.shards[1].connections = {connection(7, "dev-e", true, 1), connection(3, "dev-c", true, 1)};
    s.shards[0].devices = {device("dev-a", 2), device("dev-c", 4),
                           device("dev-b", std::nullopt, true)};
    s.shards[1].devices = {device("dev-e", 7, false, 1), device("dev-d", 99, false, 1)};
    return s;
}

// "endpoint#id" of every row of an answer, in order ("-" for no endpoint, "0" for no id).
std::vector<std::string> keys(const json& page) {
    std::vector<std::string> out;
    for (const auto& row : page["connections"]) {
        out.push_back((row["endpoint"].is_null() ? "-" : row["endpoint"].get<std::string>()) + "#" +
                      (row["id"].is_null() ? "0" : std::to_string(row["id"].get<int>())));
    }
    return out;
}

Page after(const json& page, std::size_t limit) {
    auto cursor = decode_cursor(page["next"].get<std::string>());
    EXPECT_TRUE(cursor);
    return Page{limit, cursor};
}

// Every page of `limit` rows, following `next` (at most 1000 requests).
std::vector<std::string> all_pages(const Snapshot& s, const Filter& filter, std::size_t limit,
                                   std::size_t* pages = nullptr) {
    std::vector<std::string> out;
    Page page{limit, std::nullopt};
    for (std::size_t n = 1; n <= 1000; ++n) {
        const auto j = connections_json(s, filter, page);
        EXPECT_LE(j["count"].get<std::size_t>(), limit);
        EXPECT_EQ(j["count"], j["connections"].size());
        for (auto& k : keys(j))
            out.push_back(std::move(k));
        if (j["next"].is_null()) {
            if (pages) *pages = n;
            return out;
        }
        page = after(j, limit);
    }
    ADD_FAILURE() << "pagination did not end";
    return out;
}

const std::vector<std::string> everything = {"-#9",     "dev-a#2", "dev-b#0", "dev-c#3",
                                             "dev-c#4", "dev-d#0", "dev-e#7"};

TEST(AdminPagination, RowsAreOrderedByEndpointThenId) {
    const auto s = fleet();
    const auto j = connections_json(s, {});
    EXPECT_EQ(keys(j), everything);
    EXPECT_EQ(j["count"], 7);
    EXPECT_EQ(j["total"], 7);
    EXPECT_TRUE(j["next"].is_null()) << "one page under the default limit";
}

TEST(AdminPagination, PagesFollowTheCursorToTheLastRowExactlyOnce) {
    const auto s = fleet();
    for (std::size_t limit : {1u, 2u, 3u, 6u, 7u, 8u, 1000u}) {
        std::size_t pages = 0;
        EXPECT_EQ(all_pages(s, {}, limit, &pages), everything) << "limit " << limit;
        EXPECT_EQ(pages, (7 + limit - 1) / limit) << "no empty page at the end, limit " << limit;
    }
    const auto first = connections_json(s, {}, Page{3, std::nullopt});
    EXPECT_EQ(keys(first), (std::vector<std::string>{"-#9", "dev-a#2", "dev-b#0"}));
    EXPECT_EQ(first["count"], 3);
    EXPECT_EQ(first["total"], 7) << "all pages";
    EXPECT_TRUE(first["next"].is_string());
}

TEST(AdminPagination, ACursorAfterTheLastRowGivesAnEmptyLastPage) {
    const auto s = fleet();
    const auto j = connections_json(s, {}, Page{5, Cursor{"zzz", 0}});
    EXPECT_TRUE(j["connections"].empty());
    EXPECT_EQ(j["count"], 0);
    EXPECT_EQ(j["total"], 7);
    EXPECT_TRUE(j["next"].is_null());
    const auto last = connections_json(s, {}, Page{5, Cursor{"dev-e", 7}});
    EXPECT_TRUE(last["connections"].empty());
    EXPECT_TRUE(last["next"].is_null());
}

// The cursor is a key, not a position or a row that must still exist: what closed is gone,
// what stayed is listed once, what came after the cursor is listed.
TEST(AdminPagination, ConnectionsClosingBetweenPagesDoNotBreakTheNextPage) {
    auto s = fleet();
    const auto first = connections_json(s, {}, Page{3, std::nullopt});
    ASSERT_EQ(keys(first).back(), "dev-b#0");
    // dev-b (the cursor's own row) wakes on a new connection, dev-c#3 closes, dev-a#2 (already
    // listed) closes, a new device appears after the cursor and one before it.
    s.shards[0].connections = {connection(4, "dev-c"), connection(9, std::nullopt, false),
                               connection(12, "dev-b")};
    s.shards[1].connections = {connection(7, "dev-e", true, 1), connection(13, "dev-bb", true, 1),
                               connection(14, "dev-0", true, 1)};
    s.shards[0].devices = {device("dev-c", 4), device("dev-b", 12, true)};
    s.shards[1].devices = {device("dev-e", 7, false, 1), device("dev-d", 99, false, 1),
                           device("dev-bb", 13, false, 1), device("dev-0", 14, false, 1)};
    const auto second = connections_json(s, {}, after(first, 3));
    EXPECT_EQ(keys(second), (std::vector<std::string>{"dev-b#12", "dev-bb#13", "dev-c#4"}));
    const auto third = connections_json(s, {}, after(second, 3));
    EXPECT_EQ(keys(third), (std::vector<std::string>{"dev-d#0", "dev-e#7"}));
    EXPECT_TRUE(third["next"].is_null());

    // Every row of the cursor's page gone: the next page still starts right after it.
    s.shards[0].connections.clear();
    s.shards[0].devices.clear();
    const auto rest = connections_json(s, {}, after(first, 10));
    EXPECT_EQ(keys(rest), (std::vector<std::string>{"dev-bb#13", "dev-d#0", "dev-e#7"}));
}

TEST(AdminPagination, TheFilterAppliesFirstThenThePage) {
    const auto s = fleet();
    Filter active;
    active.state = State::active;
    std::size_t pages = 0;
    EXPECT_EQ(all_pages(s, active, 2, &pages),
              (std::vector<std::string>{"dev-a#2", "dev-c#3", "dev-c#4", "dev-e#7"}));
    EXPECT_EQ(pages, 2u);
    const auto j = connections_json(s, active, Page{3, std::nullopt});
    EXPECT_EQ(j["count"], 3);
    EXPECT_EQ(j["total"], 4) << "the rows the filter matches, not all rows";

    Filter prefix;
    prefix.endpoint_prefix = "dev-c";
    EXPECT_EQ(all_pages(s, prefix, 1), (std::vector<std::string>{"dev-c#3", "dev-c#4"}));
    Filter none;
    none.endpoint_prefix = "nobody";
    const auto empty = connections_json(s, none, Page{1, std::nullopt});
    EXPECT_EQ(empty["total"], 0);
    EXPECT_TRUE(empty["next"].is_null());
}

// Thousands of rows in random order over shards: the selection of a page (nth_element) gives
// what a full sort would.
TEST(AdminPagination, ManyRowsInAnyOrder) {
    auto s = snapshot(4);
    std::mt19937 random(7);
    std::vector<std::uint64_t> ids(3000);
    std::iota(ids.begin(), ids.end(), 1);
    std::shuffle(ids.begin(), ids.end(), random);
    std::set<std::string> expected;
    for (auto id : ids) {
        const auto endpoint = "ep-" + std::to_string(random() % 500);
        const unsigned shard = static_cast<unsigned>(id % 4);
        s.shards[shard].connections.push_back(connection(id, endpoint, true, shard));
    }
    const auto rows = build_rows(s);
    std::vector<std::string> sorted;
    for (const auto& row : rows)
        sorted.push_back(*row.endpoint + "#" + std::to_string(row.connection->session.info.id));
    EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end(),
                               [](const Row& a, const Row& b) { return key_of(a) < key_of(b); }));
    EXPECT_EQ(all_pages(s, {}, 97), sorted);
    EXPECT_EQ(all_pages(s, {}, max_page_limit), sorted);
}

TEST(AdminPagination, CursorsSurviveAnyEndpointName) {
    for (const std::string& endpoint :
         {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
          std::string("urn:imei:3.5/a b?&=%"), std::string("\xff\x00\xfe", 3),
          std::string("caf\xc3\xa9")}) {
        for (std::uint64_t id : {std::uint64_t{0}, std::uint64_t{1}, ~std::uint64_t{0}}) {
            const auto text = encode_cursor(RowKey{endpoint, id});
            EXPECT_EQ(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789-_."),
                      std::string::npos)
                << text << ": nothing to escape in a URL or a JSON string";
            const auto back = decode_cursor(text);
            ASSERT_TRUE(back) << text;
            EXPECT_EQ(back->endpoint, endpoint);
            EXPECT_EQ(back->id, id);
        }
    }
    for (const char* bad : {"", ".", "abc", "YQ", "YQ.", "YQ.x", "YQ.-1", "YQ.1.2", "Y.1", "YR.1",
                            "Y Q.1", "YQ==.1", "YQ.18446744073709551616", "YQ.+1"}) {
        EXPECT_FALSE(decode_cursor(bad)) << bad;
    }
}

TEST(AdminPagination, LimitAndAfterAreParsedWithTheFilters) {
    auto q = parse_list_query({});
    ASSERT_TRUE(q);
    EXPECT_EQ(q->page.limit, default_page_limit);
    EXPECT_FALSE(q->page.after);
    const auto cursor = encode_cursor(RowKey{"dev-b", 0});
    q = parse_list_query(Query{{"limit", "2"}, {"after", cursor}, {"state", "half-open"}});
    ASSERT_TRUE(q) << q.error().detail;
    EXPECT_EQ(q->page.limit, 2u);
    ASSERT_TRUE(q->page.after);
    EXPECT_EQ(q->page.after->endpoint, "dev-b");
    EXPECT_EQ(q->filter.state, State::half_open);
    EXPECT_TRUE(parse_list_query(Query{{"limit", "1"}}));
    EXPECT_TRUE(parse_list_query(Query{{"limit", std::to_string(max_page_limit)}}));
    EXPECT_EQ(max_page_limit, 10000u);
    EXPECT_EQ(default_page_limit, 1000u);
}

TEST(AdminPagination, BadLimitOrAfterIsA400NamingTheParameter) {
    for (const char* bad : {"0", "10001", "-1", "abc", "", "1.5", " 5", "5 ", "+5", "0x10",
                            "99999999999999999999999"}) {
        auto q = parse_list_query(Query{{"limit", bad}});
        ASSERT_FALSE(q) << bad;
        EXPECT_EQ(q.error().code, AdminErrc::bad_parameter_value);
        EXPECT_THAT(q.error().detail, HasSubstr("limit must be an integer from 1 to 10000"));
    }
    for (const char* bad : {"", "nonsense", "YQ.x"}) {
        auto q = parse_list_query(Query{{"after", bad}});
        ASSERT_FALSE(q) << bad;
        EXPECT_EQ(q.error().code, AdminErrc::bad_parameter_value);
        EXPECT_THAT(q.error().detail, HasSubstr("after"));
    }
    auto twice = parse_list_query(Query{{"limit", "2"}, {"limit", "3"}});
    ASSERT_FALSE(twice);
    EXPECT_THAT(twice.error().detail, HasSubstr("limit"));
    auto unknown = parse_list_query(Query{{"limits", "2"}});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, AdminErrc::unknown_parameter);
    auto state = parse_list_query(Query{{"limit", "2"}, {"state", "zombie"}});
    ASSERT_FALSE(state);
    EXPECT_THAT(state.error().detail, HasSubstr("zombie"));
}

class CountingBackend final : public NoBackend {
  public:
    CountingBackend() { snapshot = fleet(); }
};

Reply get(Api& api, Query query) {
    ApiRequest r{"GET", "/v1/connections", std::move(query), {}, "127.0.0.1:50000"};
    auto outcome = api.handle(r, [](Reply) { ADD_FAILURE() << "answered later"; });
    return std::holds_alternative<Reply>(outcome) ? std::get<Reply>(outcome) : Reply{};
}

TEST(AdminPagination, ThroughTheApi) {
    CountingBackend backend;
    Api api("", backend);
    auto r = get(api, {{"limit", "4"}});
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = json::parse(r.body);
    EXPECT_EQ(j["count"], 4);
    std::vector<std::string> seen = keys(j);
    r = get(api, {{"limit", "4"}, {"after", j["next"].get<std::string>()}});
    ASSERT_EQ(r.status, 200) << r.body;
    j = json::parse(r.body);
    EXPECT_TRUE(j["next"].is_null());
    for (auto& k : keys(j))
        seen.push_back(std::move(k));
    EXPECT_EQ(seen, everything);

    const int before = backend.collections;
    r = get(api, {{"limit", "20000"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_THAT(json::parse(r.body)["error"].get<std::string>(), HasSubstr("limit"));
    r = get(api, {{"after", "%%%"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_THAT(json::parse(r.body)["error"].get<std::string>(), HasSubstr("after"));
    EXPECT_EQ(backend.collections, before) << "a bad query is refused before the shards work";
}

}  // namespace
}  // namespace lwgate::admin
