// OutboundQueue: the stanzas waiting for one domain pair (local -> remote) while its outbound
// stream is being set up (XEP-0220 §2.1.1: "it MUST queue them for sending after it has
// received authorization"). Bounded in stanzas and bytes (limits are constructor parameters);
// drained in order when the stream is ready; on failure every queued stanza is handed back so
// the router can bounce each to its sender (make_bounce, RFC 6120 §8.3). Nothing is dropped
// silently: a push that does not fit is refused and the stanza stays with the caller.
//
// Pure: a container; no clock (the stream's Establishment timer bounds how long it waits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/xml/element.hpp"

namespace fedgw::proxy {

struct OutboundQueueLimits {
    std::size_t max_stanzas = 1000;
    std::size_t max_bytes = 4 * 1024 * 1024;  // serialized size of the queued stanzas
};

class OutboundQueue {
  public:
    explicit OutboundQueue(OutboundQueueLimits limits = {});

    // Queues the stanza when it fits: takes ownership (leaving `stanza` null) and returns
    // true. Returns false and leaves `stanza` with the caller (to bounce it, e.g. with
    // resource-constraint) when the queue is full or the stanza alone exceeds max_bytes.
    // `bytes` is its serialized size; the other overload measures it.
    bool push(std::unique_ptr<Element>& stanza, std::size_t bytes);
    bool push(std::unique_ptr<Element>& stanza);

    // The stream is ready: everything queued, oldest first, to send in that order.
    std::vector<std::unique_ptr<Element>> drain();
    // The stream failed: everything queued, oldest first, to bounce with the CloseStream's
    // condition. Counted in failed().
    std::vector<std::unique_ptr<Element>> fail();

    std::size_t size() const { return items_.size(); }
    std::size_t bytes() const { return bytes_; }
    bool empty() const { return items_.empty(); }
    const OutboundQueueLimits& limits() const { return limits_; }
    // Totals for diagnostics.
    std::uint64_t refused() const { return refused_; }
    std::uint64_t failed() const { return failed_; }

  private:
    struct Item {
        std::unique_ptr<Element> stanza;
        std::size_t bytes;
    };
    std::vector<std::unique_ptr<Element>> take_all();

    OutboundQueueLimits limits_;
    std::deque<Item> items_;
    std::size_t bytes_ = 0;
    std::uint64_t refused_ = 0;
    std::uint64_t failed_ = 0;
};

}  // namespace fedgw::proxy
