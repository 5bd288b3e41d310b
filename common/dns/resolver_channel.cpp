// Loop-bound: the Resolver's c-ares channel on libuv (node.js pattern: ARES_OPT_SOCK_STATE_CB →
// one uv_poll_t per socket, one uv_timer_t re-armed from ares_timeout()), its lifetime, the
// Request handle, and the queue that delivers results on a later loop turn.
#include <ares.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "common/dns/resolver.hpp"
#include "common/dns/resolver_internal.hpp"
#include "common/log/log.hpp"

namespace fedgw::dns {

namespace {

template <class H>
void close_and_delete(H* h) {
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* handle) { delete reinterpret_cast<H*>(handle); });
}

}  // namespace

DnsError from_ares(int status, std::string_view what) {
    DnsErrorKind k = DnsErrorKind::Internal;
    switch (status) {
        case ARES_ENODATA:
        case ARES_ENOTFOUND:
            k = DnsErrorKind::NotFound;
            break;
        case ARES_ETIMEOUT:
            k = DnsErrorKind::Timeout;
            break;
        case ARES_ECONNREFUSED:
        case ARES_EREFUSED:
            k = DnsErrorKind::Refused;
            break;
        case ARES_ESERVFAIL:
            k = DnsErrorKind::ServerFailure;
            break;
        case ARES_EFORMERR:
        case ARES_EBADRESP:
        case ARES_ENOTIMP:
            k = DnsErrorKind::BadResponse;
            break;
        case ARES_EBADNAME:
        case ARES_EBADQUERY:
        case ARES_EBADFAMILY:
        case ARES_EBADFLAGS:
        case ARES_EBADHINTS:
            k = DnsErrorKind::BadName;
            break;
        default:
            break;
    }
    return DnsError{k, std::string(what) + ": " + ares_strerror(status)};
}

// ---- Request --------------------------------------------------------------------------------

Request::Request(Request&& o) noexcept : resolver_(std::move(o.resolver_)), id_(o.id_) {
    o.resolver_.reset();
}

Request& Request::operator=(Request&& o) noexcept {
    if (this != &o) {
        cancel();
        resolver_ = std::move(o.resolver_);
        id_ = o.id_;
        o.resolver_.reset();
    }
    return *this;
}

void Request::cancel() {
    if (auto t = resolver_.lock(); t && *t) (*t)->cancel(id_);
    resolver_.reset();
}

bool Request::is_pending() const {
    auto t = resolver_.lock();
    return t && *t && (*t)->find_op(id_) != nullptr;
}

bool to_sockaddr(const IpAddress& address, std::uint16_t port, sockaddr_storage* out) {
    std::memset(out, 0, sizeof *out);
    if (address.family == AddressFamily::V4)
        return uv_ip4_addr(address.text.c_str(), port, reinterpret_cast<sockaddr_in*>(out)) == 0;
    return uv_ip6_addr(address.text.c_str(), port, reinterpret_cast<sockaddr_in6*>(out)) == 0;
}

// ---- Resolver lifetime and delivery ---------------------------------------------------------

Resolver::Resolver(uv_loop_t* loop, ResolverOptions options)
    : loop_(loop), options_(std::move(options)), token_(std::make_shared<Resolver*>(this)) {
    if (options_.random) {
        random_ = options_.random;
    } else {
        rng_.seed(std::random_device{}());
        random_ = [this](std::uint32_t bound) {
            return std::uniform_int_distribution<std::uint32_t>(0, bound - 1)(rng_);
        };
    }
}

Result<std::unique_ptr<Resolver>, DnsError> Resolver::create(uv_loop_t* loop,
                                                             ResolverOptions options) {
    if (options.timeout_ms == 0 || options.tries < 1 || options.max_pending == 0)
        return dns_fail(DnsErrorKind::BadConfig,
                        "timeout, tries and max_pending must all be at least 1");
    std::unique_ptr<Resolver> r(new Resolver(loop, std::move(options)));
    auto ok = r->init();
    if (!ok) return Unexpected(ok.error());
    return r;
}

