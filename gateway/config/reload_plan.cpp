// Which change goes where is read from the key table (lwgate/config/keys.hpp): each key says
// whether it applies at run time and through which applier, or needs a restart.
#include "config/reload_plan.hpp"

#include <array>
#include <map>

#include "config/keys.hpp"

namespace lwgate::config {

namespace {

using config::KeySpec;
using config::Reload;

// The order changes are listed in: what applies, applier by applier, then what needs a restart.
// Within a group, the table's order.
constexpr std::array kGroups{
    Reload::log_level,           Reload::sessions, Reload::accept_limits, Reload::relays,
    Reload::registration_limits, Reload::in_place, Reload::credentials,   Reload::restart};

Reload group_of(Reload reload) {
    return reload == Reload::sessions_and_relays ? Reload::relays : reload;
}

// Which appliers a changed key puts to work.
void mark(Reload reload, ReloadPlan& plan) {
    switch (reload) {
        case Reload::log_level:
            plan.log_level = true;
            break;
        case Reload::sessions:
            plan.session_settings = true;
            break;
        case Reload::accept_limits:
            plan.accept_limits = true;
            break;
        case Reload::relays:
            plan.relay_params = true;
            break;
        case Reload::sessions_and_relays:  // uplinks bound a connection's unanswered requests
            plan.relay_params = true;
            plan.session_settings = true;
            break;
        case Reload::registration_limits:
            plan.registration_limits = true;
            break;
        case Reload::credentials:
            plan.credentials = true;
            break;
        case Reload::in_place:
        case Reload::restart:
            break;
    }
}

// Endpoint names only: keys and identities stay out of logs.
std::string credentials_change(const std::vector<config::Credential>& from,
                               const std::vector<config::Credential>& to) {
    std::map<std::string, const config::Credential*> old_by_ep, new_by_ep;
    for (const auto& c : from)
        old_by_ep[c.endpoint] = &c;
    for (const auto& c : to)
        new_by_ep[c.endpoint] = &c;
    std::string added, removed, changed;
    auto append = [](std::string& list, const std::string& ep) {
        list += (list.empty() ? "" : ",") + ep;
    };
    for (const auto& [ep, c] : new_by_ep) {
        auto it = old_by_ep.find(ep);
        if (it == old_by_ep.end())
            append(added, ep);
        else if (it->second->psk_identity != c->psk_identity || it->second->psk_key != c->psk_key)
            append(changed, ep);
    }
    for (const auto& [ep, c] : old_by_ep)
        if (!new_by_ep.count(ep)) append(removed, ep);
    std::string out;
    auto part = [&out](const char* what, const std::string& list) {
        if (list.empty()) return;
        out += (out.empty() ? "" : "; ") + std::string(what) + " " + list;
    };
    part("added", added);
    part("changed", changed);
    part("removed", removed);
    return out;
}

// The credentials list is the one key whose change is described from both lists at once (which
// endpoints came, went or changed), never from the values, which are secrets.
std::optional<ReloadChange> credentials_diff(const config::Config& a, const config::Config& b) {
    const auto change = credentials_change(a.credentials, b.credentials);
    if (change.empty()) return std::nullopt;
    return ReloadChange{"credentials", std::to_string(a.credentials.size()) + " entries",
                        std::to_string(b.credentials.size()) + " entries (" + change + ")"};
}

std::optional<ReloadChange> diff(const KeySpec& key, const config::Config& a,
                                 const config::Config& b) {
    if (key.path == "credentials") return credentials_diff(a, b);
    // Part of another key's text, or (list elements, the parts of a section shown whole) no
    // value of its own to compare.
    if (!key.shown_with.empty() || (!key.access && !key.text)) return std::nullopt;
    auto from = config::reload_text(key, a);
    auto to = config::reload_text(key, b);
    if (from == to) return std::nullopt;
    if (key.secret) {
        from = "(hidden)";
        to = "(changed)";
    }
    return ReloadChange{std::string(key.path), std::move(from), std::move(to)};
}

}  // namespace

ReloadPlan plan_reload(const config::Config& a, const config::Config& b) {
    ReloadPlan plan;
    for (const Reload group : kGroups) {
        for (const auto& key : config::key_table()) {
            if (group_of(key.reload) != group) continue;
            auto change = diff(key, a, b);
            if (!change) continue;
            auto& list = key.reload == Reload::restart ? plan.needs_restart : plan.applied;
            list.push_back(std::move(*change));
            mark(key.reload, plan);
        }
    }
    return plan;
}

std::string describe(const ReloadChange& change) {
    return change.key + " " + change.from + " -> " + change.to;
}

}  // namespace lwgate::config
