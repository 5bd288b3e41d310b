#include "proxy/s2s/outbound_stream.hpp"
