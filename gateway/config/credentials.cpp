// credentials / credentials_file: the table of device identities for TLS-PSK (endpoint name, PSK
// identity, key). Entries are read into Credential, so their keys are bound here by name.
#include <algorithm>
#include <filesystem>

#include "config/key_readers.hpp"
#include "config/system_credentials.hpp"

namespace lwgate::config {

namespace {

// An endpoint name or PSK identity: a non-empty string.
void read_name(Reader& r, const Item& v, std::string_view expected, std::string& dst) {
    auto s = r.scalar(v, expected);
    if (!s) return;
    if (s->empty()) {
        r.error(v.path, v.line, "must not be empty");
        return;
    }
    dst = *s;
}

void read_credential(Reader& r, const Item& it, Credential& cred) {
    cred.line = it.line;
    const std::size_t before = r.error_count();
    if (!it.node.IsMap()) {
        r.error(it.path, it.line,
                "expected a map with keys " + child_names("credentials[]") + ", got " +
                    describe(it.node));
        ++r.credential_errors;
        return;
    }
    r.walk(it, [&](const KeySpec& key, const Item& v) {
        const auto name = leaf_name(key.path);
        if (name == "endpoint") {
            read_name(r, v, "an endpoint name", cred.endpoint);
        } else if (name == "psk_identity") {
            read_name(r, v, "a PSK identity", cred.psk_identity);
        } else if (name == "psk_key_hex") {
            r.hex_key(v, cred.psk_key);
        }
    });
    for (const char* name : {"endpoint", "psk_identity", "psk_key_hex"}) {
        if (!r.has(join(it.path, name))) r.error(join(it.path, name), it.line, "missing");
    }
    r.credential_errors += r.error_count() - before;
}

// An error when `value` (the endpoint or identity of the entry at `path`) is already taken.
template <typename Member>
void check_unique(Reader& r, const std::vector<Credential>& earlier, const std::string& list,
                  const std::string& path, const char* name, Member member,
                  const std::string& value) {
    if (value.empty()) return;
    auto dup = std::find_if(earlier.begin(), earlier.end(),
                            [&](const Credential& c) { return c.*member == value; });
    if (dup == earlier.end()) return;
    const auto first = static_cast<std::size_t>(dup - earlier.begin());
    const std::string key = join(path, name);
    r.error(key, r.line(key),
            "duplicate " + std::string(name) + " '" + value + "' (also " + indexed(list, first) +
                ", line " + std::to_string(dup->line) + ")");
    ++r.credential_errors;
}

}  // namespace

void read_credential_list(Reader& r, const Item& it, std::vector<Credential>& out) {
    if (it.node.IsNull()) return;
    if (!it.node.IsSequence()) {
        r.error(it.path, it.line, "expected a list of credentials, got " + describe(it.node));
        ++r.credential_errors;
        return;
    }
    std::size_t i = 0;
    for (auto el = it.node.begin(); el != it.node.end(); ++el, ++i) {
        const int el_line = line_of(*el);
        Credential cred;
        const Item item{indexed(it.path, i), *el, el_line > 0 ? el_line : it.line};
        read_credential(r, item, cred);
        check_unique(r, out, it.path, item.path, "endpoint", &Credential::endpoint, cred.endpoint);
        check_unique(r, out, it.path, item.path, "psk_identity", &Credential::psk_identity,
                     cred.psk_identity);
        // Keep every entry (even a broken one) so that indexes in messages match the document.
        out.push_back(std::move(cred));
    }
}

void read_credentials(Reader& r, const Item& it, Config& cfg) {
    r.have_credentials = true;
    read_credential_list(r, it, cfg.credentials);
}

// Read once the whole document is: it may not come together with `credentials`.
void read_credentials_file(Reader& r, const Item& it, Config&) {
    r.credentials_file_item = it;
}

void load_credentials_file(Reader& r, const Item& it, Config& cfg) {
    std::string name;
    if (!r.optional_string(it, name) || name.empty()) return;
    const auto expanded = expand_credentials_directory(name, credentials_directory());
    if (!expanded) {
        r.error(it.path, it.line, expanded.error().detail);
        ++r.credential_errors;
        return;
    }
    const std::string path = resolve(r.base_dir(), *expanded);
    auto text = read_file(path);
    if (!text) {
        r.error(it.path, it.line, "cannot read " + path + ": " + text.error().detail);
        ++r.credential_errors;
        return;
    }
    cfg.credentials_file = path;
    const std::size_t before = r.error_count();
    // Errors inside the credentials file carry its path and its own line numbers.
    if (auto root = parse_yaml(*text, r.errors(), path)) {
        Reader sub(std::filesystem::path(path).parent_path().string(), r.errors(), path);
        substitute_credentials(sub, Item{"credentials", *root, line_of(*root)},
                               credentials_directory());
        read_credential_list(sub, Item{"credentials", *root, line_of(*root)}, cfg.credentials);
    }
    r.credential_errors += r.error_count() - before;
}

}  // namespace lwgate::config
