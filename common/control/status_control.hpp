// open_status_control: the control socket of a service whose only command is `status`
// (CONTROL_SPEC): fedgw-proxy and fedgw-gateway both open one at start-up. It names the service
// in ControlLimits (so a second instance hears "another fedgw-proxy is running on ..."), answers
// `status` with the callback's object and every other command with "unknown command", and turns
// a failure into the text start-up reports. ControlServer logs control.listening and
// control.stale_socket_removed, the same for every service.
//
// Loop-bound.
#pragma once

#include <uv.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

#include "common/base/result.hpp"
#include "common/control/control_server.hpp"

namespace fedgw::control {

// Builds the `status` reply; runs on the loop thread, once per request.
using StatusFn = std::function<nlohmann::json()>;

// Opens `path` for `service` ("fedgw-proxy"); `limits.service` is set to `service`. The error is
// ControlError::text ("another fedgw-proxy is running on /run/fedgw/proxy.sock", ...).
Result<std::unique_ptr<ControlServer>, std::string> open_status_control(uv_loop_t* loop,
                                                                        std::string path,
                                                                        std::string service,
                                                                        StatusFn status,
                                                                        ControlLimits limits = {});

}  // namespace fedgw::control
