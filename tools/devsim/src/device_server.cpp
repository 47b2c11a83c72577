// Requests from the gateway: the LwM2M operations on the object model, Observe, Block1
// reassembly and Block2 slicing.
#include <algorithm>

#include "device_impl.hpp"
#include "lwgate/coap/option.hpp"
#include "lwgate/devsim/coap_util.hpp"

namespace lwgate::devsim {

using detail::Connection;
namespace code = coap::code;
namespace option = coap::option;

namespace {

coap::Message reply(const coap::Message& request, std::uint8_t response_code) {
    return coap::Message(response_code, request.token());
}

coap::Message reply_text(const coap::Message& request, std::uint8_t response_code,
                         std::string_view diagnostic) {
    coap::Message m(response_code, request.token());
    if (!diagnostic.empty()) m.set_payload(diagnostic);
    return m;
}

std::uint32_t fnv1a(coap::ByteView bytes) {
    std::uint32_t h = 2166136261u;
    for (auto b : bytes) {
        h ^= b;
        h *= 16777619u;
    }
    return h;
}

std::string join(const std::vector<std::string>& parts, char sep) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) out += sep;
        out += p;
    }
    return out;
}

}  // namespace

void DeviceSimulator::Impl::on_request(Connection& c, coap::Message&& frame) {
    ReceivedRequest rec;
    rec.connection = c.number;
    rec.at = SteadyClock::now();
    rec.message = frame;
    rec.path = uri_path_string(frame);
    rec.queries = uri_queries(frame);

    // Recorded before the response goes out: whoever sees the response finds the record.
    auto finish = [&](const std::optional<coap::Message>& response) {
        if (response) rec.response_code = response->code();
        const std::string text = coap::code_to_string(frame.code()) + " " + rec.path +
                                 (rec.queries.empty() ? "" : "?" + join(rec.queries, '&')) +
                                 " token=" + frame.token().to_hex() + " -> " +
                                 (response ? coap::code_to_string(response->code()) : "(none)");
        update_shared([&] {
            ++stats.requests_received;
            if (response) ++stats.responses_sent;
            rec.index = next_record_index++;
            push_record(records, rec);
        });
        if (response) send_on(c, *response);
        emit(Event::Kind::request_received, "request " + text);
    };

    // Block1 (RFC 7959 §2.5): reassemble, answering 2.31 Continue until the last block.
    coap::Message request = frame;
    std::optional<BlockOption> b1;
    if (frame.find_option(option::block1)) {
        b1 = block_option(frame, option::block1);
        if (!b1 || b1->szx == 7) {
            finish(reply_text(frame, code::bad_option, "bad Block1"));
            return;
        }
        const std::string key =
            std::to_string(frame.code()) + " " + rec.path + "?" + join(rec.queries, '&');
        const auto size1 = frame.uint_option(option::size1);
        if (b1->num == 0) {
            block1_receives[key] = detail::Block1Receive{{}, b1->szx};
        }
        auto it = block1_receives.find(key);
        if (it == block1_receives.end() || b1->offset() != it->second.body.size()) {
            if (it != block1_receives.end()) block1_receives.erase(it);
            finish(reply_text(frame, code::request_entity_incomplete, "Block1 out of sequence"));
            return;
        }
        auto& st = it->second;
        if ((size1 && *size1 > opts.max_incoming_body) ||
            st.body.size() + frame.payload().size() > opts.max_incoming_body) {
            block1_receives.erase(it);
            coap::Message r = reply(frame, code::request_entity_too_large);
            r.add_uint_option(option::size1, static_cast<std::uint32_t>(opts.max_incoming_body));
            finish(r);
            return;
        }
        st.body.insert(st.body.end(), frame.payload().begin(), frame.payload().end());
        if (b1->more) {
            coap::Message r = reply(frame, code::continue_);
            set_block_option(r, option::block1, BlockOption{b1->num, true, b1->szx});
            finish(r);
            return;
        }
        rec.block1_body = std::move(st.body);
        block1_receives.erase(it);
        request.remove_options(option::block1);
        request.remove_options(option::size1);
        request.set_payload(*rec.block1_body);
    }

    RequestHook hook_copy;
    {
        std::lock_guard lock(mu);
        hook_copy = hook;
    }
    if (hook_copy) {
        HookResult h;
        try {
            ReceivedRequest view = rec;
            view.message = request;
            h = hook_copy(view);
        } catch (const std::exception& e) {
            h = HookResult::respond(reply_text(request, code::internal_server_error, e.what()));
        }
        if (h.action == HookResult::Action::ignore) {
            finish(std::nullopt);
            return;
        }
        if (h.action == HookResult::Action::respond) {
            h.response.set_token(frame.token());
            finish(h.response);
            return;
        }
    }

    const auto path = Path::from_segments(uri_path(request));
    after_response.clear();
    coap::Message response = dispatch(request, path ? &*path : nullptr);
    if (b1) set_block_option(response, option::block1, BlockOption{b1->num, false, b1->szx});
    response = apply_block2(request, std::move(response));
    finish(response);
    auto then = std::exchange(after_response, {});
    for (auto& f : then)
        f();
}

