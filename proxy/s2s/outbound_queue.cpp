// OutboundQueue (see outbound_queue.hpp).
//
// Pure: no I/O.
#include "proxy/s2s/outbound_queue.hpp"

#include <utility>

#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"

namespace fedgw::proxy {

OutboundQueue::OutboundQueue(OutboundQueueLimits limits) : limits_(limits) {}

bool OutboundQueue::push(std::unique_ptr<Element>& stanza, std::size_t bytes) {
    if (!stanza) return false;
    if (items_.size() >= limits_.max_stanzas || bytes > limits_.max_bytes ||
        bytes_ > limits_.max_bytes - bytes) {
        ++refused_;
        return false;
    }
    bytes_ += bytes;
    items_.push_back(Item{std::move(stanza), bytes});
    return true;
}

bool OutboundQueue::push(std::unique_ptr<Element>& stanza) {
    if (!stanza) return false;
    const std::size_t bytes = serialize(*stanza, stream_scope(kNsServer)).size();
    return push(stanza, bytes);
}

std::vector<std::unique_ptr<Element>> OutboundQueue::take_all() {
    std::vector<std::unique_ptr<Element>> out;
    out.reserve(items_.size());
    for (auto& item : items_)
        out.push_back(std::move(item.stanza));
    items_.clear();
    bytes_ = 0;
    return out;
}

std::vector<std::unique_ptr<Element>> OutboundQueue::drain() {
    return take_all();
}

std::vector<std::unique_ptr<Element>> OutboundQueue::fail() {
    failed_ += items_.size();
    return take_all();
}

}  // namespace fedgw::proxy
