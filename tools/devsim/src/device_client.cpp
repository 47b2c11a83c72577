// Our own requests: Register, Update, De-register, Send, generic requests and Pings; Block1 for
// large uplinks, Block2 reassembly of large responses.
#include <algorithm>

#include "device_impl.hpp"
#include "lwgate/coap/option.hpp"
#include "lwgate/coap/signaling.hpp"
#include "lwgate/device/requests.hpp"
#include "lwgate/devsim/coap_util.hpp"

namespace lwgate::devsim {

using detail::Connection;
using detail::Pending;
namespace code = coap::code;
namespace option = coap::option;

void DeviceSimulator::Impl::start_request(coap::Message message, SteadyClock::time_point deadline,
                                          ResultCallback done) {
    Connection* c = open_connection();
    if (!c) {
        done(Result{Status::not_connected, {}, "not connected"});
        return;
    }
    if (c->silent) {
        done(Result{Status::bad_state, {}, "silent"});
        return;
    }
    if (message.token().empty()) message.set_token(make_token());
    auto p = std::make_shared<Pending>();
    p->original = message;
    p->deadline = deadline;
    p->done = std::move(done);

    const std::size_t mms = c->peer.max_message_size;
    if (!message.payload().empty() && coap::encoded_size(message) > mms) {
        p->block1 = true;
        p->body = message.payload();
        p->original.set_payload(coap::Bytes{});
        p->original.remove_options(option::block1);
        p->original.remove_options(option::size1);
        // The largest block (up to preferred_block_size) whose frame fits the peer's limit.
        std::uint8_t szx =
            szx_at_most(std::clamp<std::size_t>(opts.preferred_block_size, 16, 1024));
        while (szx > 0) {
            coap::Message probe = p->original;
            set_block_option(probe, option::block1, BlockOption{0, true, szx});
            probe.add_uint_option(option::size1, static_cast<std::uint32_t>(p->body.size()));
            probe.set_payload(coap::Bytes(std::size_t{16} << szx, 0));
            if (coap::encoded_size(probe) <= mms) break;
            --szx;
        }
        p->block1_szx = szx;
        send_block1(p, 0);
        return;
    }
    send_frame(p, std::move(message));
}

void DeviceSimulator::Impl::send_frame(const std::shared_ptr<Pending>& p, coap::Message frame) {
    Connection* c = open_connection();
    if (!c || c->silent) {
        complete(p, Result{c ? Status::bad_state : Status::not_connected, {}, "cannot send"});
        return;
    }
    p->token = frame.token();
    pending.add(p->token, detail::PendingSet::Kind::request, p->deadline, p);
    arm_deadline_timer();
    update_shared([&] { ++stats.requests_sent; });
    send_on(*c, frame);
}

void DeviceSimulator::Impl::send_block1(const std::shared_ptr<Pending>& p, std::size_t offset) {
    const std::size_t size = std::size_t{16} << p->block1_szx;
    const auto num = static_cast<std::uint32_t>(offset / size);
    const std::size_t len = std::min(size, p->body.size() - offset);
    coap::Message frame = p->original;
    if (offset != 0) frame.set_token(make_token());
    set_block_option(frame, option::block1,
                     BlockOption{num, offset + len < p->body.size(), p->block1_szx});
    if (num == 0) frame.add_uint_option(option::size1, static_cast<std::uint32_t>(p->body.size()));
    frame.set_payload(coap::Bytes(p->body.begin() + static_cast<std::ptrdiff_t>(offset),
                                  p->body.begin() + static_cast<std::ptrdiff_t>(offset + len)));
    p->block1_end = offset + len;
    send_frame(p, std::move(frame));
}

void DeviceSimulator::Impl::on_response(Connection& /*c*/, coap::Message&& m) {
    auto taken = pending.take_response(m);
    update_shared([&] {
        ++stats.responses_received;
        if (!taken) ++stats.unmatched_responses;
    });
    if (!taken) return;
    auto p = std::move(*taken);

    if (p->block1) {
        if (m.code() == code::continue_ && p->block1_end < p->body.size()) {
            if (auto theirs = block_option(m, option::block1);
                theirs && theirs->szx < p->block1_szx) {
                p->block1_szx = theirs->szx;  // the server asks for smaller blocks (§2.5)
            }
            send_block1(p, p->block1_end);
            return;
        }
        p->block1 = false;
    }

    const auto b2 = block_option(m, option::block2);
    if (b2 && (b2->more || p->block2)) {
        if (!p->block2) {
            p->block2 = true;
            p->body2.clear();
        }
        const std::size_t offset = b2->offset();
        if (offset > p->body2.size()) {
            complete(p, Result{Status::bad_state, m, "Block2 out of sequence"});
            return;
        }
        p->body2.resize(offset);
        p->body2.insert(p->body2.end(), m.payload().begin(), m.payload().end());
        if (b2->more) {
            coap::Message next = p->original;
            if (next.code() != code::fetch) next.set_payload(coap::Bytes{});
            next.remove_options(option::observe);
            next.remove_options(option::block1);
            next.remove_options(option::size1);
            next.set_token(make_token());
            set_block_option(next, option::block2, BlockOption{b2->num + 1, false, b2->szx});
            send_frame(p, std::move(next));
            return;
        }
        m.set_payload(std::move(p->body2));
        m.remove_options(option::block2);
    }
    complete(p, Result{Status::ok, std::move(m), {}});
}

void DeviceSimulator::Impl::complete(const std::shared_ptr<Pending>& p, Result result) {
    if (!p->done) return;
    pending.erase(p->token, p);
    auto done = std::move(p->done);
    p->done = nullptr;
    done(std::move(result));
}

void DeviceSimulator::Impl::fail_all_pending(Status status, const std::string& text) {
    for (auto& p : pending.take_all())
        complete(p, Result{status, {}, text});
}

void DeviceSimulator::Impl::arm_deadline_timer() {
    const auto next = pending.next_deadline();
    if (!next || (deadline_timer && deadline_timer_at <= *next)) return;
    if (deadline_timer) loop.cancel(deadline_timer);
    deadline_timer_at = *next;
    deadline_timer = loop.call_at(*next, [this] {
        enter();
        deadline_timer = 0;
        for (auto& p : pending.take_expired(SteadyClock::now())) {
            complete(p, Result{Status::timeout,
                               {},
                               p->is_ping ? "no Pong in time" : "no response in time"});
        }
        arm_deadline_timer();
    });
}

void DeviceSimulator::Impl::start_ping(SteadyClock::time_point deadline, ResultCallback done) {
    Connection* c = open_connection();
    if (!c || c->silent) {
        done(Result{c ? Status::bad_state : Status::not_connected, {}, "cannot ping"});
        return;
    }
    auto p = std::make_shared<Pending>();
    p->is_ping = true;
    p->token = make_token();
    p->deadline = deadline;
    p->done = std::move(done);
    pending.add(p->token, detail::PendingSet::Kind::ping, deadline, p);
    arm_deadline_timer();
    update_shared([&] { ++stats.pings_sent; });
    send_on(*c, coap::make_ping(p->token));
}

coap::Message DeviceSimulator::Impl::make_register() const {
    return device::make_register(
        {opts.endpoint, opts.lifetime, opts.lwm2m_version, opts.binding, opts.queue_mode},
        opts.object_links ? *opts.object_links : model.register_links());
}

void DeviceSimulator::Impl::do_register(SteadyClock::time_point deadline, ResultCallback done) {
    start_connect(deadline, [this, deadline, done = std::move(done)](Result r) mutable {
        if (!r.ok()) {
            emit(Event::Kind::registered,
                 std::string("register failed: ") + to_string(r.status) + " " + r.detail);
            done(std::move(r));
            return;
        }
        start_request(make_register(), deadline, [this, done = std::move(done)](Result r) {
            if (r.code() == code::created) {
                set_location(location_path_string(r.response));
                emit(Event::Kind::registered,
                     "registered code=2.01 location=" + location_path_string(r.response));
            } else if (r.ok()) {
                emit(Event::Kind::registered,
                     "register failed code=" + coap::code_to_string(r.code()));
            } else {
                emit(Event::Kind::registered,
                     std::string("register failed: ") + to_string(r.status) + " " + r.detail);
            }
            done(std::move(r));
        });
    });
}

void DeviceSimulator::Impl::do_update(const UpdateParams& params, SteadyClock::time_point deadline,
                                      ResultCallback done) {
    if (!location) {
        done(Result{Status::bad_state, {}, "not registered"});
        return;
    }
    std::optional<std::string> links = params.object_links;
    if (!links && params.send_object_links) {
        links = opts.object_links ? *opts.object_links : model.register_links();
    }
    auto m = device::make_update(*location, params.lifetime, params.binding, links);
    start_request(std::move(m), deadline, [this, done = std::move(done)](Result r) {
        if (r.ok()) emit(Event::Kind::updated, "update code=" + coap::code_to_string(r.code()));
        done(std::move(r));
    });
}

void DeviceSimulator::Impl::do_deregister(SteadyClock::time_point deadline, ResultCallback done) {
    if (!location) {
        done(Result{Status::bad_state, {}, "not registered"});
        return;
    }
    coap::Message m(code::del);
    add_uri_path(m, *location);
    start_request(std::move(m), deadline, [this, done = std::move(done)](Result r) {
        if (r.code() == code::deleted) set_location(std::nullopt);
        if (r.ok()) {
            emit(Event::Kind::deregistered, "deregister code=" + coap::code_to_string(r.code()));
        }
        done(std::move(r));
    });
}

void DeviceSimulator::Impl::set_location(std::optional<std::string> value) {
    location = value;
    update_shared([&] { shared_location = std::move(value); });
}

}  // namespace lwgate::devsim