coap::Message DeviceSimulator::Impl::dispatch(const coap::Message& request, const Path* path) {
    const auto segments = uri_path(request);
    const auto queries = uri_queries(request);
    if (segments.size() == 1 && segments[0] == "bs") {
        // Bootstrap-Finish.
        return reply(request,
                     request.code() == code::post ? code::changed : code::method_not_allowed);
    }
    if (!path) return reply(request, code::not_found);

    switch (request.code()) {
        case code::get:
            return handle_get(request, *path);

        case code::put: {
            if (path->is_root()) return reply(request, code::method_not_allowed);
            if (request.payload().empty() && !queries.empty()) {
                // Write-Attributes.
                if (!model.exists(*path)) return reply(request, code::not_found);
                model.set_attributes(*path, queries);
                return reply(request, code::changed);
            }
            if (path->is_resource()) {
                if (!model.exists(Path(*path->object, *path->instance))) {
                    return reply(request, code::not_found);
                }
                if (const Resource* r = model.find(*path); r && r->executable) {
                    return reply(request, code::method_not_allowed);
                }
                const auto format = request.uint_option(option::content_format)
                                        .value_or(content_format::text_plain);
                model.set(*path, request.payload(), static_cast<std::uint16_t>(format));
                after_response.push_back([this, p = *path] { notify_observers(p); });
                return reply(request, code::changed);
            }
            return reply(request, model.exists(*path) ? code::changed : code::not_found);
        }

        case code::post: {
            if (path->is_root()) return reply(request, code::method_not_allowed);
            if (!model.exists(*path)) return reply(request, code::not_found);
            if (path->is_resource()) {
                if (!model.find(*path)->executable) {
                    return reply(request, code::method_not_allowed);
                }
                const std::string args(request.payload().begin(), request.payload().end());
                update_shared([&] {
                    push_record(execution_records, Execution{path->to_string(), args});
                });
                return reply(request, code::changed);
            }
            if (path->is_object()) {
                const auto id = model.create_instance(*path->object);
                if (!id) return reply(request, code::internal_server_error);
                coap::Message r = reply(request, code::created);
                r.add_option(option::location_path, std::to_string(*path->object));
                r.add_option(option::location_path, std::to_string(*id));
                return r;
            }
            return reply(request, code::changed);  // partial update of an instance
        }

        case code::del: {
            if (path->is_root()) return reply(request, code::deleted);
            if (path->is_resource()) return reply(request, code::method_not_allowed);
            if (!model.exists(*path)) return reply(request, code::not_found);
            after_response.push_back([this, p = *path] { drop_observations_under(p); });
            if (path->is_instance()) {
                model.remove_instance(*path->object, *path->instance);
            } else {
                model.remove_object(*path->object);
            }
            return reply(request, code::deleted);
        }

        case code::fetch: {
            const auto accept = request.uint_option(option::accept);
            if (accept && *accept != content_format::senml_json) {
                return reply(request, code::not_acceptable);
            }
            const std::string body(request.payload().begin(), request.payload().end());
            std::vector<Path> paths;
            for (const auto& name : senml_names(body)) {
                if (auto p = Path::parse(name); p && model.exists(*p)) paths.push_back(*p);
            }
            coap::Message r = reply(request, code::content);
            r.add_uint_option(option::content_format, content_format::senml_json);
            r.set_payload(model.senml_json(paths));
            return r;
        }

        case code::ipatch:
            return reply(request, code::changed);

        default:
            return reply(request, code::method_not_allowed);
    }
}

