// open_status_control: a ControlServer answering only `status`. See status_control.hpp.
//
// Loop-bound.
#include "common/control/status_control.hpp"

#include <string_view>
#include <utility>

namespace fedgw::control {

Result<std::unique_ptr<ControlServer>, std::string> open_status_control(
    uv_loop_t* loop, std::string path, std::string service, StatusFn status, ControlLimits limits) {
    limits.service = std::move(service);
    auto c = ControlServer::create(
        loop, std::move(path),
        [status = std::move(status)](std::string_view cmd,
                                     const nlohmann::json&) -> nlohmann::json {
            if (cmd == "status") return status();
            return nullptr;  // the server answers "unknown command"
        },
        std::move(limits));
    if (!c) return Unexpected(std::move(c.error().text));
    return std::move(*c);
}

}  // namespace fedgw::control
