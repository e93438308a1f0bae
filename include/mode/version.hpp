// mode/version.hpp: the version of mode-cpp these headers belong to.
#pragma once

#define MODE_VERSION_MAJOR 0
#define MODE_VERSION_MINOR 1
#define MODE_VERSION_PATCH 0
/// "MAJOR.MINOR.PATCH".
#define MODE_VERSION_STRING "0.1.0"
/// One number that grows with each release: MAJOR * 10000 + MINOR * 100 + PATCH.
#define MODE_VERSION (MODE_VERSION_MAJOR * 10000 + MODE_VERSION_MINOR * 100 + MODE_VERSION_PATCH)