std::variant<std::pair<std::uint16_t, coap::Bytes>, std::uint8_t> DeviceSimulator::Impl::represent(
    const Path& path, std::optional<std::uint32_t> accept) const {
    if (!model.exists(path)) return code::not_found;
    if (path.is_resource()) {
        const Resource* r = model.find(path);
        if (r->executable) return code::method_not_allowed;
        if (!accept || *accept == r->content_format) {
            return std::make_pair(r->content_format, r->bytes());
        }
        if (*accept != content_format::senml_json) return code::not_acceptable;
    } else if (accept && *accept != content_format::senml_json) {
        return code::not_acceptable;
    }
    const std::string json = model.senml_json(path);
    return std::make_pair(content_format::senml_json, coap::Bytes(json.begin(), json.end()));
}

coap::Message DeviceSimulator::Impl::handle_get(const coap::Message& request, const Path& path) {
    const auto accept = request.uint_option(option::accept);
    const auto observe = request.uint_option(option::observe);

    if (observe && *observe == 1) {
        std::erase_if(observations, [&](const detail::ServerObservation& o) {
            return o.token == request.token();
        });
    }
    if (accept && *accept == content_format::link_format) {
        if (!model.exists(path)) return reply(request, code::not_found);
        coap::Message r = reply(request, code::content);
        r.add_uint_option(option::content_format, content_format::link_format);
        r.set_payload(model.discover_links(path));
        return r;
    }
    if (path.is_root()) return reply(request, code::method_not_allowed);
    auto rep = represent(path, accept);
    if (auto* error = std::get_if<std::uint8_t>(&rep)) return reply(request, *error);
    auto& [format, bytes] = std::get<std::pair<std::uint16_t, coap::Bytes>>(rep);
    coap::Message r = reply(request, code::content);
    if (observe && *observe == 0) {
        // A new observation, or a re-registration with the same token (replaces it).
        std::erase_if(observations, [&](const detail::ServerObservation& o) {
            return o.token == request.token();
        });
        detail::ServerObservation o{request.token(), path, accept, format, 1};
        observations.push_back(o);
        r.add_uint_option(option::observe, o.seq);
    }
    r.add_uint_option(option::content_format, format);
    r.set_payload(std::move(bytes));
    return r;
}

coap::Message DeviceSimulator::Impl::apply_block2(const coap::Message& request,
                                                  coap::Message response) const {
    if (response.payload().empty() || coap::code_class(response.code()) != 2) return response;
    const auto requested = block_option(request, option::block2);
    const std::size_t mms = peer_max_message_size();
    if (!requested && coap::encoded_size(response) <= mms) return response;

    const coap::Bytes full = response.payload();
    std::uint8_t szx = szx_at_most(std::clamp<std::size_t>(opts.preferred_block_size, 16, 1024));
    if (requested) szx = std::min<std::uint8_t>(szx, requested->szx > 6 ? 6 : requested->szx);
    const std::size_t wanted_offset = requested ? requested->offset() : 0;

    coap::Message block = response;
    block.set_payload(coap::Bytes{});
    block.remove_options(option::etag);
    const std::uint32_t tag = fnv1a(full);
    block.add_option(
        option::etag,
        coap::Bytes{static_cast<std::uint8_t>(tag >> 24), static_cast<std::uint8_t>(tag >> 16),
                    static_cast<std::uint8_t>(tag >> 8), static_cast<std::uint8_t>(tag)});
    while (true) {
        const std::size_t size = std::size_t{16} << szx;
        const std::uint32_t num = static_cast<std::uint32_t>(wanted_offset / size);
        const std::size_t offset = static_cast<std::size_t>(num) * size;
        if (offset >= full.size() && offset != 0) {
            return reply_text(request, code::bad_option, "Block2 beyond the end");
        }
        const std::size_t len = std::min(size, full.size() - offset);
        coap::Message candidate = block;
        set_block_option(candidate, option::block2,
                         BlockOption{num, offset + len < full.size(), szx});
        if (num == 0) {
            candidate.remove_options(option::size2);
            candidate.add_uint_option(option::size2, static_cast<std::uint32_t>(full.size()));
        }
        candidate.set_payload(
            coap::Bytes(full.begin() + static_cast<std::ptrdiff_t>(offset),
                        full.begin() + static_cast<std::ptrdiff_t>(offset + len)));
        if (coap::encoded_size(candidate) <= mms || szx == 0) return candidate;
        --szx;
    }
}

