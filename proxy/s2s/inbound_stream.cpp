#include "proxy/s2s/inbound_stream.hpp"
