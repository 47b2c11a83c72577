// The simulated device's LwM2M data: an in-memory tree of objects, instances and resources
// (/O/I/R), and the encodings the simulator answers with. Not thread-safe by itself: a
// DeviceSimulator owns one and touches it only on its loop thread.
//
// Encodings (all deterministic, so tests can compare bytes end to end):
//  - a single resource is read in its own content format (text/plain 0 or opaque 42, or
//    whatever format it was written with), byte for byte;
//  - an object, an instance or a composite (FETCH) is read as SenML JSON (110): a JSON array with
//    one record per resource in ascending path order, each record carrying only the full name
//    "n" and the value, "vs" (JSON string) for a text/plain resource and "vd" (base64url without
//    padding, RFC 8428 §4.3) for any other format, e.g.
//        [{"n":"/3/0/0","vs":"lwgate"},{"n":"/3/0/1","vs":"lwm2m-device-sim"}]
//    A single resource read with Accept 110 gives a one-record array in the same form.
//  - Discover (Accept 40) gives CoRE link format: the target and everything below it, in path
//    order, each link followed by the attributes a Write-Attributes stored for that path:
//        </3/0>,</3/0/0>,</3/0/13>;pmin=1;pmax=5
//  - the Register payload lists every instance (or the bare object when it has none) except
//    the Security object 0:  </1/0>,</3/0>,</5/0>
//
// Multi-instance resources (/O/I/R/RI) are not modelled: such paths are "not found".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwgate/coap/message.hpp"
#include "lwgate/device/content_format.hpp"

namespace lwgate::devsim {

// The tools' one Content-Format table (tools/device).
namespace content_format = device::content_format;

// An LwM2M path: "/" (root), "/O", "/O/I" or "/O/I/R".
struct Path {
    std::optional<std::uint16_t> object;
    std::optional<std::uint16_t> instance;
    std::optional<std::uint16_t> resource;

    Path() = default;
    explicit Path(std::uint16_t o) : object(o) {}
    Path(std::uint16_t o, std::uint16_t i) : object(o), instance(i) {}
    Path(std::uint16_t o, std::uint16_t i, std::uint16_t r) : object(o), instance(i), resource(r) {}

    // "/3/0/1", "3/0/1", "/" or "". nullopt for non-numeric segments, values above 65535, empty
    // segments in the middle, or more than three segments.
    static std::optional<Path> parse(std::string_view text);
    // From Uri-Path segments; same rules.
    static std::optional<Path> from_segments(const std::vector<std::string>& segments);

    // 0 = root, 1 = object, 2 = instance, 3 = resource.
    int depth() const { return resource ? 3 : instance ? 2 : object ? 1 : 0; }
    bool is_root() const { return depth() == 0; }
    bool is_object() const { return depth() == 1; }
    bool is_instance() const { return depth() == 2; }
    bool is_resource() const { return depth() == 3; }
    // True if `other` is this path or lies below it.
    bool contains(const Path& other) const;
    std::string to_string() const;  // "/3/0/1", "/" for the root

    friend bool operator==(const Path&, const Path&) = default;
    friend auto operator<=>(const Path&, const Path&) = default;
};

// A resource value: bytes and their content format. The bytes are shared and immutable, so a
// large value (e.g. the 64 KiB blob of the default model) costs nothing to copy.
struct Resource {
    std::shared_ptr<const coap::Bytes> value = std::make_shared<const coap::Bytes>();
    std::uint16_t content_format = content_format::text_plain;
    // Executable resources (LwM2M operation "E") have no value: Read and Write get 4.05, they
    // are left out of SenML reads, and only they accept Execute.
    bool executable = false;

    const coap::Bytes& bytes() const { return *value; }
    std::string text() const { return std::string(value->begin(), value->end()); }
};

class ObjectModel {
  public:
    ObjectModel() = default;

    // The model the simulator starts with unless told otherwise:
    //   /1/0   Server: 0 short server id "1", 1 lifetime (`lifetime`), 7 binding "T"
    //   /3/0   Device: 0 manufacturer "lwgate", 1 model "lwm2m-device-sim", 2 serial (`serial`),
    //                  3 firmware "1.0.0", 4 reboot (E), 5 factory reset (E), 9 battery "100",
    //                  11 error code "0", 13 current time "0" (the program ticks it),
    //                  16 binding modes "T"
    //   /5/0   Firmware Update: 0 package = large_blob() (64 KiB opaque), 2 update (E),
    //                  3 state "0"
    static ObjectModel default_device(std::string_view serial = "0001",
                                      std::uint32_t lifetime = 300);
    // 64 KiB of deterministic bytes (byte i = (i * 7 + i / 256) & 0xff), shared by every model.
    static std::shared_ptr<const coap::Bytes> large_blob();

    // Sets a resource, creating its object and instance as needed. `path` must be a resource path.
    void set(const Path& path, coap::Bytes value,
             std::uint16_t format = content_format::text_plain);
    void set_text(const Path& path, std::string_view text);
    void set_shared(const Path& path, std::shared_ptr<const coap::Bytes> value,
                    std::uint16_t format);
    // Adds an executable resource (creating its object and instance as needed).
    void add_executable(const Path& path);
    // Removes one resource. False if it did not exist.
    bool erase_resource(const Path& path);

    // Creates an empty object / instance (no-op if present).
    void add_object(std::uint16_t object);
    void add_instance(std::uint16_t object, std::uint16_t instance);
    // Creates the lowest free instance of `object` and returns its id; nullopt if all 65535 are
    // taken. The object is created if needed.
    std::optional<std::uint16_t> create_instance(std::uint16_t object);
    // Removes an instance / an object with all its instances. False if absent.
    bool remove_instance(std::uint16_t object, std::uint16_t instance);
    bool remove_object(std::uint16_t object);

    bool exists(const Path& path) const;  // the root always exists
    const Resource* find(const Path& path) const;
    // Every resource path under `path` (itself, if a resource), ascending.
    std::vector<Path> resources_under(const Path& path) const;
    std::vector<std::uint16_t> objects() const;
    std::vector<std::uint16_t> instances(std::uint16_t object) const;

    // Write-Attributes: the queries of the last PUT-with-query on `path` ("pmin=1", "pmax=5").
    // A later call merges by attribute name; a query without '=' ("cancel"-style flags) is kept
    // as is. An empty list clears.
    void set_attributes(const Path& path, const std::vector<std::string>& queries);
    std::vector<std::string> attributes(const Path& path) const;

    // Encodings (see the file comment). `path` must exist.
    std::string register_links() const;
    std::string discover_links(const Path& path) const;
    std::string senml_json(const std::vector<Path>& paths) const;
    std::string senml_json(const Path& path) const { return senml_json(std::vector<Path>{path}); }

  private:
    using Instance = std::map<std::uint16_t, Resource>;
    using Object = std::map<std::uint16_t, Instance>;
    std::map<std::uint16_t, Object> objects_;
    std::map<Path, std::vector<std::string>> attributes_;
};

// base64url without padding (RFC 4648 §5), as SenML "vd" requires.
std::string base64url(coap::ByteView bytes);
// The names ("n" values, with any "bn" prefix applied) of a SenML JSON request payload such as
// a Read-Composite body [{"n":"/3/0/0"},{"n":"/1/0"}]; none for a body that is not a JSON array.
std::vector<std::string> senml_names(std::string_view json);

}  // namespace lwgate::devsim