Result<void, DnsError> Resolver::init() {
    static std::once_flag once;
    static int lib_status = ARES_SUCCESS;
    std::call_once(once, [] { lib_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (lib_status != ARES_SUCCESS) return Unexpected(from_ares(lib_status, "ares_library_init"));

    timer_ = new uv_timer_t;
    deliver_ = new uv_timer_t;
    uv_timer_init(loop_, timer_);
    uv_timer_init(loop_, deliver_);
    timer_->data = this;
    deliver_->data = this;

    ares_options o{};
    o.flags = ARES_FLAG_NOSEARCH;
    o.timeout = static_cast<int>(std::min<std::uint32_t>(options_.timeout_ms, 3600 * 1000));
    o.tries = options_.tries;
    o.ndomains = 0;  // no search list: we only ever ask for fully qualified names
    o.domains = nullptr;
    o.sock_state_cb = &Resolver::sock_state_cb;
    o.sock_state_cb_data = this;
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS |
               ARES_OPT_SOCK_STATE_CB;
    ares_channel ch = nullptr;
    int rc = ares_init_options(&ch, &o, mask);
    if (rc != ARES_SUCCESS) return Unexpected(from_ares(rc, "ares_init_options"));
    channel_ = ch;
    if (!options_.servers.empty()) {
        rc = ares_set_servers_ports_csv(channel_, options_.servers.c_str());
        if (rc != ARES_SUCCESS)
            return dns_fail(
                DnsErrorKind::BadConfig,
                "DNS servers '" + options_.servers +
                    "' are not a list of ip[:port] or [ipv6][:port]: " + ares_strerror(rc));
    }
    return {};
}

Resolver::~Resolver() {
    if (destroyed_) *destroyed_ = true;
    close();
}

void Resolver::close() {
    if (closed_) return;
    closed_ = true;
    token_.reset();  // Requests outliving us now cancel nothing
    // Callbacks captured by the ops may own Requests; destroy them after our state is settled.
    auto ops = std::move(ops_);
    ops_.clear();
    ready_.clear();
    if (channel_) {
        // Calls every pending query's callback with ARES_EDESTRUCTION (ignored) and reports each
        // socket closed through sock_state_cb, which closes its poll handle.
        ares_destroy(channel_);
        channel_ = nullptr;
    }
    for (auto& [fd, p] : polls_)
        close_poll(p);
    polls_.clear();
    if (timer_) close_and_delete(timer_);
    if (deliver_) close_and_delete(deliver_);
    timer_ = deliver_ = nullptr;
    ops.clear();
}

std::uint64_t Resolver::add_op(std::unique_ptr<Op> op) {
    std::uint64_t id = next_id_++;
    op->id = id;
    ops_.emplace(id, std::move(op));
    return id;
}

Request Resolver::make_request(std::uint64_t id) {
    return Request(token_, id);
}

Resolver::Op* Resolver::find_op(std::uint64_t id) {
    auto it = ops_.find(id);
    return it == ops_.end() ? nullptr : it->second.get();
}

void Resolver::cancel(std::uint64_t id) {
    auto it = ops_.find(id);
    if (it == ops_.end()) return;
    auto op = std::move(it->second);  // destroyed after the map is consistent again
    ops_.erase(it);
}

void Resolver::complete(std::uint64_t id, std::function<void()> deliver) {
    Op* op = find_op(id);
    if (!op || op->deliver) return;
    op->deliver = std::move(deliver);
    ready_.push_back(id);
    schedule_delivery();
}

void Resolver::schedule_delivery() {
    if (!closed_ && deliver_ && !uv_is_active(reinterpret_cast<uv_handle_t*>(deliver_)))
        uv_timer_start(deliver_, &Resolver::on_deliver, 0, 0);
}

void Resolver::deliver_ready() {
    bool destroyed = false;
    destroyed_ = &destroyed;
    while (!ready_.empty()) {
        std::uint64_t id = ready_.front();
        ready_.pop_front();
        auto it = ops_.find(id);
        if (it == ops_.end()) continue;  // withdrawn after it completed
        auto op = std::move(it->second);
        ops_.erase(it);
        op->deliver();  // may destroy *this, close() it, or start new lookups
        if (destroyed) return;
    }
    destroyed_ = nullptr;
}

// ---- c-ares on libuv ------------------------------------------------------------------------

void Resolver::arm_timer() {
    if (closed_ || !channel_ || !timer_) return;
    timeval tv{};
    timeval* t = ares_timeout(channel_, nullptr, &tv);
    if (!t) {
        uv_timer_stop(timer_);
        return;
    }
    std::uint64_t ms = static_cast<std::uint64_t>(t->tv_sec) * 1000 +
                       static_cast<std::uint64_t>(t->tv_usec + 999) / 1000;
    uv_timer_start(timer_, &Resolver::on_timer, ms, 0);
}

void Resolver::sock_state_cb(void* data, int fd, int readable, int writable) {
    static_cast<Resolver*>(data)->on_sock_state(fd, readable != 0, writable != 0);
}

void Resolver::on_sock_state(int fd, bool readable, bool writable) {
    auto it = polls_.find(fd);
    if (!readable && !writable) {
        if (it != polls_.end()) {
            close_poll(it->second);
            polls_.erase(it);
        }
        return;
    }
    if (closed_) return;
    PollHandle* p = nullptr;
    if (it == polls_.end()) {
        p = new PollHandle{};
        p->resolver = this;
        p->fd = fd;
        if (int rc = uv_poll_init_socket(loop_, &p->poll, fd); rc != 0) {
            // The query on this socket will end in a c-ares timeout.
            log::error("dns.poll_failed", {{"fd", fd}, {"error", uv_strerror(rc)}});
            delete p;
            return;
        }
        p->poll.data = p;
        polls_.emplace(fd, p);
    } else {
        p = it->second;
    }
    uv_poll_start(&p->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                  &Resolver::on_poll);
}

void Resolver::close_poll(PollHandle* p) {
    uv_close(reinterpret_cast<uv_handle_t*>(&p->poll),
             [](uv_handle_t* h) { delete static_cast<PollHandle*>(h->data); });
}

void Resolver::on_poll(uv_poll_t* h, int status, int events) {
    auto* p = static_cast<PollHandle*>(h->data);
    Resolver* r = p->resolver;
    ares_socket_t fd = p->fd;
    if (status < 0) {
        // Let c-ares find the error on the socket itself.
        ares_process_fd(r->channel_, fd, fd);
    } else {
        ares_process_fd(r->channel_, (events & UV_READABLE) ? fd : ARES_SOCKET_BAD,
                        (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
    }
    r->arm_timer();
}

void Resolver::on_timer(uv_timer_t* t) {
    auto* r = static_cast<Resolver*>(t->data);
    ares_process_fd(r->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    r->arm_timer();
}

void Resolver::on_deliver(uv_timer_t* t) {
    static_cast<Resolver*>(t->data)->deliver_ready();
}

}  // namespace fedgw::dns