std::size_t DeviceSimulator::Impl::notify_observers(const Path& changed) {
    Connection* c = open_connection();
    if (!c || c->silent) return 0;
    std::size_t sent = 0;
    // Copy: sending may drop observations (4.04 for a vanished path).
    auto snapshot = observations;
    for (auto& o : snapshot) {
        if (!o.path.contains(changed) && !changed.contains(o.path)) continue;
        auto it = std::find_if(observations.begin(), observations.end(),
                               [&](const auto& x) { return x.token == o.token; });
        if (it == observations.end()) continue;
        send_notification(*c, *it);
        ++sent;
        if (c->phase != detail::Phase::open) break;
    }
    return sent;
}

void DeviceSimulator::Impl::send_notification(Connection& c, detail::ServerObservation& o) {
    o.seq = (o.seq + 1) & 0xffffff;
    coap::Message n(code::content, o.token);
    std::size_t size = 0;
    auto rep = represent(o.path, o.accept);
    if (auto* error = std::get_if<std::uint8_t>(&rep)) {
        n.set_code(*error);
    } else {
        auto& [format, bytes] = std::get<std::pair<std::uint16_t, coap::Bytes>>(rep);
        o.format = format;
        n.add_uint_option(option::observe, o.seq);
        n.add_uint_option(option::content_format, format);
        size = bytes.size();
        n.set_payload(std::move(bytes));
        // Too large for one message: the first block (with Observe); the gateway fetches the
        // rest with GET Block2 (RFC 7959 §3.4).
        coap::Message as_request(code::get, o.token);
        n = apply_block2(as_request, std::move(n));
    }
    const SentNotification record{c.number, SteadyClock::now(), o.token, o.path.to_string(),
                                  o.seq,    n.code(),           size};
    const coap::Token token = o.token;
    if (n.code() != code::content) {
        std::erase_if(observations,
                      [&](const detail::ServerObservation& x) { return x.token == token; });
    }
    if (c.phase != detail::Phase::open || c.silent) return;
    update_shared([&] {
        ++stats.notifications_sent;
        push_record(notification_records, record);
    });
    send_on(c, n);
    emit(Event::Kind::notification_sent,
         "notification " + record.path + " observe=" + std::to_string(record.observe) +
             " token=" + token.to_hex() + " " + coap::code_to_string(n.code()));
}

void DeviceSimulator::Impl::drop_observations_under(const Path& removed) {
    // Runs after the model changed: the observers of what is gone get 4.04.
    Connection* c = open_connection();
    auto snapshot = observations;
    for (auto& o : snapshot) {
        if (!removed.contains(o.path)) continue;
        // Tell the observer the resource is gone (4.04 ends the observation, RFC 7641 §3.2).
        if (c && !c->silent) {
            coap::Message n(code::not_found, o.token);
            send_on(*c, n);
        }
        std::erase_if(observations,
                      [&](const detail::ServerObservation& x) { return x.token == o.token; });
    }
}

}  // namespace lwgate::devsim
