#include "lwgate/devsim/object_model.hpp"

#include <charconv>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace lwgate::devsim {

namespace {

std::optional<std::uint16_t> parse_id(std::string_view s) {
    if (s.empty() || s.size() > 5) return std::nullopt;
    unsigned value = 0;
    const auto* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, value);
    if (ec != std::errc{} || ptr != end || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

std::optional<Path> from_ids(const std::vector<std::uint16_t>& ids) {
    Path p;
    if (ids.size() > 3) return std::nullopt;
    if (ids.size() > 0) p.object = ids[0];
    if (ids.size() > 1) p.instance = ids[1];
    if (ids.size() > 2) p.resource = ids[2];
    return p;
}

std::string attribute_name(const std::string& query) {
    return query.substr(0, query.find('='));
}

}  // namespace

std::optional<Path> Path::parse(std::string_view text) {
    if (!text.empty() && text.front() == '/') text.remove_prefix(1);
    std::vector<std::uint16_t> ids;
    if (text.empty()) return Path{};
    std::size_t pos = 0;
    while (true) {
        const auto slash = text.find('/', pos);
        const auto segment = text.substr(
            pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
        if (segment.empty()) {
            // A trailing slash is tolerated ("/3/0/"), an empty segment in the middle is not.
            if (slash == std::string_view::npos) break;
            return std::nullopt;
        }
        const auto id = parse_id(segment);
        if (!id) return std::nullopt;
        ids.push_back(*id);
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
        if (pos == text.size()) break;
    }
    return from_ids(ids);
}

std::optional<Path> Path::from_segments(const std::vector<std::string>& segments) {
    std::vector<std::uint16_t> ids;
    for (const auto& s : segments) {
        const auto id = parse_id(s);
        if (!id) return std::nullopt;
        ids.push_back(*id);
    }
    return from_ids(ids);
}

bool Path::contains(const Path& other) const {
    if (object && other.object != object) return false;
    if (instance && other.instance != instance) return false;
    if (resource && other.resource != resource) return false;
    return other.depth() >= depth();
}

std::string Path::to_string() const {
    if (!object) return "/";
    std::string out = "/" + std::to_string(*object);
    if (instance) out += "/" + std::to_string(*instance);
    if (resource) out += "/" + std::to_string(*resource);
    return out;
}

std::shared_ptr<const coap::Bytes> ObjectModel::large_blob() {
    static const auto blob = [] {
        auto bytes = std::make_shared<coap::Bytes>(64 * 1024);
        for (std::size_t i = 0; i < bytes->size(); ++i) {
            (*bytes)[i] = static_cast<std::uint8_t>((i * 7 + i / 256) & 0xff);
        }
        return std::shared_ptr<const coap::Bytes>(std::move(bytes));
    }();
    return blob;
}

ObjectModel ObjectModel::default_device(std::string_view serial, std::uint32_t lifetime) {
    ObjectModel m;
    m.set_text(Path(1, 0, 0), "1");
    m.set_text(Path(1, 0, 1), std::to_string(lifetime));
    m.set_text(Path(1, 0, 7), "T");
    m.set_text(Path(3, 0, 0), "lwgate");
    m.set_text(Path(3, 0, 1), "lwm2m-device-sim");
    m.set_text(Path(3, 0, 2), serial);
    m.set_text(Path(3, 0, 3), "1.0.0");
    m.add_executable(Path(3, 0, 4));
    m.add_executable(Path(3, 0, 5));
    m.set_text(Path(3, 0, 9), "100");
    m.set_text(Path(3, 0, 11), "0");
    m.set_text(Path(3, 0, 13), "0");
    m.set_text(Path(3, 0, 16), "T");
    m.set_shared(Path(5, 0, 0), large_blob(), content_format::octet_stream);
    m.add_executable(Path(5, 0, 2));
    m.set_text(Path(5, 0, 3), "0");
    return m;
}

void ObjectModel::set(const Path& path, coap::Bytes value, std::uint16_t format) {
    set_shared(path, std::make_shared<const coap::Bytes>(std::move(value)), format);
}

void ObjectModel::set_text(const Path& path, std::string_view text) {
    set(path, coap::Bytes(text.begin(), text.end()), content_format::text_plain);
}

void ObjectModel::set_shared(const Path& path, std::shared_ptr<const coap::Bytes> value,
                             std::uint16_t format) {
    if (!path.is_resource()) {
        throw std::invalid_argument("ObjectModel::set: not a resource path: " + path.to_string());
    }
    auto& r = objects_[*path.object][*path.instance][*path.resource];
    r.value = value ? std::move(value) : std::make_shared<const coap::Bytes>();
    r.content_format = format;
    r.executable = false;
}

void ObjectModel::add_executable(const Path& path) {
    set_shared(path, nullptr, content_format::text_plain);
    objects_[*path.object][*path.instance][*path.resource].executable = true;
}

bool ObjectModel::erase_resource(const Path& path) {
    if (!path.is_resource()) return false;
    auto o = objects_.find(*path.object);
    if (o == objects_.end()) return false;
    auto i = o->second.find(*path.instance);
    if (i == o->second.end()) return false;
    return i->second.erase(*path.resource) > 0;
}

void ObjectModel::add_object(std::uint16_t object) {
    objects_[object];
}

void ObjectModel::add_instance(std::uint16_t object, std::uint16_t instance) {
    objects_[object][instance];
}

std::optional<std::uint16_t> ObjectModel::create_instance(std::uint16_t object) {
    auto& o = objects_[object];
    std::uint32_t id = 0;
    for (const auto& [existing, _] : o) {
        if (existing != id) break;
        ++id;
    }
    if (id > 65534) return std::nullopt;  // 65535 is reserved (LwM2M "no instance")
    o[static_cast<std::uint16_t>(id)];
    return static_cast<std::uint16_t>(id);
}

bool ObjectModel::remove_instance(std::uint16_t object, std::uint16_t instance) {
    auto o = objects_.find(object);
    if (o == objects_.end()) return false;
    return o->second.erase(instance) > 0;
}

bool ObjectModel::remove_object(std::uint16_t object) {
    return objects_.erase(object) > 0;
}

bool ObjectModel::exists(const Path& path) const {
    if (path.is_root()) return true;
    auto o = objects_.find(*path.object);
    if (o == objects_.end()) return false;
    if (!path.instance) return true;
    auto i = o->second.find(*path.instance);
    if (i == o->second.end()) return false;
    if (!path.resource) return true;
    return i->second.count(*path.resource) > 0;
}

const Resource* ObjectModel::find(const Path& path) const {
    if (!path.is_resource()) return nullptr;
    auto o = objects_.find(*path.object);
    if (o == objects_.end()) return nullptr;
    auto i = o->second.find(*path.instance);
    if (i == o->second.end()) return nullptr;
    auto r = i->second.find(*path.resource);
    return r == i->second.end() ? nullptr : &r->second;
}

std::vector<Path> ObjectModel::resources_under(const Path& path) const {
    std::vector<Path> out;
    for (const auto& [o, instances] : objects_) {
        if (path.object && *path.object != o) continue;
        for (const auto& [i, resources] : instances) {
            if (path.instance && *path.instance != i) continue;
            for (const auto& [r, _] : resources) {
                if (path.resource && *path.resource != r) continue;
                out.emplace_back(o, i, r);
            }
        }
    }
    return out;
}

std::vector<std::uint16_t> ObjectModel::objects() const {
    std::vector<std::uint16_t> out;
    for (const auto& [o, _] : objects_)
        out.push_back(o);
    return out;
}

std::vector<std::uint16_t> ObjectModel::instances(std::uint16_t object) const {
    std::vector<std::uint16_t> out;
    auto o = objects_.find(object);
    if (o == objects_.end()) return out;
    for (const auto& [i, _] : o->second)
        out.push_back(i);
    return out;
}

void ObjectModel::set_attributes(const Path& path, const std::vector<std::string>& queries) {
    if (queries.empty()) {
        attributes_.erase(path);
        return;
    }
    auto& attrs = attributes_[path];
    for (const auto& q : queries) {
        const auto name = attribute_name(q);
        bool replaced = false;
        for (auto& existing : attrs) {
            if (attribute_name(existing) == name) {
                existing = q;
                replaced = true;
                break;
            }
        }
        if (!replaced) attrs.push_back(q);
    }
}

std::vector<std::string> ObjectModel::attributes(const Path& path) const {
    auto it = attributes_.find(path);
    return it == attributes_.end() ? std::vector<std::string>{} : it->second;
}

std::string ObjectModel::register_links() const {
    std::string out;
    auto add = [&out](const std::string& link) {
        if (!out.empty()) out += ',';
        out += '<' + link + '>';
    };
    for (const auto& [o, instances] : objects_) {
        if (o == 0) continue;  // the Security object is never registered
        if (instances.empty()) {
            add(Path(o).to_string());
            continue;
        }
        for (const auto& [i, _] : instances)
            add(Path(o, i).to_string());
    }
    return out;
}

std::string ObjectModel::discover_links(const Path& path) const {
    std::string out;
    auto add = [&](const Path& p) {
        if (!out.empty()) out += ',';
        out += '<' + p.to_string() + '>';
        for (const auto& a : attributes(p))
            out += ';' + a;
    };
    for (const auto& [o, instances] : objects_) {
        if (path.object && *path.object != o) continue;
        if (path.depth() <= 1) add(Path(o));
        for (const auto& [i, resources] : instances) {
            if (path.instance && *path.instance != i) continue;
            if (path.depth() <= 2) add(Path(o, i));
            for (const auto& [r, _] : resources) {
                if (path.resource && *path.resource != r) continue;
                add(Path(o, i, r));
            }
        }
    }
    return out;
}

std::string ObjectModel::senml_json(const std::vector<Path>& paths) const {
    auto records = nlohmann::json::array();
    for (const auto& requested : paths) {
        for (const auto& p : resources_under(requested)) {
            const Resource* r = find(p);
            if (!r || r->executable) continue;
            nlohmann::json record{{"n", p.to_string()}};
            if (r->content_format == content_format::text_plain) {
                record["vs"] = r->text();
            } else {
                record["vd"] = base64url(r->bytes());
            }
            records.push_back(std::move(record));
        }
    }
    // A resource's text may be any bytes: invalid UTF-8 is replaced, not thrown on.
    return records.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string base64url(coap::ByteView bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t v = bytes[i] << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
    } else if (rest == 2) {
        const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
    }
    return out;
}

std::vector<std::string> senml_names(std::string_view json) {
    // A "bn" applies to its record and those after it, until the next "bn" (RFC 8428 §4.1).
    std::vector<std::string> out;
    const auto records = nlohmann::json::parse(json, nullptr, false);
    if (!records.is_array()) return out;
    std::string base;
    for (const auto& record : records) {
        if (!record.is_object()) continue;
        if (const auto bn = record.find("bn"); bn != record.end() && bn->is_string())
            base = bn->get<std::string>();
        if (const auto n = record.find("n"); n != record.end() && n->is_string())
            out.push_back(base + n->get<std::string>());
    }
    return out;
}

}  // namespace lwgate::devsim
