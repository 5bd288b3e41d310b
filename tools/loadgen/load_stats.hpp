// LoadStats: the measuring core of fedgw-loadgen (tools/loadgen): which message was sent when,
// what came back for it (an answer, or a type='error' bounce with its RFC 6120 §8.3.3 defined
// condition), and the latency figures (nearest-rank percentiles) of the answers.
//
// Pure: no I/O, no clock. The owner passes every time as microseconds of its own monotonic
// clock, so a unit test can replay any timeline. Sequence numbers are 1-based and dense: the
// n-th on_sent() returns n, and the tag "lg-n" (sequence_tag) goes into the message's id and
// body so that an answer or a bounce can be matched to it (find_sequence).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fedgw::loadgen {

// What on_answer() / on_error() made of what came back.
enum class Outcome {
    Matched,    // the first answer or bounce for a message we sent: counted
    Duplicate,  // a second answer or bounce for the same message: counted apart, no latency
    Unknown,    // a sequence number we never sent (or none at all): counted apart
};
const char* describe(Outcome o);

// Latency of the answered messages, in milliseconds (nearest-rank percentiles).
struct LatencySummary {
    std::size_t count = 0;  // samples; the figures below are 0 when there are none
    double p50_ms = 0;
    double p95_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
};

// Everything the tool prints at the end (rendered by report.hpp).
struct Summary {
    std::uint64_t accounts = 0;    // accounts asked for
    std::uint64_t logged_in = 0;   // accounts that logged in
    std::uint64_t sent = 0;        // messages sent
    std::uint64_t answered = 0;    // messages with an answer (first one)
    std::uint64_t errors = 0;      // messages bounced with type='error' (first one)
    std::uint64_t unanswered = 0;  // sent - answered - errors
    std::uint64_t duplicates = 0;  // answers or bounces after the first, per message
    std::uint64_t unknown = 0;     // answers or bounces matching no message we sent
    std::map<std::string, std::uint64_t> errors_by_condition;
    double elapsed_s = 0;       // from the first send to the end of the run
    double sent_per_s = 0;      // sent / elapsed_s
    double answered_per_s = 0;  // answered / elapsed_s
    LatencySummary latency;
};

// The nearest-rank percentile q (0 < q <= 100) of `sorted` (ascending, non-empty): the
// ceil(q/100 * n)-th smallest sample.
std::int64_t percentile_nearest_rank(const std::vector<std::int64_t>& sorted, double q);

// "lg-<seq>": the tag put into a message's id and body.
std::string sequence_tag(std::uint64_t seq);

// The sequence number of the first "lg-<digits>" in text (an id, or a body an echo sent
// back), if any and if it fits in 64 bits.
std::optional<std::uint64_t> find_sequence(std::string_view text);

class LoadStats {
  public:
    static constexpr std::size_t kDefaultMaxMessages = 10'000'000;

    // max_messages bounds the bookkeeping (16 bytes per message): on_sent() beyond it is a
    // programmer error (the owner stops sending at its own --messages, which is lower).
    explicit LoadStats(std::size_t max_messages = kDefaultMaxMessages);

    // A message goes out at now_us; returns its sequence number (1, 2, ...).
    std::uint64_t on_sent(std::int64_t now_us);
    // An answer (a reply or echo carrying the tag) to message seq came at now_us.
    Outcome on_answer(std::uint64_t seq, std::int64_t now_us);
    // A type='error' bounce of message seq with a defined condition (e.g.
    // "service-unavailable"; "" when it had none).
    Outcome on_error(std::uint64_t seq, std::string_view condition);
    // An answer or a bounce that carried no tag at all.
    void on_untagged() { ++unknown_; }

    bool can_send() const { return sent_times_us_.size() < max_messages_; }
    std::uint64_t sent() const { return sent_times_us_.size(); }
    std::uint64_t answered() const { return answered_; }
    std::uint64_t errors() const { return errors_; }
    // Sent and neither answered nor bounced yet.
    std::uint64_t outstanding() const { return sent() - answered_ - errors_; }

    LatencySummary latency() const;
    // The whole summary; elapsed_us is the run's duration from the first send.
    Summary summary(std::int64_t elapsed_us) const;

  private:
    enum class State : std::uint8_t { Sent, Answered, Bounced };
    Outcome settle(std::uint64_t seq, State to);

    std::size_t max_messages_;
    std::vector<std::int64_t> sent_times_us_;  // index seq - 1
    std::vector<State> states_;                // index seq - 1
    std::vector<std::int64_t> latencies_us_;   // one per answered message
    std::uint64_t answered_ = 0;
    std::uint64_t errors_ = 0;
    std::uint64_t duplicates_ = 0;
    std::uint64_t unknown_ = 0;
    std::map<std::string, std::uint64_t> errors_by_condition_;
};

}  // namespace fedgw::loadgen
