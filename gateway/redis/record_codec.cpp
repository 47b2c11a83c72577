#include "redis/record_codec.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>

namespace lwgate::redis {

namespace {

using store::Bytes;

void put_u32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_i64(std::string& out, std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    put_u32(out, static_cast<std::uint32_t>(u >> 32));
    put_u32(out, static_cast<std::uint32_t>(u));
}

template <class Seq>
void put_blob(std::string& out, const Seq& bytes) {
    put_u32(out, static_cast<std::uint32_t>(bytes.size()));
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Reads the blobs back; every read checks what is left first.
struct Reader {
    std::string_view in;
    bool ok = true;

    std::uint32_t u32() {
        if (in.size() < 4) return ok = false, 0;
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i)
            v = (v << 8) | static_cast<std::uint8_t>(in[static_cast<std::size_t>(i)]);
        in.remove_prefix(4);
        return v;
    }
    std::int64_t i64() {
        const std::uint64_t hi = u32();
        const std::uint64_t lo = u32();
        return static_cast<std::int64_t>((hi << 32) | lo);
    }
    std::string_view take() {
        const auto n = u32();
        if (!ok || in.size() < n) return ok = false, std::string_view();
        const auto out = in.substr(0, n);
        in.remove_prefix(n);
        return out;
    }
    Bytes bytes() {
        const auto v = take();
        return Bytes(v.begin(), v.end());
    }
};

std::string encode_observations(const std::vector<store::ObservationRecord>& all) {
    std::string out;
    put_u32(out, static_cast<std::uint32_t>(all.size()));
    for (const auto& o : all) {
        put_blob(out, o.core_token);
        put_blob(out, o.path);
        put_u32(out, o.observe);
        put_blob(out, o.request);
    }
    return out;
}

std::string encode_queued(const std::vector<store::QueuedRecord>& all) {
    std::string out;
    put_u32(out, static_cast<std::uint32_t>(all.size()));
    for (const auto& q : all) {
        put_blob(out, q.core_token);
        put_blob(out, q.request);
        put_i64(out, q.enqueued_at);
    }
    return out;
}

std::optional<std::vector<store::ObservationRecord>> decode_observations(std::string_view in) {
    Reader r{in};
    const auto n = r.u32();
    std::vector<store::ObservationRecord> out;
    for (std::uint32_t i = 0; r.ok && i < n; ++i) {
        store::ObservationRecord o;
        o.core_token = r.bytes();
        o.path = std::string(r.take());
        o.observe = r.u32() & 0xffffff;  // Observe is 24 bits, as the SQLite store keeps it
        o.request = r.bytes();
        if (r.ok) out.push_back(std::move(o));
    }
    if (!r.ok || !r.in.empty()) return std::nullopt;
    return out;
}

std::optional<std::vector<store::QueuedRecord>> decode_queued(std::string_view in) {
    Reader r{in};
    const auto n = r.u32();
    std::vector<store::QueuedRecord> out;
    for (std::uint32_t i = 0; r.ok && i < n; ++i) {
        store::QueuedRecord q;
        q.core_token = r.bytes();
        q.request = r.bytes();
        q.enqueued_at = r.i64();
        if (r.ok) out.push_back(std::move(q));
    }
    if (!r.ok || !r.in.empty()) return std::nullopt;
    return out;
}

std::string join_location(const std::vector<std::string>& segments) {
    std::string out;
    for (const auto& s : segments)
        out += "/" + s;
    return out;
}

std::vector<std::string> split_location(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        if (text.front() == '/') text.remove_prefix(1);
        const auto next = text.find('/');
        out.emplace_back(text.substr(0, next));
        text.remove_prefix(next == std::string_view::npos ? text.size() : next);
    }
    return out;
}

template <class T>
std::optional<T> number(std::string_view text) {
    T v{};
    const auto* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc() || p != end) return std::nullopt;
    return v;
}

}  // namespace

std::string device_key(std::string_view endpoint) {
    return std::string(device_key_prefix) + "{" + std::string(endpoint) + "}";
}

std::vector<Field> encode_record(const store::DeviceRecord& r) {
    const auto flag = [](bool b) { return std::string(b ? "1" : "0"); };
    return {
        {"v", std::to_string(record_format_version)},
        {"endpoint", r.endpoint},
        {"location", join_location(r.location)},
        {"lifetime", std::to_string(r.lifetime)},
        {"deadline", std::to_string(r.deadline)},
        {"queue_mode", flag(r.queue_mode)},
        {"binding", r.binding},
        {"version", r.version},
        {"register_query", r.register_query},
        {"authenticated", flag(r.authenticated)},
        {"object_links", std::string(r.object_links.begin(), r.object_links.end())},
        {"local_address", r.local_address},
        {"local_port", std::to_string(r.local_port)},
        {"observations", encode_observations(r.observations)},
        {"queued", encode_queued(r.queued)},
    };
}

namespace {

using FieldMap = std::map<std::string_view, std::string_view>;

Result<void, std::string> decode_numbers(const FieldMap& f, store::DeviceRecord& r) {
    const auto lifetime = number<std::uint32_t>(f.at("lifetime"));
    const auto deadline = number<std::int64_t>(f.at("deadline"));
    const auto port = number<std::uint16_t>(f.at("local_port"));
    if (!lifetime) return fail(std::string("lifetime is not a 32-bit number"));
    if (!deadline) return fail(std::string("deadline is not a 64-bit number"));
    if (!port) return fail(std::string("local_port is not 0..65535"));
    r.lifetime = *lifetime;
    r.deadline = *deadline;
    r.local_port = *port;
    r.queue_mode = f.at("queue_mode") == "1";
    r.authenticated = f.at("authenticated") == "1";
    return {};
}

}  // namespace

Result<store::DeviceRecord, std::string> decode_record(const std::vector<Field>& fields) {
    FieldMap f;
    for (const auto& [name, value] : fields)
        f[name] = value;
    for (const char* name :
         {"v", "endpoint", "location", "lifetime", "deadline", "queue_mode", "binding", "version",
          "register_query", "authenticated", "object_links", "local_address", "local_port",
          "observations", "queued"}) {
        if (!f.count(name)) return fail("field '" + std::string(name) + "' missing");
    }
    if (number<int>(f.at("v")) != record_format_version) {
        return fail("format version '" + std::string(f.at("v")) + "' is not " +
                    std::to_string(record_format_version));
    }
    store::DeviceRecord r;
    r.endpoint = std::string(f.at("endpoint"));
    if (r.endpoint.empty()) return fail(std::string("endpoint is empty"));
    r.location = split_location(f.at("location"));
    if (auto n = decode_numbers(f, r); !n) return fail(std::move(n).error());
    r.binding = std::string(f.at("binding"));
    r.version = std::string(f.at("version"));
    r.register_query = std::string(f.at("register_query"));
    const auto links = f.at("object_links");
    r.object_links.assign(links.begin(), links.end());
    r.local_address = std::string(f.at("local_address"));
    auto observations = decode_observations(f.at("observations"));
    if (!observations) return fail(std::string("observations: truncated or overlong"));
    r.observations = std::move(*observations);
    auto queued = decode_queued(f.at("queued"));
    if (!queued) return fail(std::string("queued: truncated or overlong"));
    r.queued = std::move(*queued);
    return r;
}

}  // namespace lwgate::redis
